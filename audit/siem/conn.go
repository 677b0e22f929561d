package siem

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"
)

// TLSFiles names the files of a forwarding connection's TLS.
type TLSFiles struct {
	// CAFile holds the PEM certificates that the collector's certificate
	// must chain to; "" means the system's roots.
	CAFile string
	// CertFile and KeyFile are the client certificate and its key, for a
	// collector that asks for one; both or neither.
	CertFile, KeyFile string
	// ServerName is the name the collector's certificate must carry; ""
	// means the host of the address.
	ServerName string
}

// ClientTLS returns the TLS configuration of a connection to address.
func ClientTLS(address string, f TLSFiles) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.ServerName}
	if c.ServerName == "" {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return nil, fmt.Errorf("siem: address %q: %w", address, err)
		}
		c.ServerName = host
	}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("siem: CA file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("siem: CA file %s holds no PEM certificate", f.CAFile)
		}
	}
	if (f.CertFile == "") != (f.KeyFile == "") {
		return nil, errors.New("siem: a client certificate needs both its certificate and its key file")
	}
	if f.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("siem: client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// errNoReceipt means the collector did not close the connection after
// our close: what we sent may not have been read.
var errNoReceipt = errors.New("siem: the collector did not confirm it read the batch")

// maxReply bounds what a collector may send back; syslog collectors send
// nothing but TLS records of their own (session tickets, close_notify).
const maxReply = 64 << 10

// deliver sends msgs over one new TLS connection to address, each framed
// by octet counting (RFC 6587 section 3.4.1, which RFC 5425 requires),
// and returns nil only once the collector has read all of them.
//
// Syslog over TLS has no acknowledgements, and a write that succeeded
// only reached our kernel: a collector stopped at that moment loses what
// it had not read. So each batch ends with our close (TLS close_notify,
// then TCP FIN) and waits for the collector's: a collector closes its
// side when it reads our end, after everything before it. A connection
// reset or a timeout instead means some of the batch may not have been
// read, and the caller sends it again (at least once).
func deliver(ctx context.Context, address string, conf *tls.Config, timeout time.Duration, msgs [][]byte) error {
	d := net.Dialer{Timeout: timeout}
	raw, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return fmt.Errorf("siem: connect: %w", err)
	}
	defer raw.Close()
	// The context ends the exchange too, not only the deadline.
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Now()) })
	defer stop()
	if err := raw.SetDeadline(time.Now().Add(timeout)); err != nil {
		return fmt.Errorf("siem: %w", err)
	}
	conn := tls.Client(raw, conf)
	if err := conn.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("siem: TLS handshake with %s: %w", address, err)
	}
	w := bufio.NewWriterSize(conn, 32<<10)
	for _, m := range msgs {
		w.Write(strconv.AppendInt(nil, int64(len(m)), 10))
		w.WriteByte(' ')
		w.Write(m)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("siem: send: %w", err)
	}
	if err := conn.CloseWrite(); err != nil {
		return fmt.Errorf("siem: close: %w", err)
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		if err := tcp.CloseWrite(); err != nil {
			return fmt.Errorf("siem: close: %w", err)
		}
	}
	if err := raw.SetDeadline(time.Now().Add(timeout)); err != nil {
		return fmt.Errorf("siem: %w", err)
	}
	if err := ctx.Err(); err != nil { // ended before the deadline was set again
		return fmt.Errorf("%w: %w", errNoReceipt, err)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(conn, maxReply+1))
	switch {
	case err != nil:
		return fmt.Errorf("%w: %w", errNoReceipt, err)
	case n > maxReply:
		return fmt.Errorf("%w: it sent more than %d bytes back", errNoReceipt, maxReply)
	}
	return nil
}

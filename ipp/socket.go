package ipp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"
)

// socketDrainTimeout bounds the wait for an AppSocket printer to close the
// connection after the whole document was sent.
const socketDrainTimeout = 5 * time.Minute

// printSocket sends doc over a raw AppSocket (JetDirect) connection. The
// protocol has no status: success is every byte written and the printer
// closing its end, which it does once it has taken the job.
func (c *Client) printSocket(ctx context.Context, target *url.URL, doc io.Reader, ahead *Conn) (JobStatus, error) {
	where := "socket://" + target.Host
	conn := ahead.take(target.Host)
	if conn == nil {
		var err error
		if conn, err = dialSocket(ctx, target.Host); err != nil {
			return JobStatus{}, fmt.Errorf("ipp: print to %s: %w", where, err)
		}
	}
	defer conn.Close()
	// Cancelling ctx unblocks whatever I/O is in progress.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if _, err := io.Copy(conn, doc); err != nil {
		return JobStatus{}, socketError(ctx, where, "send document", err)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		if err := tcp.CloseWrite(); err != nil {
			return JobStatus{}, socketError(ctx, where, "finish document", err)
		}
	}

	drainCtx, cancel := context.WithTimeout(ctx, socketDrainTimeout)
	defer cancel()
	stopDrain := context.AfterFunc(drainCtx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stopDrain()
	// Whatever the printer says on the back channel is of no use here.
	if _, err := io.Copy(io.Discard, conn); err != nil {
		if ctx.Err() == nil && errors.Is(drainCtx.Err(), context.DeadlineExceeded) {
			return JobStatus{}, fmt.Errorf("ipp: print to %s: printer did not close the connection within %v", where, socketDrainTimeout)
		}
		return JobStatus{}, socketError(ctx, where, "wait for printer", err)
	}
	return JobStatus{State: JobCompleted}, nil
}

// socketError reports ctx's cause rather than the deadline error that
// cancellation provokes.
func socketError(ctx context.Context, where, action string, err error) error {
	if ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	return fmt.Errorf("ipp: print to %s: %s: %w", where, action, err)
}

// Conn is a connection to a socket:// printer opened ahead of the job it
// is to carry (Client.Connect). Nothing is written on it until
// PrintJobOn: opened and closed, it is no job to the printer.
type Conn struct {
	host string
	conn net.Conn
}

// Connect opens the connection a job to printerURI will take, ahead of
// the job, for a socket:// printer, whose every job takes a connection of
// its own; for other printers it returns nil, and PrintJobOn opens or
// reuses a connection as PrintJob does. The caller passes the Conn to
// PrintJobOn or closes it.
func (c *Client) Connect(ctx context.Context, printerURI string) (*Conn, error) {
	target, err := parsePrinterURI(printerURI)
	if err != nil || target.Scheme != "socket" {
		return nil, err
	}
	conn, err := dialSocket(ctx, target.Host)
	if err != nil {
		return nil, fmt.Errorf("ipp: connect to socket://%s: %w", target.Host, err)
	}
	return &Conn{host: target.Host, conn: conn}, nil
}

// take returns c's connection, now the caller's, if it goes to host;
// one to another host is closed. nil if there is none.
func (c *Conn) take(host string) net.Conn {
	if c == nil || c.conn == nil {
		return nil
	}
	if c.host != host {
		_ = c.Close()
		return nil
	}
	conn := c.conn
	c.conn = nil
	return conn
}

// Close closes c unless a job has taken it. A nil Conn is closed.
func (c *Conn) Close() error {
	if c == nil || c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}

func dialSocket(ctx context.Context, host string) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	return d.DialContext(ctx, "tcp", host)
}

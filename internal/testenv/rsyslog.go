package testenv

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/printgate/printgate/internal/tlscert"
)

// rsyslogConf receives RFC 5425 (syslog over TLS, octet-counted frames)
// on a loopback port with the certificate of tlscert, and writes every
// message to one file as RFC 5424 text. The main queue is direct: a
// message is in the file before rsyslog reads the next, so what it read
// before closing a connection is in the file, the property the forwarder
// relies on (deliver). Only imtcp is loaded: no /dev/log, no kernel log.
const rsyslogConf = `global(
	workDirectory="{{dir}}/work"
	maxMessageSize="256k"
	defaultNetstreamDriver="gtls"
	defaultNetstreamDriverCAFile="{{dir}}/{{cert}}"
	defaultNetstreamDriverCertFile="{{dir}}/{{cert}}"
	defaultNetstreamDriverKeyFile="{{dir}}/{{key}}"
)
main_queue(queue.type="Direct")
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imtcp" address="127.0.0.1" port="{{port}}")
action(type="omfile" file="{{dir}}/received.log" template="RSYSLOG_SyslogProtocol23Format")
`

// Rsyslog is a private rsyslogd receiving syslog over TLS on loopback.
type Rsyslog struct {
	// Addr is 127.0.0.1:PORT, the same across Stop and Start.
	Addr string
	// CAFile is the PEM certificate the server presents (self-signed,
	// for localhost and 127.0.0.1): a client's CA file.
	CAFile string
	// File is where every message received is written, one a line.
	File string

	t    testing.TB
	path string
	dir  string
	proc *process
}

// StartRsyslog starts Debian's rsyslogd (packages rsyslog and
// rsyslog-gnutls) as above, and stops it in t.Cleanup.
func StartRsyslog(t testing.TB) *Rsyslog {
	t.Helper()
	path := Tool(t, "rsyslogd")
	_, err := firstGlob("/usr/lib/*/rsyslog/lmnsd_gtls.so")
	Need(t, "rsyslog's GnuTLS driver (rsyslog-gnutls)", err)
	dir := sharedDir(t, "pg-rsyslog")
	if err := os.Mkdir(filepath.Join(dir, "work"), 0o700); err != nil {
		t.Fatalf("testenv: rsyslog: %v", err)
	}
	if _, err := tlscert.LoadOrCreate(dir, nil); err != nil {
		t.Fatalf("testenv: rsyslog: %v", err)
	}
	port := FreePort(t)
	text := expand(rsyslogConf, map[string]string{"dir": dir, "port": strconv.Itoa(port),
		"cert": tlscert.CertFile, "key": tlscert.KeyFile})
	if err := os.WriteFile(filepath.Join(dir, "rsyslog.conf"), []byte(text), 0o600); err != nil {
		t.Fatalf("testenv: rsyslog: %v", err)
	}
	r := &Rsyslog{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), CAFile: filepath.Join(dir, tlscert.CertFile),
		File: filepath.Join(dir, "received.log"), t: t, path: path, dir: dir}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// Start starts the collector again after Stop, on the same port.
func (r *Rsyslog) Start() {
	r.t.Helper()
	p, err := startProcess("rsyslogd", r.path, nil, "-n", "-f", filepath.Join(r.dir, "rsyslog.conf"),
		"-i", filepath.Join(r.dir, "rsyslogd.pid"))
	if err != nil {
		r.t.Fatalf("testenv: %v", err)
	}
	if err := p.waitReady(dialReady(r.Addr)); err != nil {
		p.stop()
		r.t.Fatalf("testenv: %v", err)
	}
	r.proc = p
}

// Stop stops the collector (SIGTERM: it writes what it read and exits).
func (r *Rsyslog) Stop() {
	if r.proc != nil {
		r.proc.stop()
		r.proc = nil
	}
}

func firstGlob(pattern string) (string, error) {
	m, err := filepath.Glob(pattern)
	if err == nil && len(m) == 0 {
		err = os.ErrNotExist
	}
	if err != nil {
		return "", err
	}
	return m[0], nil
}

package siem

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/internal/tlscert"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// migrate prepares a test database for the audit trail and the cursors.
func migrate(ctx context.Context, db *database.DB) error {
	if err := audit.Migrate(ctx, db); err != nil {
		return err
	}
	return Migrate(ctx, db)
}

// appendEvents appends n administrative events, each in its own
// transaction.
func appendEvents(t testing.TB, l *audit.Log, db *database.DB, n int) {
	t.Helper()
	for i := range n {
		err := db.Transaction(func(tx *gorm.DB) error {
			_, err := l.Append(context.Background(), tx, audit.Event{Type: audit.EventConfigChanged, Actor: "admin",
				Details: map[string]string{"setting": "n", "value": strconv.Itoa(i)}})
			return err
		})
		if err != nil {
			t.Fatalf("append: %v", err)
		}
	}
}

// collector is a syslog-over-TLS receiver for the forwarder's unit
// tests: it reads octet-counted frames as rsyslog does, and can misbehave
// on purpose. The test against rsyslog itself is in cmd/printgate.
type collector struct {
	addr string
	conf *tls.Config // a client's, trusting the collector's certificate
	// caFile is the collector's certificate, for a client's CA file.
	caFile string
	ln     net.Listener

	mu sync.Mutex
	// misbehave says what to do with the next connections, one entry
	// each, taken from the front: "reset" closes with a TCP reset after
	// the first frame, "refuse" resets before the TLS handshake.
	misbehave []string
	frames    [][]byte
	conns     int
}

func startCollector(t *testing.T) *collector { return startCollectorWith(t, nil) }

// startCollectorWith starts a collector whose TLS configuration edit
// changes (nil: none).
func startCollectorWith(t *testing.T, edit func(*tls.Config)) *collector {
	t.Helper()
	dir := t.TempDir()
	cert, err := tlscert.LoadOrCreate(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	server := &tls.Config{Certificates: []tls.Certificate{cert}}
	if edit != nil {
		edit(server)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	addr := ln.Addr().String()
	conf, err := ClientTLS(addr, TLSFiles{CAFile: filepath.Join(dir, tlscert.CertFile), ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{addr: addr, conf: conf, ln: ln, caFile: filepath.Join(dir, tlscert.CertFile)}
	go c.serve()
	return c
}

func (c *collector) serve() {
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		c.conns++
		how := ""
		if len(c.misbehave) > 0 {
			how, c.misbehave = c.misbehave[0], c.misbehave[1:]
		}
		c.mu.Unlock()
		go c.handle(conn.(*tls.Conn), how)
	}
}

// reset closes conn with a TCP reset: what it had not read is lost.
func reset(conn *tls.Conn) {
	conn.NetConn().(*net.TCPConn).SetLinger(0)
	conn.NetConn().Close()
}

func (c *collector) handle(conn *tls.Conn, how string) {
	if how == "refuse" {
		reset(conn)
		return
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	for {
		frame, err := readFrame(r)
		if err != nil {
			return // EOF: close after the sender's close, as rsyslog does
		}
		c.mu.Lock()
		c.frames = append(c.frames, frame)
		c.mu.Unlock()
		if how == "reset" {
			reset(conn)
			return
		}
	}
}

// readFrame reads one octet-counted frame: MSG-LEN SP SYSLOG-MSG.
func readFrame(r *bufio.Reader) ([]byte, error) {
	head, err := r.ReadString(' ')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(head[:len(head)-1])
	if err != nil || n < 1 || n > 1<<20 {
		return nil, fmt.Errorf("bad frame length %q", head)
	}
	frame := make([]byte, n)
	if _, err := io.ReadFull(r, frame); err != nil {
		return nil, errors.Join(err, io.ErrUnexpectedEOF)
	}
	return frame, nil
}

func (c *collector) then(how ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.misbehave = append(c.misbehave, how...)
}

// received returns the frames received, parsed.
func (c *collector) received(t *testing.T) []audit.Event {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var evs []audit.Event
	for _, f := range c.frames {
		m, err := Parse(f)
		if err != nil {
			t.Fatalf("frame %q: %v", f, err)
		}
		ev, err := audit.UnmarshalCopy(m.Msg)
		if err != nil {
			t.Fatalf("frame %q: %v", f, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

func (c *collector) connections() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conns
}

// seqs returns the sequences of evs.
func seqs(evs []audit.Event) []int64 {
	out := make([]int64, len(evs))
	for i := range evs {
		out[i] = evs[i].Seq
	}
	return out
}

// newForwarder returns a forwarder to c over db, with opts' other fields.
func newForwarder(db *database.DB, l *audit.Log, c *collector, o Options) *Forwarder {
	o.Address, o.TLS = c.addr, c.conf
	return New(db, l, o)
}

// eachDB runs f on SQLite and PostgreSQL, with a keyed audit log.
func eachDB(t *testing.T, f func(t *testing.T, db *database.DB, l *audit.Log)) {
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		f(t, db, audit.New(db, audit.Options{Key: testKey}))
	})
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/audit/siem"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// TestForwardToRsyslog: a real rsyslog receives the audit trail over TLS
// while jobs are submitted; it is stopped mid-load, printgate is
// restarted while it is down, and it is started again mid-load. Every
// event arrives at least once, none is missing, and printgate audit
// verify-forwarded checks the copies against the chain.
func TestForwardToRsyslog(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		col := testenv.StartRsyslog(t)
		cfg := newConfig(t, dbURL)
		cfg.Audit.Forward = ForwardConfig{Address: col.Addr, CAFile: col.CAFile, ServerName: "localhost",
			Batch: 20, PollEvery: 20 * time.Millisecond, Timeout: 5 * time.Second, MaxBackoff: 200 * time.Millisecond}
		if err := cfg.validate(); err != nil {
			t.Fatal(err)
		}
		srv := startServer(t, cfg)
		db := openForCheck(t, cfg)
		l := startLoad(t, srv.PrinterURI("secure"))
		waitCursor(t, db, 10)

		col.Stop() // mid-load
		l.waitMore(t, 15)
		l.stop(t)
		srv.Stop(t) // with events the collector has not read
		behind := chainHead(t, db) - cursorOf(t, db)
		if behind <= 0 {
			t.Fatalf("the test needs events left to forward across the restart; the cursor is at the head")
		}

		srv = startServer(t, cfg)
		l = startLoad(t, srv.PrinterURI("secure"))
		l.waitMore(t, 10)
		col.Start() // mid-load
		l.waitMore(t, 15)
		l.stop(t)
		testenv.WaitFor(t, "the forwarder to reach the chain head", func() bool {
			return cursorOf(t, db) == chainHead(t, db)
		})
		srv.Stop(t)
		col.Stop() // rsyslog has written everything to its file

		head := chainHead(t, db)
		out := runCLI(t, cfg, "", "audit", "verify-forwarded", col.File)
		if want := fmt.Sprintf("OK: every event 1-%d arrived and verifies", head); !strings.Contains(out, want) {
			t.Fatalf("verify-forwarded: want %q in\n%s", want, out)
		}
		if after := chainHead(t, db); after != head+1 {
			t.Errorf("verify-forwarded recorded %d events, want 1 (chain-verified)", after-head)
		}
		t.Logf("%d events, %d left behind at the restart: %s", head, behind, out)
		runCLI(t, cfg, "", "audit", "verify")
	})
}

// openForCheck opens cfg's database beside the server, to read the
// chain head and the forwarding cursor.
func openForCheck(t *testing.T, cfg Config) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), cfg.Database.URL, cfg.DataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func chainHead(t *testing.T, db *database.DB) int64 {
	t.Helper()
	var seq int64
	if err := db.Raw(`SELECT seq FROM audit_chain WHERE id = 1`).Row().Scan(&seq); err != nil {
		t.Fatalf("chain head: %v", err)
	}
	return seq
}

func cursorOf(t *testing.T, db *database.DB) int64 {
	t.Helper()
	seq, err := siem.Cursor(context.Background(), db, siem.DefaultName)
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

func waitCursor(t *testing.T, db *database.DB, atLeast int64) {
	t.Helper()
	testenv.WaitFor(t, fmt.Sprintf("the forwarding cursor to pass %d", atLeast), func() bool {
		return cursorOf(t, db) >= atLeast
	})
}

// load submits held jobs from a few clients at once until stopped.
type load struct {
	done   atomic.Int64
	failed atomic.Value // first error
	quit   chan struct{}
	wg     sync.WaitGroup
}

func startLoad(t *testing.T, uri string) *load {
	l := &load{quit: make(chan struct{})}
	doc := testdocs.PDF(1, "forwarded", testdocs.A4)
	for w := range 3 {
		l.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-l.quit:
					return
				default:
				}
				if err := submitHeld(uri, fmt.Sprintf("siem %d-%d", w, i), doc); err != nil {
					l.failed.CompareAndSwap(nil, err)
					return
				}
				l.done.Add(1)
			}
		})
	}
	t.Cleanup(func() { l.stop(t) })
	return l
}

// waitMore waits until n more jobs were accepted.
func (l *load) waitMore(t *testing.T, n int64) {
	t.Helper()
	want := l.done.Load() + n
	testenv.WaitFor(t, fmt.Sprintf("%d jobs accepted", want), func() bool {
		return l.done.Load() >= want || l.failed.Load() != nil
	})
	if err := l.failed.Load(); err != nil {
		t.Fatalf("load: %v", err)
	}
}

func (l *load) stop(t *testing.T) {
	select {
	case <-l.quit:
	default:
		close(l.quit)
	}
	l.wg.Wait()
	if err := l.failed.Load(); err != nil {
		t.Errorf("load: %v", err)
	}
}

// submitHeld prints doc to the hold queue at uri as alice.
func submitHeld(uri, name string, doc []byte) error {
	m := ippRequest(goipp.OpPrintJob, uri, "alice", nameVal("job-name", name), mimeVal("application/pdf"))
	hdr, err := m.EncodeBytes()
	if err != nil {
		return err
	}
	resp, err := http.Post("http://"+strings.TrimPrefix(uri, "ipp://"), goipp.ContentType,
		bytes.NewReader(append(hdr, doc...)))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var reply goipp.Message
	if err := reply.Decode(resp.Body); err != nil {
		return fmt.Errorf("decode reply: %w", err)
	}
	if s := goipp.Status(reply.Code); s != goipp.StatusOk {
		return fmt.Errorf("Print-Job %s: %s", name, s)
	}
	return nil
}

// TestForwardConfig: audit.forward is off by default, read from YAML,
// and each wrong setting is named.
func TestForwardConfig(t *testing.T) {
	cases := []struct {
		name, yaml, wantErr string
	}{
		{name: "off", yaml: ""},
		{name: "full", yaml: "audit:\n  forward: {address: 'siem.example.com:6514', ca_file: /etc/ca.pem, server_name: siem, " +
			"cert_file: /etc/c.pem, key_file: /etc/k.pem, batch: 100, poll_every: 2s, timeout: 5s, max_backoff: 30s}\n"},
		{name: "no port", yaml: "audit:\n  forward: {address: siem.example.com}\n", wantErr: "audit.forward.address"},
		{name: "settings without address", yaml: "audit:\n  forward: {ca_file: /etc/ca.pem}\n", wantErr: "audit.forward.address"},
		{name: "cert without key", yaml: "audit:\n  forward: {address: 'h:1', cert_file: /c.pem}\n", wantErr: "audit.forward.cert_file"},
		{name: "negative", yaml: "audit:\n  forward: {address: 'h:1', timeout: -1s}\n", wantErr: "audit.forward.timeout"},
		{name: "huge batch", yaml: "audit:\n  forward: {address: 'h:1', batch: 1000000}\n", wantErr: "audit.forward.batch"},
		{name: "unknown key", yaml: "audit:\n  forward: {address: 'h:1', port: 6514}\n", wantErr: `unknown key "port"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "printgate.yaml")
			if err := os.WriteFile(path, []byte(c.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := loadConfig(path, "")
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.name == "full" && (cfg.Audit.Forward.Batch != 100 || cfg.Audit.Forward.PollEvery != 2*time.Second ||
				cfg.Audit.Forward.ServerName != "siem") {
				t.Errorf("forward %+v", cfg.Audit.Forward)
			}
		})
	}
}

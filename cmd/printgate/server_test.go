package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release"
)

// syncBuffer collects server output from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is printgate running in-process on a loopback port.
type testServer struct {
	Addr    string // 127.0.0.1:PORT
	DataDir string
	Config  Config
	Log     *syncBuffer
	stop    context.CancelFunc
	done    chan error
}

// PrinterURI is the ipp:// URI of queue.
func (s *testServer) PrinterURI(queue string) string {
	return "ipp://" + s.Addr + "/ipp/print/" + queue
}

// settle returns once every job s acknowledged is in its database's
// tables, for a test about to read them over a connection of its own.
// With the journal (SQLite) a job's row is written a few milliseconds
// after its client heard success, and printgate's own reads wait for it:
// a Get-Printer-Attributes, which counts the queue's jobs, is one.
// A server that is not running (no address, or stopped) has nothing
// pending: a clean stop writes it all.
func (s *testServer) settle(t testing.TB) {
	t.Helper()
	if s.Addr == "" || len(s.Config.Queues) == 0 {
		return
	}
	uri := s.PrinterURI(s.Config.Queues[0].Name)
	hdr, err := ippRequest(goipp.OpGetPrinterAttributes, uri, "settle").EncodeBytes()
	if err != nil {
		t.Fatalf("settle: %v", err)
	}
	resp, err := http.Post("http://"+s.Addr+"/ipp/print/"+s.Config.Queues[0].Name, goipp.ContentType, bytes.NewReader(hdr))
	if err != nil {
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// forEachDB runs f as a subtest on each database.
func forEachDB(t *testing.T, f func(t *testing.T, dbURL string)) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			url := ""
			if db == "postgres" {
				url = testenv.Postgres(t)
			}
			f(t, url)
		})
	}
}

// newConfig returns a config with a data dir under t's temp dir, the given
// database and queues, listening on a free loopback port.
func newConfig(t testing.TB, dbURL string, queues ...QueueConfig) Config {
	cfg := defaultConfig()
	cfg.DataDir = filepath.Join(t.TempDir(), "var")
	cfg.Database.URL = dbURL
	cfg.Server.Listen = []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t)))}
	cfg.Log.Level = "debug"
	// The printer monitor adds events of its own to whatever a test
	// counts: the tests of monitoring turn it on.
	cfg.Monitoring.Enabled = false
	if len(queues) > 0 {
		cfg.Queues = queues
	}
	holdUnknownOwners(&cfg)
	if err := cfg.validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// holdUnknownOwners has cfg's requesting-user-name queues that do not say
// otherwise hold the jobs of unknown owners. Most tests submit under names
// no directory user has (they test other things): their jobs are held
// rather than refused, as before owners were mapped. owners_test.go
// tests the default, refuse.
func holdUnknownOwners(cfg *Config) {
	for i, q := range cfg.Queues {
		if q.Auth != release.AuthBasic && q.UnknownOwner == "" {
			cfg.Queues[i].UnknownOwner = release.HoldUnknown
		}
	}
}

// startServer runs printgate with cfg until the test ends.
func startServer(t *testing.T, cfg Config, edit ...func(*app)) *testServer {
	return startServerTB(t, cfg, edit...)
}

// startServerTB is startServer for benchmarks too; edit may change the
// app before it serves.
func startServerTB(t testing.TB, cfg Config, edit ...func(*app)) *testServer {
	t.Helper()
	log := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{Addr: cfg.Server.Listen[0], DataDir: cfg.DataDir, Config: cfg, Log: log, stop: cancel, done: make(chan error, 1)}
	a := &app{stdout: log, stderr: log, stdin: bytes.NewReader(nil), bound: bindAll(t, cfg), ready: make(chan struct{})}
	for _, f := range edit {
		f(a)
	}
	go func() { s.done <- a.serve(ctx, cfg) }()
	select {
	case <-a.ready:
	case err := <-s.done:
		t.Fatalf("server did not start: %v\n%s", err, log)
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not start serving on %s\n%s", s.Addr, log)
	}
	t.Cleanup(func() {
		s.Stop(t)
		if leaks := leakedSecrets(log.String()); len(leaks) > 0 {
			t.Errorf("server log shows secrets %v:\n%s", leaks, log)
		} else if t.Failed() {
			// What the server said is often why: a flake seen once in CI
			// leaves nothing else behind.
			t.Logf("the server's log, last %d lines:\n%s", logTailLines, logTail(log.String(), logTailLines))
		}
	})
	return s
}

// logTailLines is how much of a failed test's server log it shows.
const logTailLines = 60

// logTail returns the last n lines of log.
func logTail(log string, n int) string {
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// bindAll binds every address cfg listens on before the server starts,
// so that no listener accepts connections while another is missing and no
// other process can take a port between the test choosing it and the
// server using it.
func bindAll(t testing.TB, cfg Config) map[string]net.Listener {
	t.Helper()
	bound := map[string]net.Listener{}
	for _, addr := range append(slices.Clone(cfg.Server.Listen), cfg.Server.TLSListen...) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listen %s: %v", addr, err)
		}
		t.Cleanup(func() { ln.Close() })
		bound[addr] = ln
	}
	return bound
}

// Stop shuts the server down and waits for it.
func (s *testServer) Stop(t testing.TB) {
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("server: %v", err)
		}
	case <-time.After(20 * time.Second):
		buf := make([]byte, 1<<20)
		t.Errorf("server did not stop\n%s", buf[:runtime.Stack(buf, true)])
	}
}

func (s *testServer) String() string { return fmt.Sprintf("printgate at %s", s.Addr) }

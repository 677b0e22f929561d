package health

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// probe serves r on h and decodes the answer.
func probe(t *testing.T, h http.HandlerFunc) (int, Status) {
	t.Helper()
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var st Status
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	return rec.Code, st
}

func ok(context.Context) error { return nil }

// secretErr stands for an error that names what a probe must not show.
var secretErr = errors.New("dial tcp 10.1.2.3:5432: connection refused (user=printgate)")

func failing(context.Context) error { return secretErr }

func hanging(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }

func TestReady(t *testing.T) {
	for _, tc := range []struct {
		name   string
		checks []Check
		code   int
		status string
		reason string
		each   map[string]string
	}{
		{"no checks", nil, 200, "ready", "", map[string]string{}},
		{"all pass", []Check{{"database", "database unreachable", ok}, {"spool", "spool not writable", ok}},
			200, "ready", "", map[string]string{"database": "ok", "spool": "ok"}},
		{"one fails", []Check{{"database", "database unreachable", failing}, {"spool", "spool not writable", ok}},
			503, "not ready", "database unreachable", map[string]string{"database": "database unreachable", "spool": "ok"}},
		{"two fail", []Check{{"database", "database unreachable", failing}, {"disk", "disk full", failing}},
			503, "not ready", "database unreachable; disk full", map[string]string{"database": "database unreachable", "disk": "disk full"}},
		{"one hangs", []Check{{"database", "database unreachable", hanging}, {"spool", "spool not writable", ok}},
			503, "not ready", "database unreachable", map[string]string{"database": "database unreachable", "spool": "ok"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Long enough that a check which answers at once is not
			// timed out by a busy machine's scheduling, short enough
			// for the one that hangs.
			c := New(Options{Timeout: 500 * time.Millisecond}, tc.checks...)
			code, st := probe(t, c.ServeReady)
			if code != tc.code || st.Status != tc.status || st.Reason != tc.reason {
				t.Errorf("got %d %+v, want %d %s %q", code, st, tc.code, tc.status, tc.reason)
			}
			for name, want := range tc.each {
				if st.Checks[name] != want {
					t.Errorf("check %s: %q, want %q", name, st.Checks[name], want)
				}
			}
			if code, st := probe(t, c.ServeLive); code != 200 || st.Status != "alive" {
				t.Errorf("healthz: %d %+v", code, st)
			}
		})
	}
}

// TestErrorsOnlyInLog: the answer names the failed check's reason, never
// its error, which goes to the log once per failure and once on recovery.
func TestErrorsOnlyInLog(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var logBuf bytes.Buffer
	c := New(Options{Now: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(&logBuf, nil))},
		Check{"database", "database unreachable", func(context.Context) error {
			if fail.Load() {
				return secretErr
			}
			return nil
		}})
	rec := httptest.NewRecorder()
	for range 3 {
		c.ServeReady(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		now = now.Add(2 * time.Second)
	}
	if strings.Contains(rec.Body.String(), "10.1.2.3") || strings.Contains(rec.Body.String(), "user=") {
		t.Errorf("the answer shows the error: %s", rec.Body)
	}
	if n := strings.Count(logBuf.String(), "10.1.2.3"); n != 1 {
		t.Errorf("the error is logged %d times over three failing rounds, want once:\n%s", n, logBuf.String())
	}
	fail.Store(false)
	if st := c.Ready(context.Background()); st.Status != "ready" {
		t.Fatalf("after recovery: %+v", st)
	}
	if !strings.Contains(logBuf.String(), "passes again") {
		t.Errorf("the recovery is not logged:\n%s", logBuf.String())
	}
}

// TestFresh: probes within Fresh of a round share it; a later one runs
// the checks again.
func TestFresh(t *testing.T) {
	var runs atomic.Int32
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	c := New(Options{Fresh: time.Second, Now: func() time.Time { return now }},
		Check{"database", "database unreachable", func(context.Context) error { runs.Add(1); return nil }})
	for _, step := range []struct {
		advance time.Duration
		runs    int32
	}{{0, 1}, {500 * time.Millisecond, 1}, {400 * time.Millisecond, 1}, {200 * time.Millisecond, 2}, {-time.Hour, 3}} {
		now = now.Add(step.advance)
		c.Ready(context.Background())
		if got := runs.Load(); got != step.runs {
			t.Errorf("after %v: %d rounds, want %d", step.advance, got, step.runs)
		}
	}
}

// TestProberGone: a prober that hangs up does not fail the round the
// others share.
func TestProberGone(t *testing.T) {
	c := New(Options{}, Check{"database", "database unreachable", func(ctx context.Context) error { return ctx.Err() }})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if st := c.Ready(ctx); st.Status != "ready" {
		t.Errorf("with the prober gone: %+v", st)
	}
}

package joblog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/release"
)

var update = flag.Bool("update", false, "rewrite golden files")

// moves are a job's life on a hold queue, a failed print included, and a
// job of a queue that hides document names.
func moves() []release.JobMove {
	at := time.Date(2026, 12, 1, 0, 30, 0, 0, time.UTC)
	job := func(id int64, queue, name string, state release.State, reason, device string) *release.Job {
		return &release.Job{ID: id, Queue: queue, Owner: "hanako", Name: "job " + name, DocumentName: name,
			State: state, Reason: reason, Pages: 3, Copies: 2, Device: device,
			// Never in a line:
			PasswordHash: "argon2id$secret-hash", ClientAddr: "192.0.2.7", Spool: "db1-0000042"}
	}
	mfp := release.Actor{Name: "hanako", Device: "mfp-3f", Method: "card", Printer: "ipp://10.0.3.21/ipp/print"}
	step := func(n int) time.Time { return at.Add(time.Duration(n) * time.Second) }
	return []release.JobMove{
		{Job: job(42, "secure", "給与明細.pdf", release.StateHeld, "job-hold-until-specified", ""),
			From: release.StateIncoming, To: release.StateHeld, Since: at, At: step(1)},
		{Job: job(42, "secure", "給与明細.pdf", release.StateReleasing, "job-queued", "mfp-3f"),
			From: release.StateHeld, To: release.StateReleasing, By: mfp, At: step(60)},
		{Job: job(42, "secure", "給与明細.pdf", release.StateHeld, "printer-unreachable", "mfp-3f"),
			From: release.StateReleasing, To: release.StateHeld, By: mfp, At: step(61)},
		{Job: job(42, "secure", "給与明細.pdf", release.StatePrinting, "job-printing", "mfp-3f"),
			From: release.StateReleasing, To: release.StatePrinting, By: mfp, At: step(120)},
		{Job: job(42, "secure", "給与明細.pdf", release.StateCompleted, "job-completed-successfully", "mfp-3f"),
			From: release.StatePrinting, To: release.StateCompleted, By: mfp, At: step(125)},
		{Job: job(43, "payroll", "salary \"2026\"\nline two", release.StateHeld, "job-hold-until-specified", ""),
			From: release.StateIncoming, To: release.StateHeld, HideName: true, At: step(200)},
		{Job: job(43, "payroll", "hmac-sha256:00ff", release.StateExpired, "aborted-by-system", ""),
			From: release.StateHeld, To: release.StateExpired, HideName: true, At: step(300)},
	}
}

// keyed stands for audit.Log.KeyedName.
func keyed(name string) (string, error) {
	sum := sha256.Sum256([]byte(name))
	return "hmac-sha256:" + hex.EncodeToString(sum[:8]), nil
}

// TestGolden writes the moves as text and as JSON in Asia/Tokyo time and
// compares them with testdata/*.golden.
func TestGolden(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*60*60)
	for _, tc := range []struct {
		file string
		json bool
	}{{"moves.txt.golden", false}, {"moves.json.golden", true}} {
		t.Run(tc.file, func(t *testing.T) {
			buf := logAll(Options{JSON: tc.json, Location: tokyo, KeyedName: keyed}, moves())
			golden := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if buf.String() != string(want) {
				t.Errorf("job log differs from %s; run go test -update and review the diff.\ngot:\n%s", golden, buf.String())
			}
		})
	}
}

// TestLines parses the JSON lines back: one per move, with what a reader
// needs, nothing secret, and hidden names only in their keyed form.
func TestLines(t *testing.T) {
	buf := logAll(Options{JSON: true, Location: time.FixedZone("JST", 9*60*60), KeyedName: keyed}, moves())
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(moves()) {
		t.Fatalf("%d lines for %d moves", len(lines), len(moves()))
	}
	wantEvents := []string{"submitted", "release-attempt", "print-failed", "released", "printed", "submitted", "expired"}
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %d is not JSON: %v", i, err)
		}
		if rec["msg"] != Message || rec["level"] != "INFO" || rec["event"] != wantEvents[i] {
			t.Errorf("line %d: msg %v level %v event %v, want job INFO %s", i, rec["msg"], rec["level"], rec["event"], wantEvents[i])
		}
		if ts, _ := rec["time"].(string); !strings.HasSuffix(ts, "+09:00") {
			t.Errorf("line %d: time %q not in the configured zone", i, ts)
		}
		for _, k := range []string{"job", "owner", "queue", "device", "pages", "copies", "outcome", "reason", "document"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("line %d lacks %s", i, k)
			}
		}
	}
	for _, secret := range []string{"argon2id", "secret-hash", "192.0.2.7", "db1-0000042", "salary"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("the job log shows %q", secret)
		}
	}
}

// TestHiddenWithoutKey: a hidden name that cannot be keyed is "hidden".
func TestHiddenWithoutKey(t *testing.T) {
	for _, k := range []func(string) (string, error){nil, func(string) (string, error) { return "", errors.New("no key") }} {
		buf := logAll(Options{KeyedName: k}, moves()[5:6])
		if !strings.Contains(buf.String(), "document=hidden") || strings.Contains(buf.String(), "salary") {
			t.Errorf("hidden name without a key: %s", buf.String())
		}
	}
}

// TestLevel: under a log at warn, job lines (info) are not written.
func TestLevel(t *testing.T) {
	buf := logAll(Options{Level: slog.LevelWarn}, moves())
	if buf.Len() != 0 {
		t.Errorf("a log at warn shows job lines:\n%s", buf.String())
	}
}

// logAll logs ms and returns what was written once the log is closed.
func logAll(opts Options, ms []release.JobMove) *bytes.Buffer {
	var buf bytes.Buffer
	l := New(&buf, opts)
	for _, m := range ms {
		l.JobMoved(m)
	}
	l.Close()
	return &buf
}

// TestMoveCostsNoAllocation holds the submission path to queuing a line:
// no formatting, no keying, no allocation there.
func TestMoveCostsNoAllocation(t *testing.T) {
	l := New(io.Discard, Options{KeyedName: keyed})
	defer l.Close()
	m := moves()[5] // a hidden name: keyed by the writer, not here
	if n := testing.AllocsPerRun(1000, func() { l.JobMoved(m) }); n != 0 {
		t.Errorf("a move allocates %v times", n)
	}
}

// TestAfterClose: a move reported after Close is dropped, not a panic;
// Close twice is fine.
func TestAfterClose(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Options{})
	l.Close()
	l.JobMoved(moves()[0])
	l.Close()
	if buf.Len() != 0 {
		t.Errorf("a move after Close was written: %s", buf.String())
	}
}

// TestOneLine: a document name cannot forge a line of its own.
func TestOneLine(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		m := moves()[0]
		m.Job.DocumentName = "a.pdf\ntime=2026-12-01T00:00:00Z level=ERROR msg=job event=printed job=1"
		buf := logAll(Options{JSON: asJSON}, []release.JobMove{m})
		if n := strings.Count(buf.String(), "\n"); n != 1 {
			t.Errorf("json %v: %d lines for one move:\n%s", asJSON, n, buf.String())
		}
	}
}

// stallingWriter blocks its first Write until released, and records every
// Write.
type stallingWriter struct {
	first   chan struct{}
	release chan struct{}
	writes  []string
}

func (w *stallingWriter) Write(p []byte) (int, error) {
	if len(w.writes) == 0 {
		close(w.first)
		<-w.release
	}
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

// TestLinesBatched: lines that queued while the writer was busy go out
// together, in fewer writes than lines, each write whole lines.
func TestLinesBatched(t *testing.T) {
	w := &stallingWriter{first: make(chan struct{}), release: make(chan struct{})}
	l := New(w, Options{})
	m := moves()[0]
	l.JobMoved(m)
	<-w.first // the first line is being written; the next 100 queue
	for range 100 {
		l.JobMoved(m)
	}
	close(w.release)
	l.Close()
	lines := 0
	for _, s := range w.writes {
		if !strings.HasSuffix(s, "\n") {
			t.Errorf("a write ends inside a line: %q", s)
		}
		lines += strings.Count(s, "\n")
	}
	if lines != 101 || len(w.writes) > 3 {
		t.Errorf("%d lines in %d writes; want 101 lines in at most 3", lines, len(w.writes))
	}
}

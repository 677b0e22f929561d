package audit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
)

// chanSink passes each anchor written to a channel.
type chanSink chan Anchor

func (c chanSink) WriteAnchor(_ context.Context, a Anchor) error {
	c <- a
	return nil
}

// TestAnchorer drives the interval with an injected timer: an anchor is
// written when the head moved, and skipped when it did not.
func TestAnchorer(t *testing.T) {
	db := openSQLite(t)
	l := newLog(db, newClock(t0, time.Second))
	ticks := make(chan time.Time)
	var waited []time.Duration
	// idle hears each time the anchorer waits again: the round before is
	// done, so the test's appends cannot race with its reading the head.
	idle := make(chan struct{}, 1)
	after := func(d time.Duration) <-chan time.Time {
		waited = append(waited, d)
		idle <- struct{}{}
		return ticks
	}
	tick := func() {
		ticks <- t0
		<-idle
	}
	sink := make(chanSink, 4)
	path := filepath.Join(t.TempDir(), "audit-anchors.log")
	file, err := OpenAnchorFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	a := NewAnchorer(l, time.Minute, after, sink, file)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	errs := make(chan error, 10)
	go func() { a.Run(ctx, func(err error) { errs <- err }); close(done) }()
	<-idle

	tick() // empty chain: nothing to anchor
	jobLife(t, l, db, 1, "alice", "a.pdf")
	tick()
	if got := <-sink; got.Seq != 6 {
		t.Fatalf("anchor at seq %d, want 6", got.Seq)
	}
	tick() // head unchanged: skipped
	appendTx(t, l, db, Event{Type: EventConfigChanged, Actor: "admin"})
	tick()
	if got := <-sink; got.Seq != 7 {
		t.Fatalf("anchor at seq %d, want 7", got.Seq)
	}
	cancel()
	<-done
	if len(errs) > 0 {
		t.Fatalf("anchor error: %v", <-errs)
	}
	if waited[0] != time.Minute {
		t.Errorf("waited %v, want the interval", waited[0])
	}
	if _, wrote, err := a.AnchorNow(context.Background()); wrote || err != nil {
		t.Errorf("final anchor of an unchanged head: wrote %v, %v", wrote, err)
	}

	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("anchor file: %v, %v", fi, err)
	}
	b, _ := os.ReadFile(path)
	anchors, err := ParseAnchors(strings.NewReader(string(b)))
	if err != nil || len(anchors) != 2 || anchors[1].Seq != 7 || anchors[1].Line != 2 {
		t.Fatalf("anchor file holds %+v, %v:\n%s", anchors, err, b)
	}
	r, err := l.VerifyWith(context.Background(), VerifyOptions{Anchors: anchors})
	if err != nil || !r.OK() || r.Anchors != 2 {
		t.Fatalf("verify with anchors: %+v, %v", r, err)
	}
}

// TestVerifyAnchors checks anchors against chains cut back, rewritten,
// and anchors edited.
func TestVerifyAnchors(t *testing.T) {
	cases := []struct {
		name    string
		tamper  func(t *testing.T, db *database.DB, l *Log, anchors []Anchor)
		wantSeq int64 // the anchor reported, 0 for none
		wantWhy string
	}{
		{"untouched", func(*testing.T, *database.DB, *Log, []Anchor) {}, 0, ""},
		{"last events deleted and head moved back", func(t *testing.T, db *database.DB, _ *Log, _ []Anchor) {
			mustExec(t, db, `DELETE FROM audit_events WHERE seq > 10`)
			mustExec(t, db, `UPDATE audit_chain SET seq = 10, hash = (SELECT hash FROM audit_events WHERE seq = 10)`)
			// The attacker also makes job 2's record what events 7-10 make.
			mustExec(t, db, `UPDATE audit_jobs SET last_seq = 10, outcome = 'released', completed_at = NULL,
				deleted_at = NULL WHERE job_id = 2`)
		}, 12, "now ends at 10"},
		{"anchor edited", func(_ *testing.T, _ *database.DB, _ *Log, anchors []Anchor) {
			anchors[0].Seq = 7
		}, 7, "MAC does not verify"},
		{"tail rewritten from before an anchor", func(t *testing.T, db *database.DB, l *Log, _ []Anchor) {
			// Even with the key, a rewrite shows against the anchors.
			rehashTail(t, db, l, 5, 0, func(ev *Event) { ev.Actor = "mallory" }, newHasher(l.chainKey).sum)
		}, 6, "another hash"},
	}
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			open := d.opener(t)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					ctx := context.Background()
					db := open(t)
					l := newLog(db, newClock(t0, time.Second))
					var anchors []Anchor
					for job := range int64(2) {
						jobLife(t, l, db, job+1, "alice", "a.pdf")
						a, err := l.Anchor(ctx)
						if err != nil {
							t.Fatal(err)
						}
						anchors = append(anchors, a)
					}
					disableGuards(t, db)
					c.tamper(t, db, l, anchors)
					if r, _ := l.Verify(ctx, 0, 0); c.name == "last events deleted and head moved back" && !r.OK() {
						t.Fatalf("a cut-back chain verifies without anchors, yet: %+v", r)
					}
					r, err := l.VerifyWith(ctx, VerifyOptions{Anchors: anchors})
					if err != nil {
						t.Fatal(err)
					}
					if c.wantSeq == 0 {
						if !r.OK() || r.Anchors != 2 {
							t.Fatalf("untouched: %+v", r)
						}
						return
					}
					if r.OK() || len(r.BadAnchors) == 0 || r.BadAnchors[0].Seq != c.wantSeq ||
						!strings.Contains(r.BadAnchors[0].Reason, c.wantWhy) {
						t.Fatalf("verify: %+v; want anchor %d: %s", r, c.wantSeq, c.wantWhy)
					}
				})
			}
		})
	}
}

// TestAnchorRefusesForgedHead: an anchor never vouches for a head that
// does not verify.
func TestAnchorRefusesForgedHead(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		l := newLog(db, newClock(t0, time.Second))
		jobLife(t, l, db, 1, "alice", "a.pdf")
		disableGuards(t, db)
		head := readEvent(t, l, 6)
		ev := Event{Seq: 7, At: head.At.Add(time.Second), Type: EventConfigChanged, Actor: "admin", PrevHash: head.Hash}
		ev.Hash = chainHash(ev.PrevHash, &ev)
		insertEvent(t, db, &ev, true)
		if _, err := l.Anchor(context.Background()); !errors.Is(err, ErrBrokenChain) {
			t.Errorf("anchor of a forged head: %v", err)
		}
		if _, err := New(db, Options{}).Anchor(context.Background()); !errors.Is(err, ErrNoKey) {
			t.Errorf("anchor without a key: %v", err)
		}
	})
}

func TestParseAnchor(t *testing.T) {
	l := newLog(nil, newClock(t0, 0))
	a := Anchor{Seq: 42, Hash: zeroHash, At: t0}
	a.MAC = l.anchorMAC(&a)
	good := a.String()
	if got, err := ParseAnchor(good); err != nil || got.Seq != 42 || !got.At.Equal(t0) || got.String() != good {
		t.Fatalf("round trip of %q: %+v, %v", good, got, err)
	}
	for _, bad := range []string{
		"",
		"printgate-anchor/2" + strings.TrimPrefix(good, anchorVersion),
		strings.Replace(good, "seq=42", "seq=-1", 1),
		strings.Replace(good, "seq=42", "seq=x", 1),
		strings.Replace(good, "hash=00", "hash=0", 1),
		strings.Replace(good, "at=", "when=", 1),
		strings.Replace(good, "Z mac", " mac", 1),
		good + " extra=1",
	} {
		if _, err := ParseAnchor(bad); err == nil {
			t.Errorf("ParseAnchor(%q) accepted", bad)
		}
	}
	if _, err := ParseAnchors(strings.NewReader("# copied 2026-12-02\n\n" + good + "\nnonsense\n")); err == nil ||
		!strings.Contains(err.Error(), "line 4") {
		t.Errorf("ParseAnchors with a bad line: %v", err)
	}
}

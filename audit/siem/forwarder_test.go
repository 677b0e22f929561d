package siem

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
)

// TestForwarderBatches: events go out in order, Batch at most per
// connection, each a message the collector parses and whose copy checks
// under the key; the cursor follows, and with nothing new no connection
// is made.
func TestForwarderBatches(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB, l *audit.Log) {
		ctx := context.Background()
		c := startCollector(t)
		appendEvents(t, l, db, 7)
		f := newForwarder(db, l, c, Options{Batch: 3})
		for _, want := range []int{3, 3, 1, 0} {
			n, err := f.Once(ctx)
			if err != nil || n != want {
				t.Fatalf("Once: %d, %v; want %d", n, err, want)
			}
		}
		got := c.received(t)
		if !slices.Equal(seqs(got), []int64{1, 2, 3, 4, 5, 6, 7}) {
			t.Fatalf("received %v", seqs(got))
		}
		for i := range got {
			if err := l.CheckCopy(&got[i]); err != nil {
				t.Errorf("copy of event %d: %v", got[i].Seq, err)
			}
		}
		if n := c.connections(); n != 3 {
			t.Errorf("%d connections, want 3 (none when nothing is new)", n)
		}
		if seq, _ := Cursor(ctx, db, DefaultName); seq != 7 {
			t.Errorf("cursor %d, want 7", seq)
		}
	})
}

// TestForwarderNeedsReceipt: a collector that drops the connection
// before reading the whole batch has not confirmed it: the cursor stays,
// and the next connection sends the batch again. Advancing once the
// writes succeeded would lose events 2 and 3 here.
func TestForwarderNeedsReceipt(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB, l *audit.Log) {
		ctx := context.Background()
		c := startCollector(t)
		appendEvents(t, l, db, 3)
		f := newForwarder(db, l, c, Options{Timeout: 5 * time.Second})
		for _, how := range []string{"refuse", "reset"} {
			c.then(how)
			if n, err := f.Once(ctx); err == nil {
				t.Fatalf("collector that did %s: %d sent, no error", how, n)
			}
			if seq, _ := Cursor(ctx, db, DefaultName); seq != 0 {
				t.Fatalf("collector that did %s: cursor moved to %d", how, seq)
			}
		}
		mustOnce(t, f, 3)
		// The reset collector kept event 1 before it dropped the rest.
		if got := seqs(c.received(t)); !slices.Equal(got, []int64{1, 1, 2, 3}) {
			t.Fatalf("received %v, want [1 1 2 3]: at least once", got)
		}
	})
}

// mustOnce runs one round of f and fails unless it sent want events.
func mustOnce(t *testing.T, f *Forwarder, want int) {
	t.Helper()
	if n, err := f.Once(context.Background()); n != want || err != nil {
		t.Fatalf("Once: sent %d, %v; want %d", n, err, want)
	}
}

// fakeAfter records the waits Run asks for and ends them at once.
type fakeAfter struct {
	mu    sync.Mutex
	waits []time.Duration
	stop  func()
	limit int
}

func (a *fakeAfter) after(d time.Duration) <-chan time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.waits = append(a.waits, d)
	if len(a.waits) == a.limit {
		a.stop()
	}
	ch := make(chan time.Time, 1)
	ch <- time.Time{}
	return ch
}

// TestForwarderBackoff: while the collector fails, Run waits from
// MinBackoff, doubling up to MaxBackoff; once it succeeds, it polls again
// every Poll, and the events arrive.
func TestForwarderBackoff(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB, l *audit.Log) {
		c := startCollector(t)
		appendEvents(t, l, db, 2)
		c.then("refuse", "refuse", "refuse", "refuse", "refuse", "refuse", "reset")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		fa := &fakeAfter{stop: cancel, limit: 9}
		f := newForwarder(db, l, c, Options{After: fa.after, Poll: 7 * time.Millisecond,
			MinBackoff: time.Second, MaxBackoff: 20 * time.Second, Timeout: 5 * time.Second})
		f.Run(ctx)
		s := time.Second
		want := []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 20 * s, 20 * s, 7 * time.Millisecond, 7 * time.Millisecond}
		if !slices.Equal(fa.waits, want) {
			t.Fatalf("waits %v, want %v", fa.waits, want)
		}
		if seq, _ := Cursor(context.Background(), db, DefaultName); seq != 2 {
			t.Fatalf("cursor %d, want 2", seq)
		}
	})
}

// TestForwarderStopsAtGap: an event missing from the chain after the
// cursor (not purged) is never passed over: nothing after it is sent.
func TestForwarderStopsAtGap(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB, l *audit.Log) {
		ctx := context.Background()
		c := startCollector(t)
		appendEvents(t, l, db, 2)
		f := newForwarder(db, l, c, Options{})
		mustOnce(t, f, 2)
		appendEvents(t, l, db, 3)
		deleteEvent(t, db, 3)
		if n, err := f.Once(ctx); !errors.Is(err, ErrGap) || n != 0 {
			t.Fatalf("Once over a gap: %d, %v; want ErrGap", n, err)
		}
		if got := seqs(c.received(t)); !slices.Equal(got, []int64{1, 2}) {
			t.Fatalf("received %v", got)
		}
		if seq, _ := Cursor(ctx, db, DefaultName); seq != 2 {
			t.Fatalf("cursor %d, want 2", seq)
		}
	})
}

// TestForwarderRewinds: when the chain no longer holds the last event
// forwarded as it was (a database restored from an older backup), the
// forwarder starts again from the beginning rather than skip the events
// that now take those sequences.
func TestForwarderRewinds(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB, l *audit.Log) {
		ctx := context.Background()
		c := startCollector(t)
		appendEvents(t, l, db, 3)
		f := newForwarder(db, l, c, Options{})
		mustOnce(t, f, 3)
		// As if a backup from before events 4 and 5 were restored after
		// they were forwarded: the cursor is beyond the head.
		if err := db.Exec(`UPDATE siem_cursors SET seq = 5`).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := f.Once(ctx); !errors.Is(err, ErrRewound) {
			t.Fatalf("Once: %v, want ErrRewound", err)
		}
		appendEvents(t, l, db, 2)
		mustOnce(t, f, 5)
		if got := seqs(c.received(t)); !slices.Equal(got, []int64{1, 2, 3, 1, 2, 3, 4, 5}) {
			t.Fatalf("received %v", got)
		}
	})
}

// deleteEvent deletes an event as only someone disabling the triggers
// can.
func deleteEvent(t *testing.T, db *database.DB, seq int64) {
	t.Helper()
	stmts := []string{`DROP TRIGGER audit_events_no_delete`}
	if db.Dialect == database.Postgres {
		stmts = []string{`ALTER TABLE audit_events DISABLE TRIGGER ALL`}
	}
	for _, s := range stmts {
		if err := db.Exec(s).Error; err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := db.Exec(`DELETE FROM audit_events WHERE seq = ?`, seq).Error; err != nil {
		t.Fatalf("delete event %d: %v", seq, err)
	}
}

// TestForwarderAfterPurge: events that retention purged before they
// could be sent are passed over (they are gone, with a signed
// checkpoint); everything after them is sent.
func TestForwarderAfterPurge(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB, l *audit.Log) {
		ctx := context.Background()
		c := startCollector(t)
		appendEvents(t, l, db, 4)
		rep, err := l.Purge(ctx, time.Now().Add(time.Hour), audit.ActorSystem)
		if err != nil || rep.Checkpoint == nil || rep.Checkpoint.Seq != 4 {
			t.Fatalf("purge: %+v, %v", rep, err)
		}
		appendEvents(t, l, db, 1)
		f := newForwarder(db, l, c, Options{})
		mustOnce(t, f, 2)
		if got := seqs(c.received(t)); !slices.Equal(got, []int64{5, 6}) {
			t.Fatalf("received %v, want the purge event and the next", got)
		}
	})
}

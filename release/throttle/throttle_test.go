package throttle

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func migrate(ctx context.Context, db *database.DB) error {
	if err := audit.Migrate(ctx, db); err != nil {
		return err
	}
	return Migrate(ctx, db)
}

func newStore(t *testing.T, db *database.DB, clock *testenv.Clock, rules map[Kind]Rule) (*Store, *audit.Log) {
	t.Helper()
	log := audit.New(db, audit.Options{Key: testKey, Now: clock.Now})
	s, err := New(db, Options{Rules: rules, Key: testKey, Audit: log, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s, log
}

// events counts the audit events of type typ.
func events(t *testing.T, log *audit.Log, typ string) []audit.Event {
	t.Helper()
	var out []audit.Event
	for ev, err := range log.Events(t.Context(), audit.Filter{Type: typ}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

func rowCount(t *testing.T, db *database.DB) int64 {
	t.Helper()
	var n int64
	if err := db.Raw(`SELECT count(*) FROM throttles`).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// step is one action on the throttle of device "mfp1" with Max 3 in 1m.
type step struct {
	advance   time.Duration
	succeed   bool // the attempt's secret was right
	clear     bool
	allowed   bool
	started   bool
	retryWant time.Duration
}

func TestReserve(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		// ended and cleared are the summary events expected at the end.
		ended, cleared int
	}{
		{name: "three allowed, fourth refused once started", steps: []step{
			{allowed: true}, {allowed: true}, {allowed: true},
			{started: true, retryWant: 60 * time.Second},
			{advance: 30 * time.Second, retryWant: 30 * time.Second},
		}},
		{name: "right answers are given back", steps: []step{
			{allowed: true, succeed: true}, {allowed: true, succeed: true}, {allowed: true, succeed: true},
			{allowed: true, succeed: true}, {allowed: true}, {allowed: true}, {allowed: true},
			{started: true, retryWant: 60 * time.Second},
		}},
		{name: "the window ends and is summarized once", steps: []step{
			{allowed: true}, {allowed: true}, {allowed: true}, {started: true, retryWant: time.Minute}, {retryWant: time.Minute},
			{advance: time.Minute, allowed: true}, {allowed: true},
		}, ended: 1},
		{name: "a window without refusals ends silently", steps: []step{
			{allowed: true}, {allowed: true}, {advance: 2 * time.Minute, allowed: true},
		}},
		{name: "an admin clears", steps: []step{
			{allowed: true}, {allowed: true}, {allowed: true}, {started: true, retryWant: time.Minute},
			{clear: true}, {allowed: true},
		}, cleared: 1},
	}
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := t.Context()
				clock := testenv.NewClock()
				s, log := newStore(t, db, clock, map[Kind]Rule{Device: {Max: 3, Window: time.Minute}})
				defer db.Exec(`DELETE FROM throttles`)
				before := len(events(t, log, EventThrottleEnded)) + len(events(t, log, EventThrottleCleared))
				for i, st := range tt.steps {
					clock.Advance(st.advance)
					if st.clear {
						if ok, err := s.Clear(ctx, Device, "mfp1", "alice"); err != nil || !ok {
							t.Fatalf("step %d: Clear = %v, %v", i, ok, err)
						}
						continue
					}
					a, err := s.Reserve(ctx, Device, "mfp1")
					if err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					if a.Allowed != st.allowed || a.Started != st.started {
						t.Fatalf("step %d: allowed %v started %v (count %d), want %v %v", i, a.Allowed, a.Started, a.Count,
							st.allowed, st.started)
					}
					if !a.Allowed {
						if !errors.Is(a.Err, ErrThrottled) || a.Err.RetryAfter() > st.retryWant+time.Second ||
							a.Err.RetryAfter() < st.retryWant {
							t.Fatalf("step %d: error %v, retry after %s, want %s", i, a.Err, a.Err.RetryAfter(), st.retryWant)
						}
					}
					if st.succeed {
						if err := s.Succeeded(ctx, a); err != nil {
							t.Fatal(err)
						}
					}
				}
				ended, cleared := len(events(t, log, EventThrottleEnded)), len(events(t, log, EventThrottleCleared))
				if ended+cleared-before != tt.ended+tt.cleared {
					t.Errorf("summary events: ended %d cleared %d (before %d), want %d and %d", ended, cleared, before,
						tt.ended, tt.cleared)
				}
			})
		}
	})
}

// TestReserveParallel: N parallel attempts get at most Max allowed, and
// exactly one is told the episode started.
func TestReserveParallel(t *testing.T) {
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		clock := testenv.NewClock()
		s, _ := newStore(t, db, clock, map[Kind]Rule{Device: {Max: 10, Window: time.Minute}})
		var mu sync.Mutex
		allowed, started := 0, 0
		var wg sync.WaitGroup
		for range 60 {
			wg.Go(func() {
				a, err := s.Reserve(t.Context(), Device, "mfp1")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if a.Allowed {
					allowed++
				}
				if a.Started {
					started++
				}
			})
		}
		wg.Wait()
		if allowed != 10 || started != 1 {
			t.Errorf("60 parallel attempts: %d allowed, %d started; want 10 and 1", allowed, started)
		}
	})
}

// TestPrune: ended windows are removed, so the table holds only windows in
// progress, and each refused episode is summarized once with its count.
func TestPrune(t *testing.T) {
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		clock := testenv.NewClock()
		s, log := newStore(t, db, clock, map[Kind]Rule{Device: {Max: 2, Window: time.Minute}, Address: {Max: 5, Window: time.Hour}})
		for i := range 1000 {
			if _, err := s.Reserve(ctx, Address, netip.AddrFrom4([4]byte{10, 0, byte(i / 256), byte(i)}).String()); err != nil {
				t.Fatal(err)
			}
		}
		for range 7 {
			if _, err := s.Reserve(ctx, Device, "mfp1"); err != nil {
				t.Fatal(err)
			}
		}
		if st, err := s.Throttled(ctx, Device); err != nil || len(st) != 1 || st[0].Name != "mfp1" || st[0].Attempts != 7 {
			t.Fatalf("Throttled = %+v, %v", st, err)
		}
		clock.Advance(time.Minute)
		if err := s.Prune(ctx); err != nil {
			t.Fatal(err)
		}
		if n := rowCount(t, db); n != 1000 {
			t.Errorf("after the device window: %d rows, want the 1000 addresses", n)
		}
		evs := events(t, log, EventThrottleEnded)
		if len(evs) != 1 || evs[0].Device != "mfp1" || evs[0].Details["refused"] != "5" {
			t.Errorf("ended events = %+v, want one for mfp1 with 5 refused", evs)
		}
		clock.Advance(time.Hour)
		if err := s.Prune(ctx); err != nil {
			t.Fatal(err)
		}
		if n := rowCount(t, db); n != 0 {
			t.Errorf("after every window: %d rows", n)
		}
	})
}

func TestAccountKeyed(t *testing.T) {
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		s, _ := newStore(t, db, testenv.NewClock(), map[Kind]Rule{Account: {Max: 2, Window: time.Minute}})
		for _, name := range []string{"Bob", " bob", "BOB "} {
			if _, err := s.Reserve(t.Context(), Account, name); err != nil {
				t.Fatal(err)
			}
		}
		var subjects []string
		db.Raw(`SELECT subject FROM throttles`).Scan(&subjects)
		if len(subjects) != 1 || subjects[0] == "bob" || len(subjects[0]) != 64 {
			t.Errorf("stored subjects %q: want one keyed name for every spelling", subjects)
		}
	})
}

package release

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

func TestUntilQuiet(t *testing.T) {
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		arriving  int32
		lastEnded time.Duration // before now
		want      time.Duration
	}{
		{"long quiet", 0, time.Second, 0},
		{"just quiet", 0, quietFor, 0},
		{"one ended 30 ms ago", 0, 30 * time.Millisecond, quietFor - 30*time.Millisecond},
		{"one arriving, the last ended long ago", 1, time.Hour, quietFor},
		{"two arriving", 2, time.Second, quietFor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Service{}
			s.receiving.Store(tt.arriving)
			s.lastSubmit.Store(now.Add(-tt.lastEnded).UnixNano())
			if got := s.untilQuiet(now); got != tt.want {
				t.Errorf("untilQuiet = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGiveWay(t *testing.T) {
	ended := func(ctx context.Context) bool {
		select {
		case <-ctx.Done():
			return true
		default:
			return false
		}
	}
	newService := func() *Service { return &Service{arrivals: make(chan struct{}, 1)} }

	t.Run("a document begins", func(t *testing.T) {
		s := newService()
		search, stop := s.giveWay(t.Context())
		defer stop()
		if ended(search) {
			t.Fatal("the search ended before anything arrived")
		}
		arrived := s.arriving()
		defer arrived()
		<-search.Done()
		if cause := context.Cause(search); !errors.Is(cause, errGaveWay) {
			t.Errorf("cause %v, want errGaveWay", cause)
		}
	})
	t.Run("one is arriving as the search begins", func(t *testing.T) {
		s := newService()
		arrived := s.arriving()
		defer arrived()
		search, stop := s.giveWay(t.Context())
		defer stop()
		if !ended(search) || !errors.Is(context.Cause(search), errGaveWay) {
			t.Error("a search began while a document was arriving")
		}
	})
	t.Run("one arrived before the search", func(t *testing.T) {
		s := newService()
		s.arriving()()
		search, stop := s.giveWay(t.Context())
		defer stop()
		if ended(search) {
			t.Errorf("a document that had arrived before the search stopped it (%v)", context.Cause(search))
		}
	})
}

// TestInspectorGivesWay: the inspector's search of a held job stops when
// a document begins to arrive, records nothing, and runs again at the
// next quiet moment; after maxGiveWay stops it runs to its end even with
// a document arriving.
func TestInspectorGivesWay(t *testing.T) {
	x := textExtractor(t)
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		svc := searchService(t, db, x)
		// The one job of the test (below): the hook is set before it
		// exists, as the inspector may find it at once.
		searches := func() int64 { return searchEvents(db, 0) }

		// Each search begins with a document arriving: the first
		// maxGiveWay stop for it and record nothing, the next runs.
		type begun struct {
			recorded int64
			stopped  bool
		}
		begins := make(chan begun, maxGiveWay+2)
		last := make(chan func(), 1)
		svc.beforeSearch = func(search context.Context, id int64) {
			b := begun{recorded: searches()}
			arrived := svc.arriving()
			select {
			case <-search.Done():
				b.stopped = errors.Is(context.Cause(search), errGaveWay)
				arrived()
			case <-time.After(time.Second):
				last <- arrived // arriving still while the search runs
			}
			begins <- b
		}
		pendingJob(t, svc, db)
		select {
		case svc.inspectWake <- struct{}{}:
		default: // already woken
		}
		for i := range maxGiveWay + 1 {
			select {
			case b := <-begins:
				if b.recorded != 0 {
					t.Fatalf("search %d began after %d recorded searches, want none recorded", i+1, b.recorded)
				}
				if want := i < maxGiveWay; b.stopped != want {
					t.Fatalf("search %d stopped for an arriving document: %v, want %v", i+1, b.stopped, want)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("search %d never began", i+1)
			}
		}
		arrived := <-last
		defer arrived()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		deadline := time.After(30 * time.Second)
		for searches() == 0 {
			select {
			case <-tick.C:
			case <-deadline:
				t.Fatal("the search that was not to give way recorded nothing")
			}
		}
		if n := searches(); n != 1 {
			t.Errorf("%d searches recorded, want 1", n)
		}
		select {
		case b := <-begins:
			t.Errorf("a search began after the job was searched: %+v", b)
		default:
		}
	})
}

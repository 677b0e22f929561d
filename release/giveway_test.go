package release

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
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
		if len(s.arrivals) != 0 {
			t.Error("the search began with the arrival of a document that had arrived before it")
		}
		stop()
		if cause := context.Cause(search); errors.Is(cause, errGaveWay) {
			t.Errorf("a document that had arrived before the search stopped it (%v)", cause)
		}
	})
}

// TestInspectorGivesWay: the inspector's search of a held job stops when
// a submission begins, records nothing, and runs again at the next quiet
// moment; once the job has waited searchWithin, its search runs to its
// end even with a submission arriving.
func TestInspectorGivesWay(t *testing.T) {
	x := textExtractor(t)
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		clock := testenv.NewClockAt(time.Now())
		svc := searchService(t, db, x, clock.Now)
		// What any search recorded: of the payroll job, the only one
		// searched (plain searches nothing).
		recorded := func() int64 {
			var n int64
			db.Table("audit_events").Where("type LIKE ?", "sensitive-content-%").Count(&n)
			return n
		}
		submit := func() error {
			_, err := svc.IPP().PrintJob(ctx, ipp.JobRequest{Queue: "plain", User: "taro", Name: "memo",
				Document: ipp.DocumentInfo{Name: "memo.pdf", Format: "application/pdf"}},
				bytes.NewReader(testdocs.PDF(1, "memo", testdocs.A4)))
			return err
		}

		// Each search begins with a real submission to plain.
		type begun struct {
			recorded int64
			stopped  bool
			err      error
		}
		begins := make(chan begun, 4)
		var overdue atomic.Bool
		// Set before the job exists: the inspector may find it at once.
		svc.beforeSearch = func(search context.Context, id int64) {
			b := begun{recorded: recorded(), err: submit()}
			if !overdue.Load() {
				select {
				case <-search.Done():
					b.stopped = errors.Is(context.Cause(search), errGaveWay)
				case <-time.After(10 * time.Second):
				}
			}
			select {
			case begins <- b:
			case <-ctx.Done(): // the test has ended
			}
		}
		next := func() begun {
			t.Helper()
			select {
			case b := <-begins:
				if b.err != nil {
					t.Fatal(b.err)
				}
				return b
			case <-time.After(30 * time.Second):
				t.Fatal("no search began")
				return begun{}
			}
		}
		pendingJob(t, svc, db)
		select {
		case svc.inspectWake <- struct{}{}:
		default: // already woken
		}
		if b := next(); !b.stopped || b.recorded != 0 {
			t.Fatalf("a search with a submission arriving: stopped %v, %d recorded before; want stopped, none", b.stopped, b.recorded)
		}
		if b := next(); !b.stopped || b.recorded != 0 {
			t.Fatalf("the search run again at the next quiet moment: stopped %v, %d recorded before; want stopped again, none",
				b.stopped, b.recorded)
		}
		if n := recorded(); n != 0 {
			t.Fatalf("%d events recorded by searches that gave way", n)
		}

		overdue.Store(true)
		clock.Advance(searchWithin)
		if b := next(); b.stopped || b.recorded != 0 {
			t.Fatalf("the search of an overdue job: stopped %v, %d recorded before; want neither", b.stopped, b.recorded)
		}
		testenv.WaitFor(t, "the overdue job's search", func() bool { return recorded() > 0 })
		if n := recorded(); n != 1 {
			t.Errorf("%d searches recorded, want 1", n)
		}
		if n := svc.receiving.Load(); n != 0 {
			t.Errorf("%d documents still counted arriving after every submission ended", n)
		}
		// A refused document ends its arrival too.
		if _, err := svc.IPP().PrintJob(ctx, ipp.JobRequest{Queue: "plain", User: "taro", Name: "junk",
			Document: ipp.DocumentInfo{Name: "junk", Format: "application/pdf"}},
			bytes.NewReader([]byte("not a PDF at all"))); err == nil {
			t.Error("a document that is not a PDF was accepted as one")
		}
		if n := svc.receiving.Load(); n != 0 {
			t.Errorf("%d documents counted arriving after a refused one", n)
		}
	})
}

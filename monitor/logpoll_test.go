package monitor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// sendingJobs is a Releases that is sending while the test says so and
// knows the printer jobs in forwarded as printgate's job 7.
type sendingJobs struct {
	sending   bool
	forwarded map[int]bool
}

func (s *sendingJobs) Forwarded(_ context.Context, _ string, id int, _, _ time.Time) ([]int64, error) {
	if s.forwarded[id] {
		return []int64{7}, nil
	}
	return nil, nil
}

func (s *sendingJobs) Sending(context.Context, string) (bool, error) { return s.sending, nil }

func (s *sendingJobs) SentAgain(context.Context, int64, string, int) (bool, error) { return false, nil }

func (m *Monitor) pendingOf(uri string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pending[uri])
}

// TestPendingBounded: a printer that lists thousands of fresh jobs each
// poll while a release is being sent keeps at most maxPendingPerPrinter
// of them waiting, and none once it lists them no more.
func TestPendingBounded(t *testing.T) {
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		if db.Dialect != database.SQLite {
			t.Skip("the bound is the monitor's, not the database's")
		}
		fp := &logPrinter{}
		uri := fp.serve(t)
		clock := testenv.NewClock()
		rel := &sendingJobs{sending: true}
		m, _ := newMonitor(t, db, clock, func(o *Options) { o.Releases = rel; o.JobLogLimit = 5000 })
		if _, err := m.Registry().Add(t.Context(), Spec{Name: "evil", URI: uri}, nil); err != nil {
			t.Fatal(err)
		}
		n := 0
		for range 5 {
			var jobs []ipp.CompletedJob
			for range 2000 {
				n++
				jobs = append(jobs, ipp.CompletedJob{ID: n, UUID: fmt.Sprintf("urn:uuid:%036d", n), State: ipp.JobCompleted, User: "x"})
			}
			fp.set(-1, jobs...)
			if err := m.PollOnce(t.Context()); err != nil {
				t.Fatal(err)
			}
			if p := m.pendingOf(uri); p > maxPendingPerPrinter {
				t.Fatalf("%d jobs waiting, want at most %d", p, maxPendingPerPrinter)
			}
			clock.Advance(100 * time.Millisecond)
		}
		rel.sending = false
		fp.set(-1)
		clock.Advance(time.Hour)
		if err := m.PollOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		if p := m.pendingOf(uri); p != 0 {
			t.Errorf("%d jobs still waiting once the printer lists none", p)
		}
	})
}

// TestWaitedAndGone: a job that waited for its match while a release was
// being sent, and that the printer (busy, keeping few jobs) no longer
// lists at the next poll, is recorded then: matched if its printer job ID
// was recorded by then, else observed.
func TestWaitedAndGone(t *testing.T) {
	for _, tc := range []struct {
		name              string
		forwarded         bool
		matched, observed int
	}{
		{"printgate's own", true, 1, 0},
		{"printed without printgate", false, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
				fp := &logPrinter{}
				uri := fp.serve(t)
				clock := testenv.NewClock()
				rel := &sendingJobs{sending: true, forwarded: map[int]bool{}}
				m, log := newMonitor(t, db, clock, func(o *Options) { o.Releases = rel })
				if _, err := m.Registry().Add(t.Context(), Spec{Name: "busy", URI: uri}, nil); err != nil {
					t.Fatal(err)
				}
				fp.set(-1, ipp.CompletedJob{ID: 9, UUID: "urn:uuid:9999", State: ipp.JobCompleted, User: "mallory", Impressions: 2})
				if err := m.PollOnce(t.Context()); err != nil {
					t.Fatal(err)
				}
				if n := len(events(t, log, "")); n != 0 || m.pendingOf(uri) != 1 {
					t.Fatalf("after the first poll: %d events, %d waiting; want it waiting", n, m.pendingOf(uri))
				}
				rel.forwarded[9] = tc.forwarded
				fp.set(-1, ipp.CompletedJob{ID: 10, UUID: "urn:uuid:aaaa", State: ipp.JobCompleted, User: "x"})
				clock.Advance(time.Second)
				if err := m.PollOnce(t.Context()); err != nil {
					t.Fatal(err)
				}
				matched, observed := events(t, log, EventDeviceJobMatched), events(t, log, EventDeviceJobObserved)
				if len(matched) != tc.matched || len(observed) != tc.observed {
					t.Errorf("%d matched, %d observed; want %d, %d", len(matched), len(observed), tc.matched, tc.observed)
				}
				for _, ev := range append(matched, observed...) {
					if ev.Details["printer_job_id"] != "9" || ev.Details["pages"] != "2" {
						t.Errorf("recorded %v, want printer job 9 with 2 pages", ev.Details)
					}
				}
			})
		})
	}
}

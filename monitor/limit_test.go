package monitor

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// TestObservedLimits: a printer's backlog is recorded over a few polls,
// MaxObservedPerPoll at a time; a printer that invents jobs by the
// hundred in a real user's name is recorded up to MaxObservedPerDay,
// then once as device-jobs-limited, and no more that day.
func TestObservedLimits(t *testing.T) {
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		fp := &logPrinter{}
		uri := fp.serve(t)
		clock := testenv.NewClock() // 18:00 in Tokyo
		m, log := newMonitor(t, db, clock, func(o *Options) {
			o.MaxObservedPerPoll, o.MaxObservedPerDay = 100, 250
			o.Owners = func(_ context.Context, seen string) (string, bool) { return strings.ToLower(seen), true }
		})
		if _, err := m.Registry().Add(t.Context(), Spec{Name: "evil", URI: uri}, nil); err != nil {
			t.Fatal(err)
		}
		n := 0
		invent := func(count int) []ipp.CompletedJob {
			var jobs []ipp.CompletedJob
			for range count {
				n++
				jobs = append(jobs, ipp.CompletedJob{ID: n, UUID: fmt.Sprintf("urn:uuid:%036d", n), State: ipp.JobCompleted,
					User: "CEO", Name: "resignation-letter.pdf", Impressions: 1})
			}
			return jobs
		}
		backlog := invent(150)
		for _, step := range []struct {
			name              string
			advance           time.Duration
			jobs              []ipp.CompletedJob
			observed, limited int
		}{
			{"a backlog, first poll", 0, backlog, 100, 0},
			{"the rest of the backlog", time.Second, backlog, 150, 0},
			{"500 invented: the day's limit", time.Second, invent(500), 250, 1},
			{"500 more", time.Second, invent(500), 250, 1},
			{"the next day", 24 * time.Hour, invent(500), 350, 1},
		} {
			clock.Advance(step.advance)
			fp.set(-1, step.jobs...)
			if err := m.PollOnce(t.Context()); err != nil {
				t.Fatal(err)
			}
			observed, limited := events(t, log, EventDeviceJobObserved), events(t, log, EventObservedLimited)
			if len(observed) != step.observed || len(limited) != step.limited {
				t.Fatalf("%s: %d observed, %d limited; want %d, %d", step.name, len(observed), len(limited), step.observed, step.limited)
			}
		}
		ev := events(t, log, EventObservedLimited)[0]
		if ev.Device != "evil" || ev.Printer != uri || ev.Details["limit"] != "250" || ev.Details["day"] != "2026-04-01" ||
			ev.Details["unrecorded"] != "400" {
			t.Errorf("limited event %+v", ev)
		}
	})
}

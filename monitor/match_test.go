package monitor

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"
	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// logPrinter answers Get-Printer-Attributes with its up-time (none when
// negative) and Get-Jobs with its job log, as the test sets them.
type logPrinter struct {
	mu     sync.Mutex
	upTime int
	jobs   []ipp.CompletedJob
}

func (f *logPrinter) set(upTime int, jobs ...ipp.CompletedJob) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.upTime, f.jobs = upTime, jobs
}

func (f *logPrinter) serve(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req goipp.Message
		if err := req.Decode(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		body := ipp.EncodeCompletedJobs(f.jobs)
		if goipp.Op(req.Code) == goipp.OpGetPrinterAttributes {
			resp := goipp.NewResponse(goipp.DefaultVersion, goipp.StatusOk, req.RequestID)
			resp.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
			resp.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
			resp.Printer.Add(goipp.MakeAttribute("printer-state", goipp.TagEnum, goipp.Integer(3)))
			if f.upTime >= 0 {
				resp.Printer.Add(goipp.MakeAttribute("printer-up-time", goipp.TagInteger, goipp.Integer(f.upTime)))
			}
			var b bytes.Buffer
			_ = resp.Encode(&b)
			body = b.Bytes()
		}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/ipp")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return "ipp://" + strings.TrimPrefix(srv.URL, "http://") + "/ipp/print"
}

// sentJob is one send of printgate's jobs as the fake Releases knows it:
// job id printed as printer job printerID, at the printer from sent to
// ended.
type sentJob struct {
	id          int64
	printerID   int
	sent, ended time.Time
}

// sentJobs is a Releases over fixed jobs; ignoreTime answers by printer
// job ID alone, as printgate did before its jobs were matched in time.
type sentJobs struct {
	jobs       []sentJob
	ignoreTime bool
}

func (s *sentJobs) Forwarded(_ context.Context, _ string, id int, from, to time.Time) ([]int64, error) {
	var out []int64
	for _, j := range s.jobs {
		if j.printerID == id && (s.ignoreTime || (!j.sent.After(to) && !j.ended.Before(from))) {
			out = append(out, j.id)
		}
	}
	return out, nil
}

func (s *sentJobs) Sending(context.Context, string) (bool, error) { return false, nil }

// SentAgain: a send of the same job begun later.
func (s *sentJobs) SentAgain(_ context.Context, id int64, _ string, printerID int) (bool, error) {
	for _, j := range s.jobs {
		if j.id == id && j.printerID == printerID {
			for _, k := range s.jobs {
				if k.id == id && k.sent.After(j.sent) {
					return true, nil
				}
			}
		}
	}
	return false, nil
}

// TestJobWindow: a printer job's time is put on printgate's clock from
// the printer's up-time, or its calendar clock against its current
// time, never its calendar clock alone; with neither it is taken to have
// completed within the lag before it was seen.
func TestJobWindow(t *testing.T) {
	at := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	seen := at.Add(time.Minute)
	const lag = 10 * time.Minute
	wrongClock := at.Add(-9 * time.Hour) // a printer set to the wrong zone
	for _, tc := range []struct {
		name     string
		clock    printerClock
		job      ipp.CompletedJob
		from, to time.Time
	}{
		{"up-time", printerClock{at: at, upTime: 5000},
			ipp.CompletedJob{CreatedUp: 4000, CompletedUp: 4100, Created: wrongClock},
			at.Add(-1000 * time.Second), at.Add(-900 * time.Second)},
		{"up-time, completion only", printerClock{at: at, upTime: 5000},
			ipp.CompletedJob{CreatedUp: -1, CompletedUp: 4990},
			at.Add(-10 * time.Second), at.Add(-10 * time.Second)},
		{"up-time, creation only: completed by the time it was seen", printerClock{at: at, upTime: 5000},
			ipp.CompletedJob{CreatedUp: 4990, CompletedUp: -1},
			at.Add(-10 * time.Second), seen},
		{"completed between the poll's requests", printerClock{at: at, upTime: 5000},
			ipp.CompletedJob{CreatedUp: -1, CompletedUp: 5003},
			at.Add(3 * time.Second), at.Add(3 * time.Second)},
		{"up-time from before a restart: not believed", printerClock{at: at, upTime: 50},
			ipp.CompletedJob{CreatedUp: -1, CompletedUp: 4990},
			seen.Add(-lag), seen},
		{"up-time in seconds, job times in calendar seconds: not believed", printerClock{at: at, upTime: 1775000000},
			ipp.CompletedJob{CreatedUp: 100, CompletedUp: 200},
			seen.Add(-lag), seen},
		{"calendar clock against the printer's current time", printerClock{at: at, upTime: -1, current: wrongClock},
			ipp.CompletedJob{CreatedUp: -1, CompletedUp: -1, Completed: wrongClock.Add(-time.Minute)},
			at.Add(-time.Minute), at.Add(-time.Minute)},
		{"calendar clock alone: not believed", printerClock{at: at, upTime: -1},
			ipp.CompletedJob{CreatedUp: -1, CompletedUp: -1, Completed: at.Add(-time.Minute)},
			seen.Add(-lag), seen},
		{"no times", printerClock{at: at, upTime: -1},
			ipp.CompletedJob{CreatedUp: -1, CompletedUp: -1},
			seen.Add(-lag), seen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := jobWindow(tc.job, tc.clock, seen, lag)
			want := window{tc.from.Add(-matchSlack), tc.to.Add(matchSlack)}
			if !w.from.Equal(want.from) || !w.to.Equal(want.to) {
				t.Errorf("window %v – %v, want %v – %v", w.from, w.to, want.from, want.to)
			}
		})
	}
}

// TestMatchedOnce: a send of one of printgate's jobs is matched to one
// printer job, for good: printer jobs that later get its printer job ID
// (the printer restarted), the same day or after the seen marks are
// forgotten, are recorded as printed without printgate, and the job keeps
// its count.
func TestMatchedOnce(t *testing.T) {
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		fp := &logPrinter{}
		uri := fp.serve(t)
		clock := testenv.NewClock()
		// Printer job ID 5 is job 7 whenever asked.
		rel := &sentJobs{ignoreTime: true, jobs: []sentJob{{id: 7, printerID: 5}}}
		addJobs(t, db, 7)
		m, log := newMonitor(t, db, clock, func(o *Options) { o.Releases = rel })
		ctx := t.Context()
		if _, err := m.Registry().Add(ctx, Spec{Name: "lobby", URI: uri}, nil); err != nil {
			t.Fatal(err)
		}
		poll := func(jobs ...ipp.CompletedJob) {
			t.Helper()
			fp.set(-1, jobs...)
			if err := m.PollOnce(ctx); err != nil {
				t.Fatal(err)
			}
		}
		poll(ipp.CompletedJob{ID: 5, UUID: "urn:uuid:aaaa", State: ipp.JobCompleted, User: "printgate", Impressions: 1})
		poll(ipp.CompletedJob{ID: 5, UUID: "urn:uuid:bbbb", State: ipp.JobCompleted, User: "mallory", Impressions: 40})
		clock.Advance(seenFor + 24*time.Hour)
		poll() // the old marks are forgotten
		poll(ipp.CompletedJob{ID: 5, UUID: "urn:uuid:cccc", State: ipp.JobCompleted, User: "mallory", Impressions: 500})

		matched, observed := events(t, log, EventDeviceJobMatched), events(t, log, EventDeviceJobObserved)
		if got := pagesOf(matched); got != "7:1" {
			t.Errorf("matched %s, want job 7 once, with its 1 page", got)
		}
		if got := pagesOf(observed); got != "0:40 0:500" {
			t.Errorf("observed %s, want mallory's 40 and 500 pages", got)
		}
	})
}

// pagesOf lists events as JOB:PAGES.
func pagesOf(evs []audit.Event) string {
	var out []string
	for _, ev := range evs {
		out = append(out, fmt.Sprintf("%d:%s", ev.JobID, ev.Details["pages"]))
	}
	return strings.Join(out, " ")
}

// TestMatchedInTime: a printer job is printgate's only if printgate's
// job was at that printer while it was, by the printer's up-time, or
// without one, by when the monitor saw it.
func TestMatchedInTime(t *testing.T) {
	for _, tc := range []struct {
		name string
		// upTime is the printer's (-1: it does not say); ago is how long
		// before the poll the printer job completed, by its up-time.
		upTime int
		ago    time.Duration
		// ended is how long before the poll printgate's job 7 ended.
		ended   time.Duration
		matched bool
	}{
		{"up-time: completed as job 7 ended", 100000, 30 * time.Second, 20 * time.Second, true},
		{"up-time: seen late, still job 7", 100000, 2 * time.Hour, 2 * time.Hour, true},
		{"up-time: an ID job 7 had, hours later", 100000, 30 * time.Second, 3 * time.Hour, false},
		{"up-time: before job 7 was sent", 100000, 3 * time.Hour, 20 * time.Second, false},
		{"no times: job 7 just ended", -1, 0, 20 * time.Second, true},
		{"no times: job 7 ended hours ago", -1, 0, 3 * time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
				fp := &logPrinter{}
				uri := fp.serve(t)
				clock := testenv.NewClock()
				now := clock.Now()
				rel := &sentJobs{jobs: []sentJob{{id: 7, printerID: 5, sent: now.Add(-tc.ended - time.Minute), ended: now.Add(-tc.ended)}}}
				m, log := newMonitor(t, db, clock, func(o *Options) { o.Releases = rel })
				if _, err := m.Registry().Add(t.Context(), Spec{Name: "lobby", URI: uri}, nil); err != nil {
					t.Fatal(err)
				}
				job := ipp.CompletedJob{ID: 5, UUID: "urn:uuid:dddd", State: ipp.JobCompleted, User: "mallory",
					Impressions: 3, CompletedUp: -1}
				if tc.upTime >= 0 {
					job.CompletedUp = tc.upTime - int(tc.ago/time.Second)
				}
				fp.set(tc.upTime, job)
				if err := m.PollOnce(t.Context()); err != nil {
					t.Fatal(err)
				}
				matched, observed := len(events(t, log, EventDeviceJobMatched)), len(events(t, log, EventDeviceJobObserved))
				if want := map[bool][2]int{true: {1, 0}, false: {0, 1}}[tc.matched]; [2]int{matched, observed} != want {
					t.Errorf("%d matched, %d observed; want %v", matched, observed, want)
				}
			})
		})
	}
}

// TestReprintMatched: a job whose print failed at the printer (printer
// job 5, aborted after 2 pages) and that was released again (printer job
// 6, 4 pages) was sent twice, and both printer jobs are printgate's: each
// is matched to its send, neither is recorded as printed without
// printgate, and the job's record takes the reprint's count, whether the
// monitor saw the failed attempt before the reprint or both at once (the
// reprint listed first).
func TestReprintMatched(t *testing.T) {
	for _, tc := range []struct {
		name    string
		between bool // a poll between the failure and the reprint
		// attempt is how the failed attempt's event gives its count.
		attempt string
	}{
		{"polled between", true, "pages=2"},
		{"both in one poll", false, "attempt_pages=2 sent_again=true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
				fp := &logPrinter{}
				uri := fp.serve(t)
				clock := testenv.NewClock()
				start := clock.Now()
				const up0 = 100000 // the printer's up-time at start, in seconds
				up := func(d time.Duration) int { return up0 + int(d/time.Second) }
				rel := &sentJobs{jobs: []sentJob{{id: 7, printerID: 5, sent: start, ended: start.Add(20 * time.Second)}}}
				addJobs(t, db, 7)
				m, log := newMonitor(t, db, clock, func(o *Options) { o.Releases = rel })
				ctx := t.Context()
				submitted(t, db, log, 7)
				if _, err := m.Registry().Add(ctx, Spec{Name: "lobby", URI: uri}, nil); err != nil {
					t.Fatal(err)
				}
				poll := func(jobs ...ipp.CompletedJob) {
					t.Helper()
					fp.set(up(clock.Now().Sub(start)), jobs...)
					if err := m.PollOnce(ctx); err != nil {
						t.Fatal(err)
					}
				}
				aborted := ipp.CompletedJob{ID: 5, UUID: "urn:uuid:5555", State: ipp.JobAborted, User: "alice",
					Impressions: 2, CreatedUp: up(time.Second), CompletedUp: up(15 * time.Second)}
				clock.Advance(30 * time.Second)
				if tc.between {
					poll(aborted)
				}
				// Held again with printer job 5, released again: job 6.
				rel.jobs = append(rel.jobs, sentJob{id: 7, printerID: 6, sent: start.Add(time.Minute),
					ended: start.Add(80 * time.Second)})
				reprint := ipp.CompletedJob{ID: 6, UUID: "urn:uuid:6666", State: ipp.JobCompleted, User: "alice",
					Impressions: 4, CreatedUp: up(61 * time.Second), CompletedUp: up(75 * time.Second)}
				clock.Advance(time.Minute)
				poll(reprint, aborted)
				poll(reprint, aborted)

				if obs := events(t, log, EventDeviceJobObserved); len(obs) != 0 {
					t.Errorf("observed %s, want none: both printer jobs were printgate's", pagesOf(obs))
				}
				got := map[string]string{}
				for _, ev := range events(t, log, EventDeviceJobMatched) {
					if ev.JobID != 7 {
						t.Errorf("printer job %s matched to job %d, want 7", ev.Details["printer_job_id"], ev.JobID)
					}
					var d []string
					for _, k := range []string{"pages", "attempt_pages", DetailSentAgain} {
						if v, ok := ev.Details[k]; ok {
							d = append(d, k+"="+v)
						}
					}
					got[ev.Details["printer_job_id"]] = ev.Outcome + " " + strings.Join(d, " ")
				}
				want := map[string]string{"5": "aborted " + tc.attempt, "6": "printed pages=4"}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("matched %v, want %v", got, want)
				}
				r, err := log.Job(ctx, 7)
				if err != nil || !r.PrinterCounted || r.PrinterImpressions != 4 {
					t.Errorf("job 7's record: printer counted %v, %d impressions, %v; want the reprint's 4",
						r.PrinterCounted, r.PrinterImpressions, err)
				}
			})
		})
	}
}

// submitted records the submission of printgate's job id, so that it has
// a record for the printer's count.
func submitted(t *testing.T, db *database.DB, log *audit.Log, id int64) {
	t.Helper()
	err := db.Transaction(func(tx *gorm.DB) error {
		_, err := log.Append(t.Context(), tx, audit.Event{Type: audit.EventSubmitted, JobID: id, Actor: "alice",
			Job: &audit.JobInfo{Queue: "secure", Owner: "alice", DocumentName: "report.pdf", Format: "application/pdf",
				Pages: 4, PagesKnown: true, Copies: 1}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

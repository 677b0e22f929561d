package monitor

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// releases is a Releases whose sending state the test sets.
type releases struct{ sending bool }

func (r *releases) Forwarded(context.Context, string, int, time.Time, time.Time) ([]int64, error) {
	return nil, nil
}
func (r *releases) Sending(context.Context, string) (bool, error) { return r.sending, nil }
func (r *releases) SentAgain(context.Context, int64, string, int) (bool, error) {
	return false, nil
}

// printDirect prints a PDF of pages straight to the printer as user and
// waits for it to complete.
func printDirect(t *testing.T, uri, user, name string, pages int) {
	t.Helper()
	c := &ipp.Client{}
	st, err := c.PrintJob(t.Context(), uri, ipp.PrintRequest{UserName: user, JobName: name, DocumentFormat: "application/pdf"},
		bytes.NewReader(testdocs.PDF(pages, name, testdocs.A4)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(t.Context(), uri, st.ID); err != nil {
		t.Fatal(err)
	}
}

// TestObservedJobs: the name the printer saw is mapped to the directory
// user's, and kept beside it; with hidden names an observed job's name is
// a keyed HMAC, never the name; while a release is being sent an unmatched job
// waits (it may be printgate's own, its printer job ID not yet noted),
// and is recorded as observed once two poll intervals have passed.
func TestObservedJobs(t *testing.T) {
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		printer := testenv.IPPEvePrinter(t, testenv.WithImpressions(t))
		clock := testenv.NewClock()
		rel := &releases{sending: true}
		m, log := newMonitor(t, db, clock, func(o *Options) {
			o.HideJobNames, o.Releases = true, rel
			o.Owners = func(_ context.Context, seen string) (string, bool) {
				if seen == `CORP\Mallory` {
					return "mallory", true
				}
				return "", false
			}
		})
		ctx := t.Context()
		if _, err := m.Registry().Add(ctx, Spec{Name: "lobby", URI: printer.URI}, nil); err != nil {
			t.Fatal(err)
		}
		printDirect(t, printer.URI, `CORP\Mallory`, "salaries.pdf", 2)
		for _, step := range []struct {
			advance time.Duration
			want    int
		}{{0, 0}, {time.Second, 0}, {time.Second, 1}, {time.Second, 1}} {
			clock.Advance(step.advance)
			if err := m.PollOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if n := len(events(t, log, EventDeviceJobObserved)); n != step.want {
				t.Fatalf("after %v more: %d observed, want %d", step.advance, n, step.want)
			}
		}
		ev := events(t, log, EventDeviceJobObserved)[0]
		if name := ev.Details["job_name"]; !strings.HasPrefix(name, "hmac-sha256:") || strings.Contains(name, "salaries") {
			t.Errorf("hidden job name recorded as %q", name)
		}
		if ev.Owner != "mallory" || ev.Details["printer_user"] != `CORP\Mallory` || ev.Details["pages"] != "2" {
			t.Errorf("observed %+v", ev)
		}
	})
}

// TestGarbagePrinter: a printer that answers garbage, or far too much,
// is marked unreachable with the error; nothing is recorded and nothing
// crashes.
func TestGarbagePrinter(t *testing.T) {
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"garbage", []byte("\x02\x00\x00\x00\x00\x00\x00\x01\x01\x44\xff\xffnot ipp")},
		{"huge", bytes.Repeat([]byte{0x42}, 6<<20)},
		{"html", []byte("<html>login</html>")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/ipp")
				w.Write(tc.body)
			}))
			defer srv.Close()
			testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
				m, log := newMonitor(t, db, testenv.NewClock(), nil)
				uri := "ipp://" + strings.TrimPrefix(srv.URL, "http://") + "/ipp/print"
				if _, err := m.Registry().Add(t.Context(), Spec{Name: "bad", URI: uri}, nil); err != nil {
					t.Fatal(err)
				}
				if err := m.PollOnce(t.Context()); err != nil {
					t.Fatal(err)
				}
				ps, _ := m.Registry().List(t.Context())
				if len(ps) != 1 || ps[0].State != StateUnreachable || ps[0].LastError == "" || len(ps[0].LastError) > 300 {
					t.Errorf("after a garbage answer: %+v", ps)
				}
				if n := len(events(t, log, "")); n != 0 {
					t.Errorf("%d events recorded from garbage", n)
				}
			})
		})
	}
}

// TestPrinterColorCounts: a printer whose job log splits a job's
// impressions by colour (job-impressions-completed-col; ippeveprinter
// does not send it, so the printer here answers as such firmware does)
// has the job recorded with its counts, and the job's record counts as
// colour whatever mode it asked for.
func TestPrinterColorCounts(t *testing.T) {
	answer := ipp.EncodeCompletedJobs([]ipp.CompletedJob{{ID: 41, State: ipp.JobCompleted, User: "carol",
		Name: "poster.pdf", Impressions: 3, ColorImpressions: 1, MonoImpressions: 2}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/ipp")
		w.Write(answer)
	}))
	defer srv.Close()
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		m, log := newMonitor(t, db, testenv.NewClock(), nil)
		uri := "ipp://" + strings.TrimPrefix(srv.URL, "http://") + "/ipp/print"
		if _, err := m.Registry().Add(t.Context(), Spec{Name: "colour-mfp", URI: uri}, nil); err != nil {
			t.Fatal(err)
		}
		if err := m.PollOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		obs := events(t, log, EventDeviceJobObserved)
		if len(obs) != 1 || obs[0].Details[audit.DetailPrinterColorPages] != "1" || obs[0].Details[audit.DetailPrinterMonoPages] != "2" {
			t.Fatalf("observed events %+v: want one with 1 colour and 2 monochrome impressions", obs)
		}
		page, err := log.History(t.Context(), audit.HistoryQuery{Source: audit.SourcePrinterLog})
		if err != nil || len(page.Jobs) != 1 || page.Jobs[0].Color() != audit.ColorColor {
			t.Fatalf("history %+v, %v: want carol's job counted as colour", page.Jobs, err)
		}
	})
}

// TestObservedNameMasked: the name a printer's log gives a job printed
// without printgate is masked where it holds an individual number, as
// printgate's own jobs' names are, before it reaches the event, the
// job's record, or (with hidden names) its keyed form; a name longer
// than 255 octets is masked whole before it is cut, so that a number
// straddling the cut keeps none of its digits.
func TestObservedNameMasked(t *testing.T) {
	long := strings.Repeat("a", 241)
	for _, tc := range []struct {
		name, want string
		hide       bool
	}{
		{"tax 1234 5678 9018", "tax **** **** ****", false},
		{"tax 1234 5678 9018", "", true},
		{"invoice 2024-001.pdf", "invoice 2024-001.pdf", false},
		{long + "123456789018xyz", long + strings.Repeat("*", 11) + "…", false},
	} {
		t.Run(fmt.Sprintf("%.20s, hidden %v", tc.name, tc.hide), func(t *testing.T) {
			testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
				fp := &logPrinter{}
				uri := fp.serve(t)
				m, log := newMonitor(t, db, testenv.NewClock(), func(o *Options) { o.HideJobNames = tc.hide })
				if _, err := m.Registry().Add(t.Context(), Spec{Name: "lobby", URI: uri}, nil); err != nil {
					t.Fatal(err)
				}
				fp.set(-1, ipp.CompletedJob{ID: 3, UUID: "urn:uuid:3333", State: ipp.JobCompleted, User: "hanako",
					Name: tc.name, Impressions: 1})
				if err := m.PollOnce(t.Context()); err != nil {
					t.Fatal(err)
				}
				want := tc.want
				if tc.hide {
					var err error
					if want, err = log.KeyedName("tax **** **** ****"); err != nil {
						t.Fatal(err)
					}
				}
				var names []string
				for _, ev := range events(t, log, EventDeviceJobObserved) {
					names = append(names, ev.Details["job_name"])
				}
				if len(names) != 1 || names[0] != want {
					t.Fatalf("observed jobs named %q, want one named %q", names, want)
				}
				page, err := log.History(t.Context(), audit.HistoryQuery{Source: audit.SourcePrinterLog})
				if err != nil || len(page.Jobs) != 1 || page.Jobs[0].DocumentName != want {
					t.Errorf("history %+v, %v: want the job named %q", page.Jobs, err, want)
				}
			})
		})
	}
}

// TestObservedUserMasked: the user a printer's log names, the sending
// computer's unchecked word, is masked where it holds an individual
// number, as a job's name is, in the event, its owner and the history:
// masked before it is cut, and looked up as sent, so that a login that
// looks like a number still finds its owner.
func TestObservedUserMasked(t *testing.T) {
	long := strings.Repeat("a", 241)
	for _, tc := range []struct {
		name, user, printerUser, owner string
		owners                         map[string]string
	}{
		{"a number", "u123456789018", "u************", "u************", nil},
		{"a number across the cut", long + "123456789018xyz", long + strings.Repeat("*", 11) + "…",
			long + strings.Repeat("*", 11) + "…", nil},
		{"a login that looks like a number", "u123456789018", "u************", "taro",
			map[string]string{"u123456789018": "taro"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
				fp := &logPrinter{}
				uri := fp.serve(t)
				m, log := newMonitor(t, db, testenv.NewClock(), func(o *Options) {
					if tc.owners != nil {
						o.Owners = func(_ context.Context, name string) (string, bool) {
							user, ok := tc.owners[name]
							return user, ok
						}
					}
				})
				if _, err := m.Registry().Add(t.Context(), Spec{Name: "lobby", URI: uri}, nil); err != nil {
					t.Fatal(err)
				}
				fp.set(-1, ipp.CompletedJob{ID: 3, UUID: "urn:uuid:3333", State: ipp.JobCompleted, User: tc.user,
					Name: "minutes", Impressions: 1})
				if err := m.PollOnce(t.Context()); err != nil {
					t.Fatal(err)
				}
				evs := events(t, log, EventDeviceJobObserved)
				if len(evs) != 1 || evs[0].Details["printer_user"] != tc.printerUser || evs[0].Owner != tc.owner {
					t.Fatalf("observed %+v; want one job of %q, printer user %q", evs, tc.owner, tc.printerUser)
				}
				page, err := log.History(t.Context(), audit.HistoryQuery{Source: audit.SourcePrinterLog})
				if err != nil || len(page.Jobs) != 1 || page.Jobs[0].Owner != tc.owner || page.Jobs[0].ClaimedUser != tc.printerUser {
					t.Errorf("history %+v, %v: want the job of %q", page.Jobs, err, tc.owner)
				}
			})
		})
	}
}

// TestListedNotForgotten: the mark of a job the printer still lists is
// kept however old (a printer seldom used keeps its last jobs for
// months): a job matched once is not recorded again, as printed without
// printgate, once its mark is older than seenFor.
func TestListedNotForgotten(t *testing.T) {
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		fp := &logPrinter{}
		uri := fp.serve(t)
		clock := testenv.NewClock()
		start := clock.Now()
		rel := &sentJobs{jobs: []sentJob{{id: 7, printerID: 5, sent: start.Add(-time.Minute), ended: start.Add(-20 * time.Second)}}}
		addJobs(t, db, 7)
		m, log := newMonitor(t, db, clock, func(o *Options) { o.Releases = rel })
		if _, err := m.Registry().Add(t.Context(), Spec{Name: "quiet", URI: uri}, nil); err != nil {
			t.Fatal(err)
		}
		const up0 = 100000
		job := ipp.CompletedJob{ID: 5, UUID: "urn:uuid:5555", State: ipp.JobCompleted, User: "alice", Impressions: 1,
			CreatedUp: up0 - 50, CompletedUp: up0 - 30}
		for _, advance := range []time.Duration{0, 10, 10, 10, 10, 10, 10, 10, 10, 10, 1, 0} {
			clock.Advance(advance*24*time.Hour + time.Minute)
			fp.set(up0+int(clock.Now().Sub(start)/time.Second), job)
			if err := m.PollOnce(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if matched, all := len(events(t, log, EventDeviceJobMatched)), len(events(t, log, "")); matched != 1 || all != 1 {
			t.Errorf("%d matched of %d events after 91 days listed, want the one match", matched, all)
		}
	})
}

// TestMatchedOfPurgedJobs: the marks of matched sends go once their
// printgate job's row is gone (purged after it ended); the others stay.
func TestMatchedOfPurgedJobs(t *testing.T) {
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		fp := &logPrinter{}
		uri := fp.serve(t)
		clock := testenv.NewClock()
		rel := &sentJobs{ignoreTime: true, jobs: []sentJob{{id: 7, printerID: 5}, {id: 8, printerID: 6}}}
		addJobs(t, db, 7, 8)
		m, _ := newMonitor(t, db, clock, func(o *Options) { o.Releases = rel })
		if _, err := m.Registry().Add(t.Context(), Spec{Name: "lobby", URI: uri}, nil); err != nil {
			t.Fatal(err)
		}
		fp.set(-1, ipp.CompletedJob{ID: 5, UUID: "urn:uuid:5555", State: ipp.JobCompleted},
			ipp.CompletedJob{ID: 6, UUID: "urn:uuid:6666", State: ipp.JobCompleted})
		marks := func() []int64 {
			t.Helper()
			var ids []int64
			if err := db.Model(&matchedSend{}).Order("job_id").Pluck("job_id", &ids).Error; err != nil {
				t.Fatal(err)
			}
			return ids
		}
		for _, step := range []struct {
			advance time.Duration
			// purge deletes job 7's row first, as release purges a job
			// that ended long ago.
			purge bool
			want  string
		}{{0, false, "[7 8]"}, {time.Hour, true, "[7 8]"}, {24 * time.Hour, false, "[8]"}} {
			if step.purge {
				if err := db.Exec(`DELETE FROM ` + jobsTable + ` WHERE id = 7`).Error; err != nil {
					t.Fatal(err)
				}
			}
			clock.Advance(step.advance)
			if err := m.PollOnce(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(marks()); got != step.want {
				t.Errorf("after %v: sends of jobs %s marked, want %s", step.advance, got, step.want)
			}
		}
	})
}

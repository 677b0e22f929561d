package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
)

func TestHistory(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		c := newClock(t0, time.Minute)
		l := newLog(db, c)
		// alice's jobs 1..23, three of them submitted at the same
		// microsecond so that the job ID breaks the tie; bob's 101..105.
		var aliceIDs []int64
		for i := int64(1); i <= 23; i++ {
			ev := submitted(i, "alice", fmt.Sprintf("doc %02d.pdf", i))
			if i == 12 {
				ev.Job.DocumentName = "2026年11月 給与明細.pdf"
			}
			if i >= 5 && i <= 7 {
				ev.Job.Submitted = t0.Add(time.Hour)
			}
			if i%2 == 0 {
				ev.Job.Queue = "color"
			}
			appendTx(t, l, db, ev)
			aliceIDs = append(aliceIDs, i)
			if i%3 == 0 {
				appendTx(t, l, db, Event{Type: EventReleased, JobID: i, Actor: "alice", Device: "mfp-1", Method: MethodCard})
				appendTx(t, l, db, Event{Type: EventPrinted, JobID: i, Actor: ActorSystem})
			}
		}
		for i := int64(101); i <= 105; i++ {
			appendTx(t, l, db, submitted(i, "bob", "bob.pdf"))
		}
		// bob's 106 was printed to a queue that hides names: the record
		// holds the keyed name, found only by the exact name.
		hidden := submitted(106, "bob", "Secret Plan.pdf")
		hidden.Job.HideName = true
		appendTx(t, l, db, hidden)

		// Newest first: by submission time, then job ID, descending.
		all, err := l.History(ctx, HistoryQuery{User: "alice", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.IsSortedFunc(all.Jobs, func(a, b JobRecord) int {
			if c := b.Submitted.Compare(a.Submitted); c != 0 {
				return c
			}
			return int(b.JobID - a.JobID)
		}) || len(all.Jobs) != 23 || all.Next != "" {
			t.Fatalf("one page of all: %d jobs, next %q", len(all.Jobs), all.Next)
		}
		if all.Jobs[0].JobID != 7 || all.Jobs[1].JobID != 6 || all.Jobs[2].JobID != 5 {
			t.Errorf("ties not broken by job ID: %d %d %d", all.Jobs[0].JobID, all.Jobs[1].JobID, all.Jobs[2].JobID)
		}

		for _, size := range []int{1, 2, 5, 22, 23} {
			var got []int64
			q := HistoryQuery{User: "alice", Limit: size}
			for pages := 0; ; pages++ {
				if pages > 30 {
					t.Fatal("pagination does not end")
				}
				page, err := l.History(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Jobs) > size {
					t.Fatalf("page of %d rows, limit %d", len(page.Jobs), size)
				}
				for _, r := range page.Jobs {
					got = append(got, r.JobID)
				}
				if page.Next == "" {
					break
				}
				q.Cursor = page.Next
			}
			want := make([]int64, 0, 23)
			for _, r := range all.Jobs {
				want = append(want, r.JobID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("page size %d: got %v, want %v", size, got, want)
			}
		}

		cases := []struct {
			name string
			q    HistoryQuery
			want int
		}{
			{"all users", HistoryQuery{Limit: 100}, 29},
			{"bob", HistoryQuery{User: "bob"}, 6},
			{"hidden name exact", HistoryQuery{Name: "Secret Plan.pdf"}, 1},
			{"hidden name part", HistoryQuery{Name: "Secret"}, 0},
			{"nobody", HistoryQuery{User: "carol"}, 0},
			{"queue", HistoryQuery{User: "alice", Queue: "color"}, 11},
			{"device", HistoryQuery{User: "alice", Device: "mfp-1"}, 7},
			{"outcome", HistoryQuery{User: "alice", Outcome: EventPrinted}, 7},
			{"japanese name", HistoryQuery{User: "alice", Name: "給与"}, 1},
			{"name case-insensitive", HistoryQuery{User: "alice", Name: "DOC 1"}, 9},
			{"like wildcards are literal", HistoryQuery{User: "alice", Name: "doc_%"}, 0},
			{"time range", HistoryQuery{User: "alice", From: t0.Add(time.Hour), To: t0.Add(time.Hour + time.Microsecond)}, 3},
			{"before", HistoryQuery{User: "alice", To: t0.Add(5 * time.Minute)}, 3},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				page, err := l.History(ctx, c.q)
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Jobs) != c.want {
					t.Errorf("%d jobs, want %d", len(page.Jobs), c.want)
				}
				// The query's Filter selects the same rows for Jobs and
				// Export, all pages together.
				var ids []int64
				for r, err := range l.Jobs(ctx, c.q.Filter()) {
					if err != nil {
						t.Fatal(err)
					}
					ids = append([]int64{r.JobID}, ids...)
				}
				if want := jobIDs(page.Jobs); !slices.Equal(ids, want) {
					t.Errorf("Jobs(Filter()) = %v, History = %v", ids, want)
				}
			})
		}
		if _, err := l.History(ctx, HistoryQuery{Cursor: "not a cursor"}); !errors.Is(err, ErrBadCursor) {
			t.Errorf("bad cursor: %v", err)
		}
	})
}

func TestTotals(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		c := newClock(t0, time.Second)
		l := newLog(db, c)
		job := func(id int64, owner string, at time.Time, pages int, known bool, copies int, sides, color string) {
			ev := submitted(id, owner, "x.pdf")
			ev.Job.Pages, ev.Job.PagesKnown, ev.Job.Copies, ev.Job.Sides, ev.Job.ColorMode = pages, known, copies, sides, color
			ev.Job.Submitted = at
			appendTx(t, l, db, ev)
		}
		// 14:59 and 15:00 UTC are 23:59 on the 25th and 00:00 on the 26th in Tokyo.
		day1, day2 := t0.Add(14*time.Hour+59*time.Minute), t0.Add(15*time.Hour)
		job(1, "alice", day1, 3, true, 2, "two-sided-long-edge", "color")                   // 6 impressions, 4 sheets
		job(2, "alice", day2, 5, true, 1, "one-sided", "monochrome")                        // 5, 5
		job(3, "bob", day2, 0, false, 3, "one-sided", "monochrome")                         // unknown
		job(4, "bob", day2, 120, true, 1, "two-sided-short-edge", "auto")                   // 120, 60, colour unknown
		job(5, "bob", day2.Add(time.Hour), 1, true, 4, "two-sided-long-edge", "monochrome") // 4, 4
		appendTx(t, l, db, Event{Type: EventReleased, JobID: 2, Actor: "alice", Device: "mfp-1"})
		appendTx(t, l, db, Event{Type: EventPrinted, JobID: 2, Actor: ActorSystem})
		appendTx(t, l, db, Event{Type: EventReleased, JobID: 4, Actor: "bob", Device: "mfp-2"})

		cases := []struct {
			name string
			q    TotalsQuery
			want []Total
		}{
			{"grand total", TotalsQuery{}, []Total{
				{Key: "", Jobs: 5, PagesUnknown: 1, Pages: 129, Impressions: 135, Sheets: 73, ColorJobs: 1, ColorImpressions: 6, MonoImpressions: 9, UnknownColorImpressions: 120},
			}},
			{"by user", TotalsQuery{GroupBy: ByUser}, []Total{
				{Key: "alice", Jobs: 2, Pages: 8, Impressions: 11, Sheets: 9, ColorJobs: 1, ColorImpressions: 6, MonoImpressions: 5},
				{Key: "bob", Jobs: 3, PagesUnknown: 1, Pages: 121, Impressions: 124, Sheets: 64, MonoImpressions: 4, UnknownColorImpressions: 120},
			}},
			{"by day in Tokyo", TotalsQuery{GroupBy: ByDay}, []Total{
				{Key: "2026-11-25", Jobs: 1, Pages: 3, Impressions: 6, Sheets: 4, ColorJobs: 1, ColorImpressions: 6},
				{Key: "2026-11-26", Jobs: 4, PagesUnknown: 1, Pages: 126, Impressions: 129, Sheets: 69, MonoImpressions: 9, UnknownColorImpressions: 120},
			}},
			{"by device", TotalsQuery{GroupBy: ByDevice}, []Total{
				{Key: "", Jobs: 3, PagesUnknown: 1, Pages: 4, Impressions: 10, Sheets: 8, ColorJobs: 1, ColorImpressions: 6, MonoImpressions: 4},
				{Key: "mfp-1", Jobs: 1, Pages: 5, Impressions: 5, Sheets: 5, MonoImpressions: 5},
				{Key: "mfp-2", Jobs: 1, Pages: 120, Impressions: 120, Sheets: 60, UnknownColorImpressions: 120},
			}},
			{"printed only, by queue", TotalsQuery{GroupBy: ByQueue, Outcome: EventPrinted}, []Total{
				{Key: "office", Jobs: 1, Pages: 5, Impressions: 5, Sheets: 5, MonoImpressions: 5},
			}},
			{"range and user", TotalsQuery{User: "bob", From: day2, To: day2.Add(time.Minute)}, []Total{
				{Key: "", Jobs: 2, PagesUnknown: 1, Pages: 120, Impressions: 120, Sheets: 60, UnknownColorImpressions: 120},
			}},
			{"nothing matches", TotalsQuery{GroupBy: ByUser, User: "carol"}, nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, err := l.Totals(ctx, c.q)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, c.want) {
					t.Errorf("got  %+v\nwant %+v", got, c.want)
				}
			})
		}
		if _, err := l.Totals(ctx, TotalsQuery{GroupBy: "printer; DROP TABLE audit_jobs"}); err == nil {
			t.Error("unknown grouping accepted")
		}
	})
}

func TestImpressions(t *testing.T) {
	cases := []struct {
		name         string
		job          JobInfo
		impr, sheets int64
	}{
		{"one-sided", JobInfo{Pages: 3, PagesKnown: true, Copies: 2, Sides: "one-sided"}, 6, 6},
		{"two-sided odd", JobInfo{Pages: 3, PagesKnown: true, Copies: 2, Sides: "two-sided-long-edge"}, 6, 4},
		{"two-sided even", JobInfo{Pages: 4, PagesKnown: true, Copies: 1, Sides: "two-sided-short-edge"}, 4, 2},
		{"no copies given", JobInfo{Pages: 7, PagesKnown: true}, 7, 7},
		{"unknown", JobInfo{Pages: 0, PagesKnown: false, Copies: 3}, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			impr, sheets := impressions(&c.job)
			if impr != c.impr || sheets != c.sheets {
				t.Errorf("impressions, sheets = %d, %d; want %d, %d", impr, sheets, c.impr, c.sheets)
			}
		})
	}
}

// FuzzCursor feeds History's cursor parser, whose input comes from
// clients: it must never panic, and what it accepts must round-trip.
func FuzzCursor(f *testing.F) {
	f.Add(encodeCursor(t0, 42))
	f.Add("")
	f.Add("MTIzLjQ1Ng")
	f.Fuzz(func(t *testing.T, c string) {
		at, id, err := decodeCursor(c)
		if err != nil {
			if !errors.Is(err, ErrBadCursor) {
				t.Fatalf("error %v is not ErrBadCursor", err)
			}
			return
		}
		at2, id2, err := decodeCursor(encodeCursor(at, id))
		if err != nil || !at2.Equal(at) || id2 != id {
			t.Fatalf("round trip of %q: %v %d %v", c, at2, id2, err)
		}
	})
}

func jobIDs(rs []JobRecord) []int64 {
	ids := make([]int64, len(rs))
	for i, r := range rs {
		ids[i] = r.JobID
	}
	return ids
}

package release

import (
	"fmt"
	"math/bits"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// heldJob is a held job of queue "q" with every field IPP shows set (a
// held job has no completion time, but a listing reads it all the same).
func heldJob(i int, at time.Time) Job {
	began, done := at.Add(time.Minute), at.Add(2*time.Minute)
	return Job{Queue: "q", Owner: fmt.Sprintf("user%d", i%50), Name: fmt.Sprintf("給与明細 %d", i),
		Format: "application/pdf", State: StateHeld, Reason: "job-hold-until-specified", Message: "Held for release.",
		Copies: 2, Sides: "two-sided-long-edge", ColorMode: "monochrome", Media: "iso_a4_210x297mm",
		HoldUntil: "indefinite", PageRanges: "1-3", Spool: fmt.Sprintf("doc%d", i), Size: 10240 + int64(i),
		Pages: 4, CreatedAt: at, UpdatedAt: at, ProcessedAt: &began, CompletedAt: &done}
}

// heldSince is when insertHeld's jobs were submitted.
func heldSince() time.Time { return time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC) }

// listingOptions are the options of a service that lists insertHeld's
// jobs: its clock a minute after them, so that its sweeper, which may
// run at any moment, does not find them expired.
func listingOptions() Options {
	return Options{Queues: []Queue{{Name: "q", Mode: Hold, TTL: time.Hour}},
		Now: func() time.Time { return heldSince().Add(time.Minute) }}
}

// insertHeld inserts n held jobs (heldJob) into db.
func insertHeld(tb testing.TB, db *database.DB, n int) {
	tb.Helper()
	at := heldSince()
	jobs := make([]Job, n)
	for i := range jobs {
		jobs[i] = heldJob(i, at.Add(time.Duration(i)*time.Second))
	}
	if err := db.CreateInBatches(jobs, 500).Error; err != nil {
		tb.Fatal(err)
	}
}

// TestJobsListFieldsAsked lists held jobs for each field alone, for none
// and for all: each listing fills the fields asked as the listing of
// every field does, and the listing of every field shows a job as loading
// it whole does.
func TestJobsListFieldsAsked(t *testing.T) {
	for name, db := range testDatabases(t) {
		t.Run(name, func(t *testing.T) {
			svc, _ := startService(t, db, listingOptions())
			insertHeld(t, db, 3)
			all := listIPP(t, svc, ipp.JobQuery{Queue: "q", Fields: ipp.AllFields})
			if len(all) != 3 {
				t.Fatalf("listed %d jobs; want 3", len(all))
			}
			for _, j := range all {
				whole, err := svc.load(t.Context(), "q", int64(j.ID))
				if err != nil {
					t.Fatal(err)
				}
				want := whole.IPP()
				want.HasPassword = false // no attribute shows it, so no listing reads it
				if !reflect.DeepEqual(j, want) {
					t.Errorf("job %d listed with every field as %+v; loaded whole %+v", j.ID, j, want)
				}
			}
			fields := []ipp.JobFields{0, ipp.AllFields}
			for f := ipp.JobFields(1); f < ipp.AllFields; f <<= 1 {
				fields = append(fields, f)
			}
			for _, f := range fields {
				got := listIPP(t, svc, ipp.JobQuery{Queue: "q", Fields: f})
				if len(got) != len(all) {
					t.Fatalf("fields %b: listed %d jobs; want %d", f, len(got), len(all))
				}
				for i := range got {
					if g, w := got[i].Only(f), all[i].Only(f); !reflect.DeepEqual(g, w) {
						t.Errorf("fields %b: job listed as %+v; want %+v", f, g, w)
					}
				}
				if n, want := len(newIPPListing(f).columns), 3+bits.OnesCount32(uint32(f)); n != want {
					t.Errorf("fields %b: the listing reads %d columns; want %d", f, n, want)
				}
			}
		})
	}
}

// TestJobsListOrder lists a queue of held and ended jobs as Get-Jobs
// asks: which jobs, in which order, a page at a time.
func TestJobsListOrder(t *testing.T) {
	for name, db := range testDatabases(t) {
		t.Run(name, func(t *testing.T) {
			svc, _ := startService(t, db, listingOptions())
			insertHeld(t, db, 5)
			ids := listIPP(t, svc, ipp.JobQuery{Queue: "q", Which: "all"})
			if err := db.Model(&Job{}).Where("id IN ?", []int{ids[1].ID, ids[3].ID}).
				Update("state", StateCompleted).Error; err != nil {
				t.Fatal(err)
			}
			id := func(i int) int { return ids[i].ID }
			for _, tc := range []struct {
				q    ipp.JobQuery
				want []int
			}{
				{ipp.JobQuery{}, []int{id(0), id(2), id(4)}},
				{ipp.JobQuery{Which: "all"}, []int{id(0), id(1), id(2), id(3), id(4)}},
				{ipp.JobQuery{Which: "completed"}, []int{id(3), id(1)}},
				{ipp.JobQuery{Limit: 2, After: id(0)}, []int{id(2), id(4)}},
				{ipp.JobQuery{Which: "all", Limit: 2, After: id(1)}, []int{id(2), id(3)}},
				{ipp.JobQuery{Which: "completed", Limit: 1}, []int{id(3)}},
				{ipp.JobQuery{Which: "completed", Limit: 1, After: id(3)}, []int{id(1)}},
				{ipp.JobQuery{Which: "all", IDs: []int{id(4), id(1)}}, []int{id(1), id(4)}},
				{ipp.JobQuery{User: "user2"}, []int{id(2)}},
			} {
				tc.q.Queue = "q"
				var got []int
				for _, j := range listIPP(t, svc, tc.q) {
					got = append(got, j.ID)
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("%+v listed %v; want %v", tc.q, got, tc.want)
				}
			}
		})
	}
}

// listIPP lists the jobs q selects.
func listIPP(t *testing.T, svc *Service, q ipp.JobQuery) []ipp.Job {
	t.Helper()
	var out []ipp.Job
	for j, err := range svc.IPP().Jobs(t.Context(), q) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, j)
	}
	return out
}

// testDatabases returns a migrated SQLite database and, where the tests
// have PostgreSQL, a PostgreSQL one.
func testDatabases(t *testing.T) map[string]*database.DB {
	return map[string]*database.DB{"sqlite": openSQLite(t), "postgres": openPostgres(t, testenv.Postgres(t))}
}

// BenchmarkJobsListing lists 10,000 held jobs of a queue on SQLite a
// page at a time, for every field and for what a job list on a panel asks
// (printgate-load's Get-Jobs).
func BenchmarkJobsListing(b *testing.B) {
	db := openMigrated(b, "", b.TempDir())
	svc, _ := startService(b, db, listingOptions())
	insertHeld(b, db, 10_000)
	for _, bc := range []struct {
		name   string
		fields ipp.JobFields
	}{
		{"all", ipp.AllFields},
		{"panel", ipp.FieldName | ipp.FieldState | ipp.FieldSize | ipp.FieldCreated},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				// A page at a time, as ipp.Server lists a queue.
				n, q := 0, ipp.JobQuery{Queue: "q", Fields: bc.fields, Limit: ipp.DefaultJobsPage}
				for paged := q.Limit; paged == q.Limit; {
					paged = 0
					for j, err := range svc.IPP().Jobs(b.Context(), q) {
						if err != nil {
							b.Fatal(err)
						}
						n, paged, q.After = n+1, paged+1, j.ID
					}
				}
				if n != 10_000 {
					b.Fatalf("listed %d jobs", n)
				}
			}
		})
	}
}

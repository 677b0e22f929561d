package release

import (
	"bytes"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release/convert"
)

func TestSearchingBegin(t *testing.T) {
	var s searching
	end, wait := s.begin(1)
	if end == nil || wait != nil {
		t.Fatal("first search of job 1 not begun")
	}
	end2, other := s.begin(1)
	if end2 != nil || other == nil {
		t.Fatal("a second search of job 1 begun while the first runs")
	}
	if end3, w := s.begin(2); end3 == nil || w != nil {
		t.Fatal("job 2's search waits for job 1's")
	} else {
		end3()
	}
	select {
	case <-other:
		t.Fatal("the wait ended before the search")
	default:
	}
	end()
	<-other
	if end, wait := s.begin(1); end == nil || wait != nil {
		t.Fatal("job 1 cannot be searched again after its search ended")
	}
}

// TestSearchOnce: the inspector gives way to a search of the same job
// running in this printgate; a user's search waits for it and then
// searches only if it recorded nothing; a job already searched is not
// searched again.
func TestSearchOnce(t *testing.T) {
	x := textExtractor(t)
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		svc := searchService(t, db, x, nil)
		j := pendingJob(t, svc, db)
		pending := func() bool {
			var n int64
			db.Model(&Job{}).Where("id = ? AND sensitive = ?", j.ID, sensitivePending).Count(&n)
			return n == 1
		}
		searches := func() int64 { return searchEvents(db, j.ID) }

		end, _ := svc.searching.begin(j.ID) // another search of it runs
		if svc.inspectPending(ctx); !pending() {
			t.Fatal("the inspector searched a job another search of which was running")
		}
		done := make(chan error, 1)
		go func() { done <- svc.inspectOwner(ctx, "hanako") }()
		select {
		case err := <-done:
			t.Fatalf("the owner's search returned (%v) while another search of the job ran", err)
		case <-time.After(200 * time.Millisecond):
		}
		end() // ... and recorded nothing: the owner's search does
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if pending() || searches() != 1 {
			t.Fatalf("after the owner's search: pending %v, %d search events; want searched once", pending(), searches())
		}

		// A job read while pending and searched since is not searched again.
		stale := Job{ID: j.ID, Queue: "payroll", Owner: "hanako", Format: "application/pdf", Sensitive: sensitivePending}
		if _, err := svc.searchOnce(ctx, &stale, false); err != nil {
			t.Fatal(err)
		}
		if n := searches(); n != 1 || stale.Sensitive != sensitivePending || stale.ContentColor != "" {
			t.Errorf("a searched job was searched again: %d search events, its copy now %q/%q", n,
				stale.Sensitive, stale.ContentColor)
		}
	})
}

// textExtractor is the extractor of the search tests: pdftotext and
// Ghostscript under prlimit.
func textExtractor(t *testing.T) *convert.TextExtractor {
	t.Helper()
	testenv.Tool(t, "pdftotext")
	testenv.Tool(t, "gs")
	testenv.Tool(t, "prlimit")
	x, err := convert.NewTextExtractor(convert.TextLimits())
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// searchService starts a service with a queue that searches for
// individual numbers (payroll) and one that does not (plain), on the
// clock now (nil: the wall clock).
func searchService(t *testing.T, db *database.DB, x *convert.TextExtractor, now func() time.Time) *Service {
	t.Helper()
	svc, _ := startService(t, db, Options{Now: now, Text: x, Queues: []Queue{
		{Name: "plain", Mode: Hold, MyNumber: MyNumberOff}, {Name: "payroll", Mode: Hold}}})
	return svc
}

// pendingJob returns a held job of svc's payroll queue waiting for its
// search, submitted to plain and moved, so that the inspector is not
// woken.
func pendingJob(t *testing.T, svc *Service, db *database.DB) Job {
	t.Helper()
	j, err := svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: "plain", User: "hanako", Name: "slip",
		Document: ipp.DocumentInfo{Name: "slip.pdf", Format: "application/pdf"}},
		bytes.NewReader(testdocs.PDF(1, "slip", testdocs.A4)))
	if err != nil {
		t.Fatal(err)
	}
	db.Model(&Job{}).Where("id = ?", j.ID).Updates(map[string]any{"queue": "payroll", "sensitive": sensitivePending})
	return Job{ID: int64(j.ID)}
}

// searchEvents counts the recorded searches of job id that found nothing.
func searchEvents(db *database.DB, id int64) int64 {
	var n int64
	db.Table("audit_events").Where("job_id = ? AND type = ?", id, audit.EventSensitiveContentAbsent).Count(&n)
	return n
}

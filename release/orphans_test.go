package release

import (
	"bytes"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// TestHoldOrphans: the sweeper holds again, as jobs that may have
// printed, the jobs this instance claimed that no delivery of this
// process follows once they have sat unchanged for orphanAfter, with an
// audit event; a job with a delivery behind it, another instance's claim
// and a claim of a moment ago stay as they are.
func TestHoldOrphans(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		svc, log, clock := transitionService(t, db, 0)
		ctx := t.Context()
		// claimedAt puts j's claim at the clock's now, by instance.
		claimedAt := func(j Job, instance string) {
			err := db.Model(&Job{}).Where("id = ?", j.ID).
				UpdateColumns(map[string]any{"updated_at": clock.Now(), "claimed_by": instance}).Error
			if err != nil {
				t.Fatal(err)
			}
		}
		type job struct {
			name     string
			job      Job
			orphaned bool
		}
		var jobs []*job
		add := func(name string, from State, instance string, orphaned bool) *job {
			j := jobIn(t, svc, qHold, from, true)
			claimedAt(j, instance)
			jobs = append(jobs, &job{name, j, orphaned})
			return jobs[len(jobs)-1]
		}
		add("releasing, nobody sending it", StateReleasing, svc.instance, true)
		add("printing, nobody following it", StatePrinting, svc.instance, true)
		followed := add("releasing, its delivery under way", StateReleasing, svc.instance, false)
		svc.delivering.add(followed.job.ID)
		add("another instance's claim", StateReleasing, "other-instance", false)
		clock.Advance(orphanAfter + time.Second)
		add("claimed a moment ago", StateReleasing, svc.instance, false)
		_, seq := eventTypes(t, log, 0, 0)

		if err := svc.SweepOnce(ctx); err != nil {
			t.Fatal(err)
		}
		check := func() {
			t.Helper()
			for _, j := range jobs {
				row, err := svc.load(ctx, qHold, j.job.ID)
				if err != nil {
					t.Fatal(err)
				}
				types, _ := eventTypes(t, log, j.job.ID, seq)
				switch {
				case j.orphaned && (row.State != StateHeld || row.Reason != ReasonMayHavePrinted || row.Message != orphanedMessage):
					t.Errorf("%s: %s (%s, %q), want held as may-have-printed", j.name, row.State, row.Reason, row.Message)
				case j.orphaned && !slices.Contains(types, audit.EventPrintFailed):
					t.Errorf("%s: audit events %v since the sweep, want a print-failed event", j.name, types)
				case !j.orphaned && (row.State != j.job.State || len(types) > 0):
					t.Errorf("%s: %s with events %v after the sweep, want it left %s", j.name, row.State, types, j.job.State)
				}
			}
		}
		check()

		// Once its delivery ends without moving it (its last move failed),
		// the followed job is an orphan too.
		svc.delivering.done(followed.job.ID)
		followed.orphaned = true
		if err := svc.SweepOnce(ctx); err != nil {
			t.Fatal(err)
		}
		check()
	})
}

// TestReleaseDeliversWhatItClaimed: a release of two jobs whose second
// claim fails (the database refuses it) answers without an error, the
// second job reported with the problem server-error, and the first job,
// already claimed, still prints rather than staying releasing with nobody
// sending it; the second stays held.
func TestReleaseDeliversWhatItClaimed(t *testing.T) {
	printer := testenv.IPPEvePrinter(t)
	db := openSQLite(t)
	// The fault: while armed, the second claim's update fails.
	var armed atomic.Bool
	var claims atomic.Int32
	err := db.Callback().Update().Before("gorm:update").Register("test:fail-second-claim", func(tx *gorm.DB) {
		if set, ok := tx.Statement.Dest.(map[string]any); ok && armed.Load() {
			if _, ok := set["claimed_by"]; ok && claims.Add(1) == 2 {
				tx.AddError(errors.New("injected: the database went away"))
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := startService(t, db, Options{Queues: []Queue{{Name: "secure", Mode: Hold,
		Formats: []string{"application/pdf"}, MaxSize: 1 << 20}}})
	var ids []int64
	for _, name := range []string{"payslip-1", "payslip-2"} {
		ij, err := svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: "secure", User: "hanako", Name: name,
			Copies: 1, Document: ipp.DocumentInfo{Format: "application/pdf"}},
			bytes.NewReader(testdocs.PDF(1, name, testdocs.A4)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, int64(ij.ID))
	}
	dev := Device{Name: "mfp", Printer: printer.URI, Queues: "secure", Methods: MethodCard, Enabled: true}
	armed.Store(true)
	out, err := svc.DeviceRelease().Release(t.Context(), Session{UserName: "hanako", Method: MethodCard}, dev,
		ReleaseRequest{IDs: ids})
	armed.Store(false)
	// The first job prints: the release says so, and reports the second.
	if err != nil || len(out) != 2 || out[0].State != StateReleasing || out[1].Problem != problemServerError {
		t.Fatalf("the release whose second claim failed = %+v, %v; want the first releasing, the second %s",
			out, err, problemServerError)
	}
	testenv.WaitFor(t, "the first job to print", func() bool {
		j, err := svc.load(t.Context(), "secure", ids[0])
		if err != nil {
			t.Fatal(err)
		}
		return j.State == StateCompleted
	})
	if j, _ := svc.load(t.Context(), "secure", ids[1]); j.State != StateHeld {
		t.Errorf("the job whose claim failed is %s, want held", j.State)
	}
	if n := len(printer.Files()); n != 1 {
		t.Errorf("the printer holds %d documents, want the first job's alone", n)
	}
}

// TestReleaseJobClaims: a direct queue's held job that another instance
// took in becomes this instance's claim when its owner releases it here
// (Release-Job), so that the other instance's sweeper does not take the
// job this one prints for an orphan.
func TestReleaseJobClaims(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		svc, _, _ := transitionService(t, db, 0)
		j := jobIn(t, svc, qDirect, StateHeld, true)
		if err := db.Model(&Job{}).Where("id = ?", j.ID).Update("claimed_by", "other-instance").Error; err != nil {
			t.Fatal(err)
		}
		if _, err := svc.IPP().ReleaseJob(t.Context(), ipp.JobTarget{Queue: qDirect, ID: int(j.ID), User: "hanako"}); err != nil {
			t.Fatal(err)
		}
		var row Job
		if err := db.Select("claimed_by").Take(&row, j.ID).Error; err != nil {
			t.Fatal(err)
		}
		if row.ClaimedBy != svc.instance {
			t.Errorf("released here, the job is claimed by %q, want this instance %q", row.ClaimedBy, svc.instance)
		}
	})
}

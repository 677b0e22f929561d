package release

import (
	"bytes"
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// TestNotRecordedMayHavePrinted: a printer takes a released job, and
// printgate then fails to record the printer's job (the database refuses
// the update). The job is held as one that may have printed, not as one
// that never printed: released again at a device without a confirmation
// it is refused and the printer gets nothing more; confirmed, it prints,
// and the audit event of that release records the confirmation.
func TestNotRecordedMayHavePrinted(t *testing.T) {
	printer := testenv.IPPEvePrinter(t)
	db := openSQLite(t)
	// The fault: while armed, the update that records the printer's job
	// fails, as a database that goes away right then would.
	var fail atomic.Bool
	err := db.Callback().Update().Before("gorm:update").Register("test:fail-printer-job", func(tx *gorm.DB) {
		if set, ok := tx.Statement.Dest.(map[string]any); ok && fail.Load() {
			if _, ok := set["printer_job_id"]; ok {
				tx.AddError(errors.New("injected: the database went away"))
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	svc, log := startService(t, db, Options{Queues: []Queue{{Name: "secure", Mode: Hold,
		Formats: []string{"application/pdf"}, MaxSize: 1 << 20}}})
	ij, err := svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: "secure", User: "hanako", Name: "payslip",
		Copies: 1, Document: ipp.DocumentInfo{Format: "application/pdf"}},
		bytes.NewReader(testdocs.PDF(1, "payslip", testdocs.A4)))
	if err != nil {
		t.Fatal(err)
	}
	id := int64(ij.ID)
	dev := Device{Name: "mfp", Printer: printer.URI, Queues: "secure", Methods: MethodCard, Enabled: true}
	sess := Session{UserName: "hanako", Method: MethodCard}
	release := func(req ReleaseRequest) Released {
		t.Helper()
		req.IDs = []int64{id}
		out, err := svc.DeviceRelease().Release(t.Context(), sess, dev, req)
		if err != nil || len(out) != 1 {
			t.Fatalf("Release = %v, %v", out, err)
		}
		return out[0]
	}
	waitFor := func(what string, want State) Job {
		t.Helper()
		var j Job
		testenv.WaitFor(t, what, func() bool {
			if j, err = svc.load(t.Context(), "secure", id); err != nil {
				t.Fatal(err)
			}
			return j.State == want
		})
		return j
	}

	fail.Store(true)
	if r := release(ReleaseRequest{}); r.Problem != "" {
		t.Fatalf("first release: %+v", r)
	}
	j := waitFor("the job back on hold", StateHeld)
	fail.Store(false)
	if j.Reason != ReasonMayHavePrinted {
		t.Errorf("held with reason %q (%s), want %q", j.Reason, j.Message, ReasonMayHavePrinted)
	}
	testenv.WaitFor(t, "the printer to keep the document", func() bool { return len(printer.Files()) == 1 })

	if r := release(ReleaseRequest{}); r.Problem != problemMayHavePrinted || r.State != StateHeld {
		t.Errorf("release without confirmation = %+v, want problem %q", r, problemMayHavePrinted)
	}
	if r := release(ReleaseRequest{All: true}); r.Problem != problemMayHavePrinted {
		t.Errorf("release of all without confirmation = %+v, want problem %q", r, problemMayHavePrinted)
	}
	if j, _ := svc.load(t.Context(), "secure", id); j.State != StateHeld {
		t.Fatalf("after releases without confirmation the job is %s", j.State)
	}

	if r := release(ReleaseRequest{ConfirmReprint: []int64{id}}); r.Problem != "" {
		t.Fatalf("confirmed release: %+v", r)
	}
	waitFor("the confirmed job to print", StateCompleted)
	if n := len(printer.Files()); n != 2 {
		t.Errorf("the printer holds %d documents, want 2: one per release that reached it", n)
	}
	events, err := log.Timeline(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	var confirmed []string
	for _, ev := range events {
		if v := ev.Details[detailReprintConfirmed]; v != "" {
			confirmed = append(confirmed, ev.Type+":"+v)
		}
	}
	if !slices.Equal(confirmed, []string{audit.EventReleaseAttempt + ":" + ReasonMayHavePrinted}) {
		t.Errorf("events recording the confirmation: %v; want the release attempt's", confirmed)
	}
}

// TestRecoveryMayHavePrinted: a job printgate was sending to a printer
// when it stopped is held at start-up as one that may have printed.
func TestRecoveryMayHavePrinted(t *testing.T) {
	onDisk := map[string]bool{"doc": true}
	for _, from := range []State{StateReleasing, StatePrinting} {
		to, reason, msg := recovery(Job{ID: 1, State: from, Spool: "doc"}, onDisk, nil, nil, false)
		if to != StateHeld || reason != ReasonMayHavePrinted || msg == "" {
			t.Errorf("a %s job at start-up goes to %s (%s: %q), want held as %s", from, to, reason, msg, ReasonMayHavePrinted)
		}
	}
}

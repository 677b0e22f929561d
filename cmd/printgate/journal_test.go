package main

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/testdocs"
)

// TestServeJournal runs printgate with its defaults on SQLite, which
// take the journal: the jobs go through it, are listed at once, and a
// clean stop leaves every one in the database with its events and no
// segment behind.
func TestServeJournal(t *testing.T) {
	cfg := newConfig(t, "")
	srv := startServer(t, cfg)
	uri := srv.PrinterURI("secure")
	ids := map[int]bool{}
	for i := range 3 {
		r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "alice", mimeVal("application/pdf")),
			testdocs.PDF(1, fmt.Sprint("journal ", i), testdocs.A4))
		if status(r) != goipp.StatusOk {
			t.Fatalf("Print-Job %d: %s", i, status(r))
		}
		ids[jobID(t, r)] = true
	}
	journal := filepath.Join(cfg.DataDir, "journal")
	if segs, _ := filepath.Glob(filepath.Join(journal, "*.seg")); len(segs) == 0 {
		t.Errorf("no segment in %s: the jobs did not go through the journal", journal)
	}
	r := ippDo(t, uri, ippRequest(goipp.OpGetJobs, uri, "alice"), nil)
	if got := len(jobGroups(r)); got != len(ids) {
		t.Errorf("Get-Jobs right after the submissions lists %d jobs, want %d", got, len(ids))
	}
	srv.Stop(t)
	if segs, _ := filepath.Glob(filepath.Join(journal, "*.seg")); len(segs) != 0 {
		t.Errorf("segments %v left after a clean stop", segs)
	}
	db := openTestDB(t, srv)
	for id := range ids {
		var jobs, events int64
		db.Raw(`SELECT count(*) FROM jobs WHERE id = ?`, id).Scan(&jobs)
		db.Raw(`SELECT count(*) FROM audit_events WHERE job_id = ? AND type = ?`, id, audit.EventSubmitted).Scan(&events)
		if jobs != 1 || events != 1 {
			t.Errorf("job %d: %d rows and %d submitted events, want 1 and 1", id, jobs, events)
		}
	}
}

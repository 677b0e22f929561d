package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// TestAuditFailClosed breaks the audit trail's table and checks that a
// submission is then refused with a server error and leaves no job and no
// spool file: no job is accepted without its record. It runs with the
// journal off; TestAuditFailClosedJournaled is the journal's.
func TestAuditFailClosed(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		cfg := newConfig(t, dbURL)
		cfg.Database.Journal = new(false)
		srv := startServer(t, cfg)
		db := openTestDB(t, srv)
		breakAudit(t, db)
		uri := srv.PrinterURI("secure")
		r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "alice", mimeVal("application/pdf")),
			testdocs.PDF(1, "fail closed", testdocs.A4))
		if status(r) != goipp.StatusErrorInternal {
			t.Errorf("Print-Job with a broken audit trail: %s, want server-error-internal-error", status(r))
		}
		checkNoJobs(t, db, srv, "after a refused submission")
	})
}

// TestAuditFailClosedJournaled is TestAuditFailClosed with the journal,
// the default. The first job after the break is acknowledged before
// the break can be known: it waits in the journal, sealed together with
// its events, and is never a job without them. Once its events fail to
// reach the chain, the next submission is refused and leaves nothing;
// once the trail is repaired, the first job becomes a job with its
// events, and only it.
func TestAuditFailClosedJournaled(t *testing.T) {
	forEachDB(t, testAuditFailClosedJournaled)
}

func testAuditFailClosedJournaled(t *testing.T, dbURL string) {
	srv := startServer(t, newConfig(t, dbURL))
	db := openTestDB(t, srv)
	repair := breakAudit(t, db)
	uri := srv.PrinterURI("secure")
	submit := func(name string) *goipp.Message {
		return ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "alice", mimeVal("application/pdf")),
			testdocs.PDF(1, name, testdocs.A4))
	}
	firstDoc := testdocs.PDF(1, "acknowledged into the journal", testdocs.A4)
	r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "alice", mimeVal("application/pdf")), firstDoc)
	if status(r) != goipp.StatusOk {
		t.Fatalf("first Print-Job after the break: %s, want successful-ok (into the journal)", status(r))
	}
	first := jobID(t, r)
	// Get-Jobs waits until the journal's records are written or cannot
	// be: by its answer, the applier has failed.
	if got := len(jobGroups(ippDo(t, uri, ippRequest(goipp.OpGetJobs, uri, "alice"), nil))); got != 0 {
		t.Errorf("Get-Jobs lists %d jobs while their events cannot be recorded, want 0", got)
	}
	if r := submit("refused"); status(r) != goipp.StatusErrorInternal {
		t.Errorf("Print-Job once the journal cannot be applied: %s, want server-error-internal-error", status(r))
	}
	// The acknowledged job's document may already be in a spool segment,
	// written ahead of its row, once: not again at each retry.
	checkNoJobs(t, db, srv, "while the audit trail is broken")
	var n, segments int64
	for _, f := range mustReadDir(srv.Config.spoolDir()) {
		if fi, err := os.Stat(filepath.Join(srv.Config.spoolDir(), f)); err == nil && strings.HasSuffix(f, ".seg") {
			segments += fi.Size()
		}
	}
	if segments > int64(len(firstDoc))+32 {
		t.Errorf("%d bytes of segments while the audit trail is broken; want at most the first job's %d sealed bytes",
			segments, len(firstDoc)+32)
	}
	repair()
	testenv.WaitFor(t, "the journaled job written once the trail is repaired", func() bool {
		db.Raw("SELECT count(*) FROM jobs").Scan(&n)
		return n > 0
	})
	var events int64
	db.Raw(`SELECT count(*) FROM jobs WHERE id = ?`, first).Scan(&n)
	db.Raw(`SELECT count(*) FROM audit_events WHERE job_id = ? AND type = ?`, first, audit.EventSubmitted).Scan(&events)
	if n != 1 || events != 1 {
		t.Errorf("job %d after the repair: %d rows and %d submitted events, want 1 and 1", first, n, events)
	}
	var all int64
	db.Raw("SELECT count(*) FROM jobs").Scan(&all)
	if all != 1 {
		t.Errorf("%d jobs after the repair, want only the acknowledged one", all)
	}
}

// checkNoJobs fails t if srv has any job row or keeps any document, when.
func checkNoJobs(t *testing.T, db *database.DB, srv *testServer, when string) {
	t.Helper()
	var n int64
	db.Raw("SELECT count(*) FROM jobs").Scan(&n)
	if n != 0 {
		t.Errorf("%d job rows %s, want 0", n, when)
	}
	if docs := documents(srv.Config); len(docs) != 0 {
		t.Errorf("documents %v kept %s", docs, when)
	}
}

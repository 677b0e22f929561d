package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
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

// TestBackupWaitsForJournal: a backup holds every job acknowledged before
// it began, even one the server still holds in its journal. Here the
// journal cannot be written to the database (a trigger refuses jobs): the
// backup refuses to be taken without the job, then, once the server has
// written it, is taken.
func TestBackupWaitsForJournal(t *testing.T) {
	srv := startServer(t, newConfig(t, ""))
	db, r := stuckInJournal(t, srv)
	archive := filepath.Join(t.TempDir(), "printgate.backup")
	out, err := tryCLI(t, srv.Config, backupPassphrase+"\n", "backup", archive)
	if err == nil || !strings.Contains(out+err.Error(), "not in the database") {
		t.Errorf("backup with a job only in the journal: %v\n%s\nwant a refusal that says the jobs are not in the database", err, out)
	}
	if _, err := os.Stat(archive); err == nil {
		t.Error("the refused backup left its archive")
	}
	if err := db.Exec(`DROP TRIGGER jobs_broken`).Error; err != nil {
		t.Fatal(err)
	}
	id := jobID(t, r)
	testenv.WaitFor(t, "the journaled job in the database", func() bool {
		var n int64
		db.Raw(`SELECT count(*) FROM jobs WHERE id = ?`, id).Scan(&n)
		return n == 1
	})
	runCLI(t, srv.Config, backupPassphrase+"\n", "backup", archive)
}

// TestServeRefusesLeftJournal: turned off while its folder holds jobs not
// yet in the database, the journal stops serve with a message that says
// what to do, instead of those jobs' documents being removed as orphans.
func TestServeRefusesLeftJournal(t *testing.T) {
	cfg := newConfig(t, "")
	srv := startServer(t, cfg)
	stuckInJournal(t, srv)
	srv.Stop(t)
	cfg.Database.Journal = new(false)
	var out bytes.Buffer
	a := &app{stdout: &out, stderr: &out, stdin: bytes.NewReader(nil)}
	cmd := a.command()
	cmd.SetArgs([]string{"serve", "--config", writeConfig(t, cfg)})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cmd.ExecuteContext(ctx); err == nil || !strings.Contains(err.Error(), "journal segments") {
		t.Errorf("serve without the journal, its folder holding a job: %v\n%s\nwant a refusal naming the journal's segments", err, out.String())
	}
}

// stuckInJournal has a trigger refuse every job row in srv's database,
// then submits one job: acknowledged into the journal, it cannot be
// written to the database until the trigger (jobs_broken) is dropped.
func stuckInJournal(t *testing.T, srv *testServer) (*database.DB, *goipp.Message) {
	t.Helper()
	db := openTestDB(t, srv)
	if err := db.Exec(`CREATE TRIGGER jobs_broken BEFORE INSERT ON jobs BEGIN SELECT RAISE(ABORT, 'jobs storage failed'); END`).Error; err != nil {
		t.Fatal(err)
	}
	uri := srv.PrinterURI("secure")
	r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "alice", mimeVal("application/pdf")), testdocs.PDF(1, "in the journal", testdocs.A4))
	if status(r) != goipp.StatusOk {
		t.Fatalf("Print-Job: %s", status(r))
	}
	return db, r
}

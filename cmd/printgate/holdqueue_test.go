package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/ipp"
)

// openTestDB opens the database of a running test server.
func openTestDB(t *testing.T, srv *testServer) *database.DB { return openTestDBTB(t, srv) }

func openTestDBTB(t testing.TB, srv *testServer) *database.DB {
	t.Helper()
	// What the test's clients heard of is what it reads.
	srv.settle(t)
	db, err := database.Open(context.Background(), srv.Config.Database.URL, srv.DataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// grepTree reports the files under dir that contain needle.
func grepTree(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, needle) {
			hits = append(hits, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

func TestHoldQueue(t *testing.T) {
	const marker = "PAYROLL-SLIP-7f3a9c"
	pdf := testdocs.PDF(1, marker, testdocs.A4)
	if !bytes.Contains(pdf, []byte(marker)) {
		t.Fatal("test PDF does not carry its marker in clear; the spool check below would prove nothing")
	}
	held := strconv.Itoa(int(ipp.JobHeld))
	forEachDB(t, func(t *testing.T, dbURL string) {
		srv := startServer(t, newConfig(t, dbURL))
		uri := srv.PrinterURI("secure")

		// Print-Job, with a job password.
		r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "alice", nameVal("job-name", "slip-1"),
			mimeVal("application/pdf"),
			goipp.MakeAttribute("job-password", goipp.TagString, goipp.Binary("4821"))), pdf)
		if status(r) != goipp.StatusOk {
			t.Fatalf("Print-Job: %s %s", status(r), attrValue(r.Operation, "status-message"))
		}
		printID := attrValue(r.Job, "job-id")
		if st := attrValue(r.Job, "job-state"); st != held {
			t.Errorf("Print-Job job-state = %s, want pending-held", st)
		}

		// Create-Job then Send-Document.
		r = ippDo(t, uri, ippRequest(goipp.OpCreateJob, uri, "alice", nameVal("job-name", "slip-2")), nil)
		if status(r) != goipp.StatusOk {
			t.Fatalf("Create-Job: %s", status(r))
		}
		createID, _ := strconv.Atoi(attrValue(r.Job, "job-id"))
		r = ippDo(t, uri, ippRequest(goipp.OpSendDocument, uri, "alice", intVal("job-id", createID),
			mimeVal("application/pdf"), boolVal("last-document", true)), pdf)
		if status(r) != goipp.StatusOk {
			t.Fatalf("Send-Document: %s %s", status(r), attrValue(r.Operation, "status-message"))
		}

		// Both held, both listed, with the right reason.
		r = ippDo(t, uri, ippRequest(goipp.OpGetJobs, uri, "alice",
			keywordVal("requested-attributes", "job-id", "job-state", "job-state-reasons", "job-originating-user-name")), nil)
		jobs := jobGroups(r)
		if len(jobs) != 2 {
			t.Fatalf("Get-Jobs: %d jobs, want 2", len(jobs))
		}
		for _, j := range jobs {
			if st := attrValue(j, "job-state"); st != held {
				t.Errorf("job %s state %s, want pending-held", attrValue(j, "job-id"), st)
			}
			if reason := attrValue(j, "job-state-reasons"); reason != "job-hold-until-specified" {
				t.Errorf("job %s reason %s", attrValue(j, "job-id"), reason)
			}
			if owner := attrValue(j, "job-originating-user-name"); owner != "alice" {
				t.Errorf("job owner %q, want alice", owner)
			}
		}

		// Release-Job from a desk is refused: release happens at the printer.
		r = ippDo(t, uri, ippRequest(goipp.OpReleaseJob, uri, "alice", intVal("job-id", createID)), nil)
		if status(r) != goipp.StatusErrorNotAuthorized || !strings.Contains(attrValue(r.Operation, "status-message"), "printer") {
			t.Errorf("Release-Job: %s %q, want client-error-not-authorized telling to release at the printer",
				status(r), attrValue(r.Operation, "status-message"))
		}

		// Nothing readable under the data dir: not the text, not the password.
		if hits := grepTree(t, srv.DataDir, []byte(marker)); len(hits) > 0 {
			t.Errorf("document text found in clear in %v", hits)
		}
		db := openTestDB(t, srv)
		var hash string
		if err := db.Raw("SELECT password_hash FROM jobs WHERE id = ?", printID).Scan(&hash).Error; err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(hash, "$argon2id-hmac-sha256$") || strings.Contains(hash, "4821") {
			t.Errorf("job password stored as %q, want an argon2id hash", hash)
		}
		var pages int
		db.Raw("SELECT pages FROM jobs WHERE id = ?", printID).Scan(&pages)
		if pages != 1 {
			t.Errorf("job pages = %d, want 1 (counted from the document)", pages)
		}

		// Cancel-Job cancels and destroys the document.
		r = ippDo(t, uri, ippRequest(goipp.OpCancelJob, uri, "alice", intVal("job-id", createID)), nil)
		if status(r) != goipp.StatusOk {
			t.Fatalf("Cancel-Job: %s", status(r))
		}
		r = ippDo(t, uri, ippRequest(goipp.OpGetJobAttributes, uri, "alice", intVal("job-id", createID)), nil)
		if st := attrValue(r.Job, "job-state"); st != strconv.Itoa(int(ipp.JobCanceled)) {
			t.Errorf("canceled job state %s", st)
		}
		var spoolName string
		var key []byte
		db.Raw("SELECT spool, k.wrapped_key FROM jobs LEFT JOIN job_keys k ON k.job_id = jobs.id WHERE id = ?", createID).Row().Scan(&spoolName, &key)
		if spoolName != "" || len(key) != 0 {
			t.Errorf("canceled job still has spool %q and a key of %d bytes", spoolName, len(key))
		}
		if docs := documents(srv.Config); len(docs) != 1 {
			t.Errorf("documents kept: %v, want 1 (the job still held)", docs)
		}
	})
}

// mustReadDir lists the names in dir, or nothing if it cannot be read.
func mustReadDir(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

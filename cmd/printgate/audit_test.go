package main

import (
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testdocs"
)

// TestAuditFailClosed breaks the audit trail's table and checks that a
// submission is then refused with a server error and leaves no job and no
// spool file: no job is accepted without its record.
func TestAuditFailClosed(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		srv := startServer(t, newConfig(t, dbURL))
		db := openTestDB(t, srv)
		breakAudit(t, db)
		uri := srv.PrinterURI("secure")
		r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "alice", mimeVal("application/pdf")),
			testdocs.PDF(1, "fail closed", testdocs.A4))
		if status(r) != goipp.StatusErrorInternal {
			t.Errorf("Print-Job with a broken audit trail: %s, want server-error-internal-error", status(r))
		}
		var n int64
		db.Raw("SELECT count(*) FROM jobs").Scan(&n)
		if n != 0 {
			t.Errorf("%d job rows after a refused submission", n)
		}
		if docs := documents(srv.Config); len(docs) != 0 {
			t.Errorf("documents %v kept after a refused submission", docs)
		}
	})
}

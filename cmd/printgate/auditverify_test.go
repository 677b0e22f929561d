package main

import (
	"strings"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testdocs"
)

// TestAuditVerifyCommand tampers with the trail as an attacker with full
// database access would, and checks that "printgate audit verify" fails
// and names the first bad sequence.
func TestAuditVerifyCommand(t *testing.T) {
	cases := []struct {
		name  string
		stmts []string
		want  string
	}{
		{"untouched", nil, "OK: "},
		{"one field changed", []string{`UPDATE audit_events SET reason = 'fine' WHERE seq = 5`}, "BROKEN at sequence 5"},
		{"one event deleted", []string{`DELETE FROM audit_events WHERE seq = 4`}, "BROKEN at sequence 4"},
		{"two events swapped", []string{
			`UPDATE audit_events SET seq = -1 WHERE seq = 3`,
			`UPDATE audit_events SET seq = 3 WHERE seq = 6`,
			`UPDATE audit_events SET seq = 6 WHERE seq = -1`,
		}, "BROKEN at sequence 3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDB(t, func(t *testing.T, dbURL string) {
				cfg := newConfig(t, dbURL)
				srv := startServer(t, cfg)
				uri := srv.PrinterURI("secure")
				for range 4 {
					r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "alice", mimeVal("application/pdf")),
						testdocs.PDF(1, "verify", testdocs.A4))
					if status(r) != goipp.StatusOk {
						t.Fatalf("Print-Job: %s", status(r))
					}
				}
				srv.Stop(t)
				st := openStackT(t, cfg)
				for _, s := range tc.stmts {
					for _, q := range tamperStatements(st.db.Dialect, s) {
						if err := st.db.Exec(q).Error; err != nil {
							t.Fatalf("%s: %v", q, err)
						}
					}
				}
				out, err := tryCLI(t, cfg, "", "audit", "verify")
				if !strings.Contains(out, tc.want) || (err == nil) != (tc.stmts == nil) {
					t.Errorf("audit verify: err %v\n%s\nwant %q", err, out, tc.want)
				}
			})
		})
	}
}

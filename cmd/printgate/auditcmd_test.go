package main

import (
	"encoding/csv"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/release"
)

// TestAuditConcurrentChain: 8 clients submit 500 jobs in all; the chain
// then verifies with 500 submitted events. Then a user's export
// round-trips through a CSV reader with Japanese names intact, and a
// changed event makes "audit verify" fail naming its sequence.
func TestAuditConcurrentChain(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		cfg := newConfig(t, dbURL)
		cfg.Log.Level = "warn"
		// Not searched for individual numbers: a searching queue records
		// the names keyed until the search, which the load leaves no
		// time for, and this test reads them in the submitted events.
		cfg.Queues[0].MyNumber = release.MyNumberOff
		if err := cfg.validate(); err != nil {
			t.Fatal(err)
		}
		srv := startServer(t, cfg)
		uri := srv.PrinterURI("secure")
		pdf := testdocs.PDF(1, "concurrent", testdocs.A4)
		const clients, total = 8, 500
		var wg sync.WaitGroup
		for c := range clients {
			wg.Go(func() {
				for i := c; i < total; i += clients {
					user := fmt.Sprintf("user%d", c)
					name := fmt.Sprintf("給与明細 2026年11月 %03d.pdf", i)
					r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, user, nameVal("job-name", name),
						nameVal("document-name", name), mimeVal("application/pdf")), pdf)
					if status(r) != goipp.StatusOk {
						t.Errorf("Print-Job %d: %s", i, status(r))
						return
					}
				}
			})
		}
		wg.Wait()
		srv.Stop(t)

		out := runCLI(t, cfg, "", "audit", "verify")
		if !strings.HasPrefix(out, "OK: ") {
			t.Fatalf("audit verify: %s", out)
		}
		csvOut := runCLI(t, cfg, "", "audit", "export", "--format", "csv", "--user", "user3")
		if !strings.HasPrefix(csvOut, "\ufeff") {
			t.Error("CSV has no UTF-8 BOM; Excel would garble Japanese")
		}
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(csvOut, "\ufeff"))).ReadAll()
		if err != nil {
			t.Fatalf("CSV does not parse: %v", err)
		}
		submitted, names := 0, 0
		for _, row := range rows[1:] {
			line := strings.Join(row, "\t")
			if strings.Contains(line, "submitted") {
				submitted++
			}
			if strings.Contains(line, "給与明細 2026年11月") {
				names++
			}
		}
		if submitted != total/clients+1 && submitted != total/clients {
			t.Errorf("user3's export has %d submitted events, want %d", submitted, total/clients)
		}
		if names < submitted {
			t.Errorf("Japanese document names intact in %d of %d submitted rows", names, submitted)
		}
		all := runCLI(t, cfg, "", "audit", "export", "--format", "jsonl")
		if n := strings.Count(all, `"type":"submitted"`); n != total {
			t.Errorf("%d submitted events in the whole trail, want %d", n, total)
		}

		st := openStackT(t, cfg)
		tamper := tamperStatements(st.db.Dialect, "UPDATE audit_events SET owner = 'mallory' WHERE seq = 42")
		for _, s := range tamper {
			if err := st.db.Exec(s).Error; err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
		out, err = tryCLI(t, cfg, "", "audit", "verify")
		if err == nil || !strings.Contains(out, "BROKEN at sequence 42") {
			t.Errorf("verify after changing event 42: err %v\n%s", err, out)
		}
	})
}

// tamperStatements wraps stmt so it gets past the append-only triggers,
// as an attacker with full control of the database could.
func tamperStatements(dialect any, stmt string) []string {
	if fmt.Sprint(dialect) == "postgres" {
		return []string{`ALTER TABLE audit_events DISABLE TRIGGER ALL`, stmt, `ALTER TABLE audit_events ENABLE TRIGGER ALL`}
	}
	return []string{`DROP TRIGGER IF EXISTS audit_events_no_update`, `DROP TRIGGER IF EXISTS audit_events_no_delete`, stmt}
}

func openStackT(t *testing.T, cfg Config) *stack {
	st, err := openStack(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

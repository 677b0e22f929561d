package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// TestCUPSClientQueue adds printgate to a real CUPS scheduler the way an
// administrator would (lpadmin -m everywhere), prints with lp and finds
// the job held in printgate under the name of the user who printed.
func TestCUPSClientQueue(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		srv := startServer(t, newConfig(t, dbURL))
		cups := testenv.CUPS(t)
		cups.AddEverywhereQueue(t, "pg", srv.PrinterURI("secure"))
		doc := filepath.Join(t.TempDir(), "slip.pdf")
		if err := os.WriteFile(doc, testdocs.PDF(2, "cups client test", testdocs.A4), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := cups.Run(t, "lp", "-U", "hanako", "-d", "pg", "-t", "給与明細", doc); err != nil {
			t.Fatalf("lp: %v\n%s", err, out)
		}
		db := openTestDB(t, srv)
		deadline := time.Now().Add(60 * time.Second)
		for {
			var jobs []struct {
				Owner string
				State string
				Size  int64
			}
			if err := db.Raw("SELECT owner, state, size FROM jobs").Scan(&jobs).Error; err != nil {
				t.Fatal(err)
			}
			if len(jobs) == 1 && jobs[0].State == "pending-held" {
				if jobs[0].Owner != "hanako" {
					t.Errorf("job owner %q, want hanako (the user who ran lp)", jobs[0].Owner)
				}
				if jobs[0].Size == 0 {
					t.Error("held job has no document")
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no held job after 60 s: %+v\ncupsd log:\n%s\nprintgate log:\n%s", jobs, cups.ErrorLog(), srv.Log)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}

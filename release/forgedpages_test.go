package release

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// TestForgedPageTree submits PDFs whose objects, read in file order, hold
// a one-page decoy page tree while the cross-reference table (which
// printers follow) names a ten-page one: hidden in a comment, inside a
// stream's data, or replaced by an update the table does not list. The
// record must say ten pages, whether the document is kept in the
// database or in a spool file; a one-pass count in file order says one.
func TestForgedPageTree(t *testing.T) {
	fixtures, err := filepath.Glob("testdata/forged/*.pdf")
	if err != nil || len(fixtures) != 3 {
		t.Fatalf("fixtures %v, %v", fixtures, err)
	}
	for _, where := range []struct {
		name  string
		small int
	}{{"in the database", 0}, {"in a file", 256}} {
		t.Run(where.name, func(t *testing.T) {
			testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
				svc := forgedService(t, db, where.small)
				for _, f := range fixtures {
					doc, err := os.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					j, err := svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: "q", User: "hanako",
						Name: f, Document: ipp.DocumentInfo{Format: "application/pdf"}}, bytes.NewReader(doc))
					if err != nil {
						t.Fatalf("%s: %v", f, err)
					}
					var got Job
					if err := db.First(&got, j.ID).Error; err != nil {
						t.Fatal(err)
					}
					if got.Pages != 10 || got.DocInDB != (where.small == 0) {
						t.Errorf("%s: recorded %d pages (%q), in the database %v; want 10", filepath.Base(f),
							got.Pages, got.PagesReason, got.DocInDB)
					}
				}
			})
		})
	}
}

// forgedService returns a started Service with one hold queue, "q", that
// keeps documents of up to small bytes in the database (0: the default).
func forgedService(t *testing.T, db *database.DB, small int) *Service {
	t.Helper()
	svc, _ := startService(t, db, Options{SmallDocument: small, Queues: []Queue{{Name: "q", Mode: Hold}}})
	return svc
}

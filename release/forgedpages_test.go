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

// TestForgedPageTree submits PDFs crafted to be recorded with fewer pages
// than a printer prints. In three, the objects read in file order hold a
// one-page decoy page tree while the cross-reference table (which
// printers follow) names a ten-page one: hidden in a comment, inside a
// stream's data, or replaced by an update the table does not list; a
// one-pass count in file order says one. In another, nine of ten pages
// carry an empty /Kids, which once hid them from the count. The record
// must say ten pages, whether the document is kept in the database or in
// a spool file. In the last, nine of the ten pages are typed /Pages and
// have no /Kids, on which readers disagree (Ghostscript prints one page,
// poppler and qpdf ten): its count is recorded as unknown, never as one.
func TestForgedPageTree(t *testing.T) {
	want := map[string]int{ // -1: unknown
		"page-tree-in-comment.pdf": 10, "page-tree-in-stream.pdf": 10, "page-tree-in-update.pdf": 10,
		"page-with-empty-kids.pdf": 10, "pages-without-kids.pdf": -1,
	}
	fixtures, err := filepath.Glob("testdata/forged/*.pdf")
	if err != nil || len(fixtures) != len(want) {
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
					w := want[filepath.Base(f)]
					known := got.PagesReason == ""
					if w >= 0 && (got.Pages != w || !known) || w < 0 && known || got.DocInDB != (where.small == 0) {
						t.Errorf("%s: recorded %d pages (%q), in the database %v; want %d (-1: unknown)", filepath.Base(f),
							got.Pages, got.PagesReason, got.DocInDB, w)
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

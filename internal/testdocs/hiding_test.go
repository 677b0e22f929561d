package testdocs

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/printgate/printgate/internal/testenv"
)

// gsPages returns the pages Ghostscript prints of the document at path.
func gsPages(t *testing.T, path string) int {
	t.Helper()
	gs := testenv.Tool(t, "gs")
	out, err := exec.Command(gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=bbox", path).CombinedOutput()
	if err != nil {
		t.Fatalf("gs: %v\n%s", err, out)
	}
	return strings.Count(string(out), "%%BoundingBox:")
}

// TestForgedCountPDF: poppler shows the pages /Count says, Ghostscript
// prints every page of the tree.
func TestForgedCountPDF(t *testing.T) {
	pdftotext := testenv.Tool(t, "pdftotext")
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, ForgedCountPDF(1, "cover", "hidden page"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(pdftotext, "-q", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	if bytes.Count(out, []byte("\f")) != 1 || !bytes.Contains(out, []byte("cover")) || bytes.Contains(out, []byte("hidden")) {
		t.Errorf("pdftotext read %q, want the first page only", out)
	}
	if n := gsPages(t, path); n != 2 {
		t.Errorf("Ghostscript printed %d pages, want 2", n)
	}
}

// TestPSDocument: the DSC comments declare what they are told to,
// Ghostscript prints every page, and text extraction reads the text but
// not the outlines.
func TestPSDocument(t *testing.T) {
	for _, tc := range []struct {
		dsc      int
		header   string
		markers  int
		pages    int
		text     string
		outlined string
	}{
		{-1, "%!PS\n", 0, 2, "on page one", "OUTLINED"},
		{1, "%!PS-Adobe-3.0\n%%Pages: 1\n", 1, 3, "on page one", "OUTLINED"},
		{3, "%!PS-Adobe-3.0\n%%Pages: 3\n", 3, 3, "on page one", "OUTLINED"},
	} {
		t.Run(fmt.Sprint(tc.dsc), func(t *testing.T) {
			pages := make([]PSPage, tc.pages)
			pages[0].Text, pages[tc.pages-1].Outline = tc.text, tc.outlined
			doc := PSDocument(tc.dsc, "", pages...)
			if !bytes.HasPrefix(doc, []byte(tc.header)) || bytes.Count(doc, []byte("\n%%Page: ")) != tc.markers {
				t.Errorf("DSC comments of %q: want %q and %d %%%%Page: comments", doc, tc.header, tc.markers)
			}
			path := filepath.Join(t.TempDir(), "doc.ps")
			if err := os.WriteFile(path, doc, 0o600); err != nil {
				t.Fatal(err)
			}
			if n := gsPages(t, path); n != tc.pages {
				t.Errorf("Ghostscript printed %d pages, want %d", n, tc.pages)
			}
			out, err := exec.Command(testenv.Tool(t, "gs"), "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=txtwrite",
				"-sOutputFile=-", path).Output()
			if err != nil {
				t.Fatalf("gs: %v", err)
			}
			if !strings.Contains(string(out), tc.text) || strings.Contains(string(out), tc.outlined) {
				t.Errorf("text %q: want %q, not %q", out, tc.text, tc.outlined)
			}
		})
	}
}

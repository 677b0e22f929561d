package testdocs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ScannedPDF returns a PDF of the pages of JapanesePDF(fontFile, dir,
// pages) that holds only images of them, at 200 dpi, as a scanner makes:
// no text for an extractor, only for OCR. It needs Ghostscript (its
// pdfimage24 device).
func ScannedPDF(fontFile, dir string, pages []string) ([]byte, error) {
	gs, err := exec.LookPath("gs")
	if err != nil {
		return nil, fmt.Errorf("testdocs: scanned PDF: %w", err)
	}
	text, err := JapanesePDF(fontFile, dir, pages)
	if err != nil {
		return nil, err
	}
	in, out := filepath.Join(dir, "text.pdf"), filepath.Join(dir, "scanned.pdf")
	if err := os.WriteFile(in, text, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfimage24", "-r200",
		"-sOutputFile="+out, in)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("testdocs: gs pdfimage24: %w: %s", err, b)
	}
	return os.ReadFile(out)
}

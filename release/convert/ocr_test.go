package convert

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/printgate/printgate/audit/mynumber"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// TestOCRImageOnlyPDF: a PDF holding only images of its pages (a wrong
// check digit on page 1, a valid number on page 2, nothing on page 3)
// has no text for pdftotext; OCR in the sandbox reads the valid number
// on page 2 and nothing else.
func TestOCRImageOnlyPDF(t *testing.T) {
	testenv.Tool(t, "tesseract")
	x := newTextExtractor(t, TextLimits())
	if !x.ReadsImages() {
		t.Fatal("tesseract is installed, but not its Japanese data (tesseract-ocr-jpn)")
	}
	testenv.Tool(t, "gs")
	doc, err := testdocs.ScannedPDF(testdocs.IPAGothic, t.TempDir(), []string{"誤り 1234 5678 9019", "個人番号 1234 5678 9018", "会議の資料"})
	if err != nil {
		t.Fatal(err)
	}

	var text bytes.Buffer
	if err := x.Text(context.Background(), bytes.NewReader(doc), PDF, &text); err != nil {
		t.Fatal(err)
	}
	if len(bytes.TrimSpace(text.Bytes())) != 0 {
		t.Fatalf("the image-only PDF has text %q: the test proves nothing", text.Bytes())
	}
	sc := mynumber.Scanner{FirstPage: 1}
	if err := x.OCR(context.Background(), bytes.NewReader(doc), PDF, &sc); err != nil {
		t.Fatal(err)
	}
	if f := sc.Finding(); f.Count != 1 || !slices.Equal(f.Pages, []int{2}) {
		t.Errorf("OCR found %d numbers on pages %v, want 1 on page 2", f.Count, f.Pages)
	}
}

// TestOCRTooManyPages: a document with more pages than OCR reads is
// ErrTooManyPages, none of its pages read, however it marks or declares
// them; one with as many is read.
func TestOCRTooManyPages(t *testing.T) {
	testenv.Tool(t, "tesseract")
	x := newTextExtractor(t, TextLimits())
	if !x.ReadsImages() {
		t.Fatal("tesseract is installed, but not its Japanese data (tesseract-ocr-jpn)")
	}
	pages := func(n int) []byte {
		ps := make([]testdocs.PSPage, n)
		ps[n-1].Outline = "1234 5678 9018"
		return testdocs.PSDocument(1, "", ps...)
	}
	var text bytes.Buffer
	if err := x.OCR(context.Background(), bytes.NewReader(pages(OCRPages+1)), PostScript, &text); !errors.Is(err, ErrTooManyPages) || text.Len() != 0 {
		t.Errorf("%d pages: %v, text %q; want ErrTooManyPages and none", OCRPages+1, err, text.Bytes())
	}
	sc := mynumber.Scanner{FirstPage: 1}
	if err := x.OCR(context.Background(), bytes.NewReader(pages(2)), PostScript, &sc); err != nil {
		t.Fatal(err)
	}
	if f := sc.Finding(); f.Count != 1 || !slices.Equal(f.Pages, []int{2}) {
		t.Errorf("OCR of 2 pages found %d numbers on pages %v, want 1 on page 2", f.Count, f.Pages)
	}
}

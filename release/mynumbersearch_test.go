package release

import (
	"bytes"
	"log/slog"
	"slices"
	"testing"

	"github.com/printgate/printgate/audit/mynumber"
	"github.com/printgate/printgate/audit/pages"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/release/convert"
)

// searchCase is a document inspect searches, and what it should record.
type searchCase struct {
	name   string
	format string
	doc    []byte
	ranges string // the job's page-ranges
	// unknown makes the job's page count unknown, as for a PDF printgate
	// could not count.
	unknown   bool
	sensitive string
	check     string // the job's my-number-check; "" when searched
	count     int
	pages     []int
	ocr       bool // needs OCR installed
}

// runSearch searches each case's document as a submission does: its
// pages counted first (setPages), then inspect.
func runSearch(t *testing.T, x *convert.TextExtractor, cases []searchCase) {
	t.Helper()
	s := &Service{log: slog.New(slog.DiscardHandler), counting: make(chan struct{}, 1)}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.ocr && !x.ReadsImages() {
				t.Skip("OCR (tesseract-ocr, tesseract-ocr-jpn) is not installed")
			}
			j := &Job{Format: tc.format, PageRanges: tc.ranges}
			res, err := pages.Count(t.Context(), tc.format, bytes.NewReader(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			setPages(j, res.Pages, res.Known, res.Reason)
			if tc.unknown {
				setPages(j, 0, false, "pdf: test")
			}
			s.inspect(t.Context(), x, Queue{Name: "payroll"}, j, bytes.NewReader(tc.doc))
			if j.Sensitive != tc.sensitive || j.sensitiveCheck != tc.check || j.sensitiveCount != tc.count ||
				!slices.Equal(j.sensitivePages, tc.pages) {
				t.Errorf("recorded %q, check %q, %d on pages %v; want %q, check %q, %d on pages %v",
					j.Sensitive, j.sensitiveCheck, j.sensitiveCount, j.sensitivePages,
					tc.sensitive, tc.check, tc.count, tc.pages)
			}
		})
	}
}

// TestInspectSeesEveryPage: a document whose pages the text extraction
// does not see as printgate counts them is uncheckable, never clean: a
// PDF whose /Count hides a page from poppler (with page-ranges too,
// which the job's page count reflects), a PDF printgate could not count,
// and a PostScript program that keeps its pages from being marked. Documents read whole are searched as
// before, and a number that pdftotext's reading order parts (digits
// spaced by ideographic spaces) is found in its second reading (-raw).
func TestInspectSeesEveryPage(t *testing.T) {
	x := textExtractor(t)
	japanese, err := testdocs.JapanesePDF(testdocs.IPAGothic, t.TempDir(), []string{"個人番号：1234\u30005678\u30009018\n氏名：山田太郎"})
	if err != nil {
		t.Fatal(err)
	}
	scanned, err := testdocs.ScannedPDF(testdocs.IPAGothic, t.TempDir(), []string{"会議の資料", "個人番号 1234 5678 9018"})
	if err != nil {
		t.Fatal(err)
	}
	hideMarks := "<< /EndPage { exch pop 2 ne } bind >> setpagedevice"
	runSearch(t, x, []searchCase{
		{name: "PDF, /Count hides the page with a number", format: convert.PDF,
			doc:       testdocs.ForgedCountPDF(1, "Cover letter", "Individual number 123456789018"),
			sensitive: SensitiveMyNumber, check: "page-mismatch"},
		{name: "PDF, /Count hides a page, page-ranges", format: convert.PDF, ranges: "1",
			doc:       testdocs.ForgedCountPDF(1, "Cover letter", "Individual number 123456789018"),
			sensitive: SensitiveMyNumber, check: "page-mismatch"},
		{name: "PDF, /Count hides a page, page-ranges 1-2", format: convert.PDF, ranges: "1-2",
			doc:       testdocs.ForgedCountPDF(2, "Cover letter", "Menu", "Individual number 123456789018"),
			sensitive: SensitiveMyNumber, check: "page-mismatch"},
		{name: "PDF, pages not counted", format: convert.PDF, unknown: true,
			doc:       testdocs.ForgedCountPDF(2, "Cover letter", "Menu"),
			sensitive: SensitiveMyNumber, check: "pages-unknown"},
		{name: "PDF, every page seen, none", format: convert.PDF,
			doc: testdocs.ForgedCountPDF(2, "Cover letter", "Menu 03-1234-5678")},
		{name: "PDF, every page seen, page-ranges", format: convert.PDF, ranges: "2",
			doc: testdocs.ForgedCountPDF(2, "Cover letter", "Menu")},
		{name: "PDF, every page seen, a number on page 2", format: convert.PDF,
			doc:       testdocs.ForgedCountPDF(2, "Cover letter", "Individual number 123456789018"),
			sensitive: SensitiveMyNumber, count: 1, pages: []int{2}},
		{name: "PDF, digits spaced by ideographic spaces", format: convert.PDF, doc: japanese,
			sensitive: SensitiveMyNumber, count: 1, pages: []int{1}},
		{name: "PDF, scanned, a number on page 2", format: convert.PDF, doc: scanned, ocr: true,
			sensitive: SensitiveMyNumber, count: 1, pages: []int{2}},
		{name: "PostScript that hides its page marks", format: convert.PostScript,
			doc:       testdocs.PSDocument(2, hideMarks, testdocs.PSPage{Text: "Cover"}, testdocs.PSPage{Text: "Menu"}),
			sensitive: SensitiveMyNumber, check: "page-mismatch"},
		{name: "PostScript that hides its page marks, no text", format: convert.PostScript,
			doc:       testdocs.PSDocument(2, hideMarks, testdocs.PSPage{}, testdocs.PSPage{Outline: "1234 5678 9018"}),
			sensitive: SensitiveMyNumber, check: "page-mismatch"},
		{name: "PostScript, nine pages of text", format: convert.PostScript,
			doc: testdocs.DSC(9, "annual report", testdocs.A4)},
		{name: "PostScript without DSC, text on each page", format: convert.PostScript,
			doc: testdocs.PSDocument(-1, "", testdocs.PSPage{Text: "Cover"}, testdocs.PSPage{Text: "Menu"})},
	})
}

// TestInspectPostScriptOCR: a PostScript document OCR is to read is
// uncheckable when its pages may be more than OCR reads (no DSC count,
// a DSC count that lies, a program that hides its page marks) or when it
// has text on some pages and none on others; one that OCR reads whole is
// read.
func TestInspectPostScriptOCR(t *testing.T) {
	x := textExtractor(t)
	blank := testdocs.PSPage{}
	outlined := func(dsc int, setup string, n int) []byte {
		ps := make([]testdocs.PSPage, n)
		ps[n-1].Outline = "1234 5678 9018"
		return testdocs.PSDocument(dsc, setup, ps...)
	}
	runSearch(t, x, []searchCase{
		{name: "no DSC, the number outlined on page 10", format: convert.PostScript, doc: outlined(-1, "", 10),
			sensitive: SensitiveMyNumber, check: "ocr-pages"},
		{name: "DSC declares 2 of 10 pages", format: convert.PostScript, doc: outlined(2, "", 10),
			sensitive: SensitiveMyNumber, check: "ocr-pages"},
		{name: "DSC declares 10 pages", format: convert.PostScript, doc: outlined(10, "", 10),
			sensitive: SensitiveMyNumber, check: "ocr-pages"},
		{name: "text, then the number outlined on page 2", format: convert.PostScript,
			doc:       testdocs.PSDocument(2, "", testdocs.PSPage{Text: "Copy of My Number card attached"}, testdocs.PSPage{Outline: "1234 5678 9018"}),
			sensitive: SensitiveMyNumber, check: "ocr-pages"},
		// Its page marks forged to agree with its DSC: only the pages OCR
		// renders tell.
		{name: "page marks forged, DSC declares 2 of 10 pages", format: convert.PostScript, ocr: true,
			doc:       outlined(2, "<< /EndPage { exch pop 2 ne } bind >> setpagedevice (\\f\\f) print", 10),
			sensitive: SensitiveMyNumber, check: "ocr-pages"},
		{name: "the number outlined on page 2 of 2", format: convert.PostScript, ocr: true, doc: outlined(2, "", 2),
			sensitive: SensitiveMyNumber, count: 1, pages: []int{2}},
		{name: "two pages without text or number", format: convert.PostScript, ocr: true,
			doc: testdocs.PSDocument(2, "", blank, blank)},
	})
}

// TestEither: a number found by either reading of a text counts once.
func TestEither(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b mynumber.Finding
		want mynumber.Finding
	}{
		{"neither", mynumber.Finding{}, mynumber.Finding{}, mynumber.Finding{}},
		{"first", mynumber.Finding{Count: 1, Pages: []int{2}}, mynumber.Finding{}, mynumber.Finding{Count: 1, Pages: []int{2}}},
		{"second", mynumber.Finding{}, mynumber.Finding{Count: 2, Pages: []int{1, 3}}, mynumber.Finding{Count: 2, Pages: []int{1, 3}}},
		{"both", mynumber.Finding{Count: 2, Pages: []int{1, 3}}, mynumber.Finding{Count: 1, Pages: []int{2, 3}},
			mynumber.Finding{Count: 2, Pages: []int{1, 2, 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := either(tc.a, tc.b)
			if got.Count != tc.want.Count || !slices.Equal(got.Pages, tc.want.Pages) {
				t.Errorf("either = %+v, want %+v", got, tc.want)
			}
		})
	}
}

package pages

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
)

// streamPDFCase is a document for the one-pass PDF scanner.
type streamPDFCase struct {
	name  string
	doc   []byte
	pages int    // when why is ""
	why   string // part of the reason when the pages are unknown
	count bool   // Count gives the same answer
}

// streamPDFCases exercise what the scanner reads: updates, object
// streams, cross-reference streams, stream data it must skip, the
// fallbacks without a trailer, and the lexer's corners.
func streamPDFCases() []streamPDFCase {
	base := newPDFWriter().obj(1, testCatalog).obj(2, pagesNode(3, 4)).obj(3, testPage).obj(4, testPage).
		xrefTable("/Root 1 0 R")
	fake := "2 0 obj << /Type /Pages /Kids [3 0 R 3 0 R 3 0 R] /Count 3 >> endobj\n"
	return []streamPDFCase{
		{name: "incremental update adds a page", count: true, pages: 3,
			doc: base.clone().obj(2, pagesNode(3, 4, 5)).obj(5, testPage).xrefTable("/Root 1 0 R").bytes()},
		{name: "incremental update removes a page", count: true, pages: 1,
			doc: newPDFWriter().obj(1, testCatalog).obj(2, pagesNode(3, 4)).obj(3, testPage).obj(4, testPage).
				xrefTable("/Root 1 0 R").obj(2, pagesNode(4)).xrefTable("/Root 1 0 R").bytes()},
		// The table names one of two definitions in one revision: the
		// last, which Stream keeps, or the first, which it does not.
		{name: "a node defined otherwise twice in one revision", count: true, pages: 2,
			doc: base.clone().obj(2, pagesNode(3)).obj(2, pagesNode(3, 4)).xrefTable("/Root 1 0 R").bytes()},
		{name: "the table names the first of two definitions", why: errNotVerified.Error(),
			doc: firstOfTwo(base.clone())},
		{name: "a node defined alike twice in one revision", count: true, pages: 1,
			doc: base.clone().obj(2, pagesNode(3)).obj(2, pagesNode(3)).xrefTable("/Root 1 0 R").bytes()},
		{name: "a node replaced after the last startxref", why: errNotVerified.Error(),
			doc: append(base.bytes(), "2 0 obj "+pagesNode(3)+" endobj\n"...)},
		{name: "an unused object replaced after the last startxref", count: true, pages: 2,
			doc: append(base.bytes(), "9 0 obj "+pagesNode(3)+" endobj\n"...)},
		{name: "the last trailer's root wins", count: true, pages: 1,
			doc: newPDFWriter().obj(1, testCatalog).obj(2, pagesNode(3, 4)).obj(3, testPage).obj(4, testPage).
				obj(5, "<< /Type /Catalog /Pages 6 0 R >>").obj(6, pagesNode(4)).
				xrefTable("/Root 1 0 R").xrefTable("/Root 5 0 R").bytes()},
		{name: "object stream", count: true, pages: 2,
			doc: newPDFWriter().objStm(5, stm{objs: map[int]string{1: testCatalog, 2: pagesNode(3, 4), 3: testPage, 4: testPage}}).
				xrefStream(6, "/Root 1 0 R").bytes()},
		{name: "object stream with an indirect /Length", count: true, pages: 2,
			doc: newPDFWriter().objStm(5, stm{objs: map[int]string{1: testCatalog, 2: pagesNode(3, 4), 3: testPage, 4: testPage}, lengthRef: 7}).
				xrefStream(6, "/Root 1 0 R").bytes()},
		{name: "uncompressed object stream", count: true, pages: 2,
			doc: newPDFWriter().objStm(5, stm{objs: map[int]string{1: testCatalog, 2: pagesNode(3, 4), 3: testPage, 4: testPage}, raw: true}).
				xrefStream(6, "/Root 1 0 R").bytes()},
		{name: "object stream index out of order", count: true, pages: 2,
			doc: newPDFWriter().objStm(5, stm{objs: map[int]string{1: testCatalog, 2: pagesNode(3, 4), 3: testPage, 4: testPage}, order: []int{3, 1, 4, 2}}).
				xrefStream(6, "/Root 1 0 R").bytes()},
		{name: "object stream updated by a later object", count: true, pages: 1,
			doc: newPDFWriter().objStm(5, stm{objs: map[int]string{1: testCatalog, 2: pagesNode(3, 4), 3: testPage, 4: testPage}}).
				xrefStream(6, "/Root 1 0 R").obj(2, pagesNode(3)).xrefStream(7, "/Root 1 0 R").bytes()},
		{name: "object stream with a predictor", why: errObjStmFilter.Error(),
			doc: newPDFWriter().objStm(5, stm{objs: map[int]string{1: testCatalog, 2: pagesNode()}, extra: " /DecodeParms << /Predictor 12 /Columns 4 >>"}).
				xrefStream(6, "/Root 1 0 R").bytes()},
		{name: "object stream with another filter", why: errObjStmFilter.Error(),
			doc: newPDFWriter().objStm(5, stm{objs: map[int]string{1: testCatalog, 2: pagesNode()}, raw: true, extra: " /Filter /ASCIIHexDecode"}).
				xrefStream(6, "/Root 1 0 R").bytes()},
		// An object stream that cannot be read matters only where the
		// table puts an object of the page tree in it.
		{name: "object stream cut short", pages: 1,
			doc: newPDFWriter().obj(1, testCatalog).obj(2, pagesNode(3)).obj(3, testPage).
				objStm(5, stm{objs: map[int]string{4: testPage}, corruptEnd: true}).xrefStream(6, "/Root 1 0 R").bytes()},
		{name: "object stream cut short, holding a page", why: errBadObjStm.Error(),
			doc: newPDFWriter().obj(1, testCatalog).obj(2, pagesNode(3, 4)).obj(3, testPage).
				objStm(5, stm{objs: map[int]string{4: testPage}, corruptEnd: true}).xrefStream(6, "/Root 1 0 R").bytes()},
		{name: "object stream that is not zlib", pages: 1,
			doc: buildPDF(testCatalog, pagesNode(3), testPage, "<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length 10 >>\nstream\n0123456789\nendstream")},
		{name: "objects overlapping in an object stream", pages: 1,
			doc: buildPDF(testCatalog, pagesNode(3), testPage, "<< /Type /ObjStm /N 2 /First 8 /Length 40 >>\nstream\n5 0 6 2 << /Type /Pages /Kids [] >>      \nendstream")},
		{name: "encrypted, objects in the clear", pages: 2,
			doc: newPDFWriter().obj(1, testCatalog).obj(2, pagesNode(3, 4)).obj(3, testPage).obj(4, testPage).
				obj(5, "<< /Filter /Standard /V 2 /R 3 /Length 128 /P -4 /O <00> /U <00> >>").xrefTable("/Root 1 0 R /Encrypt 5 0 R /ID [<01> <01>]").bytes()},
		{name: "encrypted object stream, page tree in the clear", pages: 1,
			doc: newPDFWriter().obj(1, testCatalog).obj(2, pagesNode(4)).obj(4, testPage).obj(3, "<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length 10 >>\nstream\n\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\nendstream").
				xrefTable("/Root 1 0 R /Encrypt << /Filter /Standard >>").bytes()},
		{name: "fake objects in a stream of direct /Length", count: true, pages: 2,
			doc: base.clone().obj(6, fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", len(fake), fake)).xrefTable("/Root 1 0 R").bytes()},
		{name: "fake objects in a stream of indirect /Length", count: true, pages: 2,
			doc: buildPDF(testCatalog, pagesNode(3, 4), testPage, testPage, "<< /Length 6 0 R >>\nstream\n"+fake+"endstream", fmt.Sprint(len(fake)))},
		{name: "fake objects in a stream longer than its /Length", pages: 2,
			doc: buildPDF(testCatalog, pagesNode(3, 4), testPage, testPage, "<< /Length 3 >>\nstream\n"+fake+"endstream")},
		{name: "fake objects in a stream after CR LF", count: true, pages: 2,
			doc: buildPDF(testCatalog, pagesNode(3, 4), testPage, testPage, fmt.Sprintf("<< /Length %d >>\nstream\r\n%s\r\nendstream", len(fake), fake))},
		// Without a table, nothing is verified (Count may repair).
		{name: "no trailer: the only catalog", why: errNotVerified.Error(),
			doc: []byte("%PDF-1.4\n1 0 obj " + testCatalog + " endobj 2 0 obj " + pagesNode(3, 4) + " endobj 3 0 obj " + testPage + " endobj 4 0 obj " + testPage + " endobj\n")},
		{name: "no catalog: the only root node", why: errNotVerified.Error(),
			doc: []byte("%PDF-1.4\n2 0 obj " + pagesNode(3) + " endobj 3 0 obj " + testPage + " endobj\n")},
		{name: "root missing: the only catalog", why: errNotVerified.Error(),
			doc: []byte("%PDF-1.4\n1 0 obj " + testCatalog + " endobj 2 0 obj " + pagesNode(3) + " endobj 3 0 obj " + testPage + " endobj trailer << /Root 9 0 R >>\n")},
		{name: "no trailer, two catalogs", why: errNotVerified.Error(),
			doc: []byte("%PDF-1.4\n1 0 obj " + testCatalog + " endobj 5 0 obj " + testCatalog + " endobj 2 0 obj " + pagesNode() + " endobj\n")},
		{name: "root is not a catalog", why: "no page tree", count: true,
			doc: buildPDF("<< /Type /Catalog /Pages << /Kids [] >> >>", pagesNode())},
		{name: "/Kids by reference", count: true, pages: 2,
			doc: buildPDF(testCatalog, "<< /Type /Pages /Kids 5 0 R /Count 2 >>", testPage, testPage, "[3 0 R 4 0 R]")},
		{name: "/Kids null", count: true, why: "holds no page",
			doc: buildPDF(testCatalog, "<< /Type /Pages /Kids null /Count 0 >>")},
		{name: "/Kids refers to a missing object", count: true, why: "holds no page",
			doc: buildPDF(testCatalog, "<< /Type /Pages /Kids 9 0 R /Count 0 >>")},
		{name: "/Kids refers to a dictionary", count: true, why: "invalid /Kids",
			doc: buildPDF(testCatalog, "<< /Type /Pages /Kids 3 0 R /Count 0 >>", testPage)},
		{name: "a kid is null", count: true, why: "not a dictionary",
			doc: buildPDF(testCatalog, "<< /Type /Pages /Kids [null] /Count 1 >>")},
		{name: "a kid is a stream", count: true, why: "not a dictionary",
			doc: buildPDF(testCatalog, pagesNode(3), "<< /Type /Page /Length 0 >>\nstream\n\nendstream")},
		{name: "empty inline intermediate nodes", count: true, pages: 2,
			doc: pageTreePDF("<< /Type /Pages /Kids [] >> << /Kids null >> << /Type /Pages >> << >>", 1)},
		{name: "null entries are no entries", count: true, pages: 2,
			doc: buildPDF(testCatalog, "<< /Type /Pages /Kids [3 0 R 4 0 R 5 0 R 7 0 R] /Kids null >>", "<< /Type /Pages /Kids null >>",
				"<< /Type /Pages /Type null >>", "<< /Type /Pages /Type 7 >>", testPage, "<< /Kids [6 0 R] /Type /Pages /Type /Page >>")},
		{name: "inline intermediate nodes with kids", count: true, pages: 3,
			doc: pageTreePDF("<< /Type /Pages /Kids [3 0 R << /Kids [<< >> << /Kids 4 0 R >>] >>] >>", 3, testPage, "[<< >>]")},
		{name: "inline nodes nested too deep", why: "too deep",
			doc: pageTreePDF(strings.Repeat("<< /Kids [", 70)+strings.Repeat("] >>", 70), 0)},
		{name: "inline nodes nested far too deep", why: "too deep",
			doc: pageTreePDF(strings.Repeat("<< /Kids [", 10000)+strings.Repeat("] >>", 10000), 0)},
		{name: "names with escapes", count: true, pages: 1,
			doc: buildPDF(testCatalog, pagesNode(3, 4), "<< /Typ#65 /Pag#65s >>", testPage)},
		{name: "strings and comments hide nothing", count: true, pages: 2,
			doc: buildPDF(testCatalog, pagesNode(3, 4),
				"<< /Type /Page /T (>> endobj 2 0 obj << /Kids [\\) 3 0 R] >>) /H <3e3e> % 2 0 obj << /Kids [3 0 R] >>\n >>", testPage)},
		{name: "a comment longer than the read buffer hides nothing", pages: 2,
			doc: buildPDF(testCatalog, pagesNode(3, 4),
				"<< /Type /Page %"+strings.Repeat(" 2 0 obj << /Kids [3 0 R] >> endobj", 2*pdfReadBuffer/32)+"\r>>", testPage)},
		{name: "a comment ends at a carriage return", count: true, pages: 2,
			doc: buildPDF(testCatalog, pagesNode(3, 4), "<< /Type /Page % >> endobj\r/Rotate 90 >>", testPage)},
		{name: "a comment ends the document", count: true, pages: 1,
			doc: append(buildPDF(testCatalog, pagesNode(3), testPage), "% 2 0 obj << /Kids [3 0 R 3 0 R] >>"...)},
		{name: "a long name is none of the short ones", count: true, pages: 2,
			doc: buildPDF(testCatalog, pagesNode(3, 4), "<< /Type /Pages"+strings.Repeat("x", 100)+" >>", testPage)},
		// pdfcpu refuses nesting deeper than 64 (pdfMaxDepth).
		{name: "deep nesting in a value", pages: 2,
			doc: buildPDF(testCatalog, pagesNode(3, 4), "<< /Type /Page /A "+strings.Repeat("[", 500)+strings.Repeat("]", 500)+" >>", testPage)},
		{name: "a dictionary without its end", why: errNotVerified.Error(),
			doc: []byte("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R endobj 2 0 obj " + pagesNode(3, 4) + " endobj 3 0 obj " + testPage + " endobj 4 0 obj " + testPage + " endobj trailer << /Root 1 0 R >>\n")},
		{name: "an object header after a broken dictionary", why: errNotVerified.Error(),
			doc: []byte("%PDF-1.0\n1 0 obj <<0/Type /Catalog /Pages 5 0 R%endobj\n5 0 obj<<00\nendobj")},
		{name: "references to object 0 and huge numbers", why: "not a dictionary",
			doc: buildPDF(testCatalog, "<< /Type /Pages /Kids [0 0 R 99999999999 0 R] >>")},
		{name: "garbage", why: errNotVerified.Error(), doc: []byte("%PDF-1.4\n" + strings.Repeat("\x00\xff<<[(/", 1000))},
	}
}

func TestStreamPDF(t *testing.T) {
	for _, tt := range streamPDFCases() {
		t.Run(tt.name, func(t *testing.T) {
			check := func(who string, got Result, err error) {
				t.Helper()
				switch {
				case err != nil:
					t.Errorf("%s: %v", who, err)
				case tt.why == "" && (!got.Known || got.Pages != tt.pages):
					t.Errorf("%s = %+v, want %d pages", who, got, tt.pages)
				case tt.why != "" && (got.Known || !strings.Contains(got.Reason, tt.why)):
					t.Errorf("%s = %+v, want unknown because of %q", who, got, tt.why)
				}
			}
			for _, piece := range []int{1, 7, len(tt.doc)} {
				got, err := streamCount(Counter{}, FormatPDF, tt.doc, fixedSplit(piece))
				check(fmt.Sprintf("Stream in pieces of %d", piece), got, err)
			}
			if tt.count {
				got, err := Count(context.Background(), FormatPDF, bytes.NewReader(tt.doc))
				check("Count", got, err)
			}
		})
	}
}

// TestStreamPDFObjectBudget: the scanner remembers at most Budget.Objects
// objects, and four times as many references in arrays.
func TestStreamPDFObjectBudget(t *testing.T) {
	var kids strings.Builder
	pages := make([]string, 40)
	for i := range pages {
		pages[i] = "<< /Type /Page /Parent 2 0 R >>"
		fmt.Fprintf(&kids, "%d 0 R ", i+3)
	}
	indirect := pageTreePDF(kids.String(), len(pages), pages...)
	direct := pageTreePDF(strings.Repeat("<< /Type /Page >> ", len(pages)), len(pages))
	refs := buildPDF(testCatalog, pagesNode(3), testPage, "["+strings.Repeat("3 0 R ", 200)+"]")
	tests := []struct {
		doc     []byte
		objects int
		reason  string // "": counted
	}{
		{indirect, 1000, ""},
		{indirect, 42, ""},
		{indirect, 41, "more than the budget of 41 objects"},
		{direct, 41, ""},
		{direct, 30, "page tree has more than the budget of 30 objects"},
		{refs, 100, ""},
		{refs, 40, "more than the budget of 160 references"},
	}
	for _, tt := range tests {
		got, err := streamCount(Counter{Budget: Budget{Objects: tt.objects}}, FormatPDF, tt.doc, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tt.reason == "" && !got.Known || tt.reason != "" && (got.Known || !strings.Contains(got.Reason, tt.reason)) {
			t.Errorf("objects %d: Stream = %+v, want reason %q", tt.objects, got, tt.reason)
		}
	}
}

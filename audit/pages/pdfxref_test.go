package pages

import (
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// firstOfTwo defines object 2 twice in a new section of w and lists the
// first definition in its table: a reader of the table takes that one,
// Stream keeps the last.
func firstOfTwo(w *pdfWriter) []byte {
	w.obj(2, pagesNode(3))
	first := w.offsets[2]
	w.obj(2, pagesNode(3, 4))
	w.offsets[2] = first
	return w.xrefTable("/Root 1 0 R").bytes()
}

// hybridPDF returns a PDF with a cross-reference table whose trailer's
// /XRefStm names a cross-reference stream listing the page tree, which
// is in an object stream. predictor > 1 writes that stream's rows with
// PNG's Up predictor.
func hybridPDF(predictor int) []byte {
	w := newPDFWriter().obj(1, testCatalog).
		objStm(5, stm{objs: map[int]string{2: pagesNode(3, 4), 3: testPage, 4: testPage}})
	var rows bytes.Buffer
	prev := make([]byte, 7)
	row := func(typ byte, f2, f3 int) {
		r := []byte{typ, byte(f2 >> 24), byte(f2 >> 16), byte(f2 >> 8), byte(f2), byte(f3 >> 8), byte(f3)}
		if predictor > 1 {
			rows.WriteByte(2) // Up
			for i := range r {
				rows.WriteByte(r[i] - prev[i])
			}
			prev = r
			return
		}
		rows.Write(r)
	}
	for k := 2; k <= 4; k++ {
		row(2, 5, w.inStm[k][1])
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(rows.Bytes())
	zw.Close()
	parms := ""
	if predictor > 1 {
		parms = fmt.Sprintf(" /DecodeParms << /Predictor %d /Columns 7 >>", predictor)
	}
	stmAt := w.b.Len()
	fmt.Fprintf(&w.b, "6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Index [2 3] /Filter /FlateDecode%s /Length %d >>\nstream\n",
		parms, z.Len())
	w.b.Write(z.Bytes())
	w.b.WriteString("\nendstream\nendobj\n")
	w.offsets[6] = stmAt
	w.grow(6)
	return w.xrefTable(fmt.Sprintf("/Root 1 0 R /XRefStm %d", stmAt)).bytes()
}

// TestStreamPDFCrossReference: what the table says wins, and where the
// scanner cannot tell what it says, the count is not verified.
func TestStreamPDFCrossReference(t *testing.T) {
	base := newPDFWriter().obj(1, testCatalog).obj(2, pagesNode(3, 4)).obj(3, testPage).obj(4, testPage).
		xrefTable("/Root 1 0 R")
	doc := base.bytes()
	at := bytes.LastIndex(doc, []byte("startxref"))
	// The table's entry of page 4 says "f": free.
	freePage := bytes.Clone(doc)
	i := bytes.Index(doc, []byte("\n4 1\n"))
	copy(freePage[i+5+17:], "f")
	tests := []struct {
		name  string
		doc   []byte
		pages int
		why   string // "": counted, and Count agrees
	}{
		{name: "hybrid file", doc: hybridPDF(0), pages: 2},
		{name: "hybrid file, PNG Up predictor", doc: hybridPDF(12), pages: 2},
		{name: "hybrid file, PNG optimum predictor", doc: hybridPDF(15), pages: 2},
		{name: "startxref in a comment after the last one", doc: append(bytes.Clone(doc), "% startxref\n9\n%%EOF\n"...),
			why: "no usable startxref"},
		{name: "startxref to no section", why: "not where an offset puts it",
			doc: append(bytes.Clone(doc[:at]), fmt.Sprintf("startxref\n%d\n%%%%EOF\n", base.lastX+1)...)},
		{name: "a page listed as free", doc: freePage, why: "not in the table"},
		{name: "junk before the header", doc: append([]byte("junk\n"), doc...), why: "does not start with %PDF-"},
		{name: "a /Prev loop", why: "loop",
			doc: bytes.Replace(base.clone().obj(5, testPage).xrefTable("/Root 1 0 R").bytes(),
				[]byte(fmt.Sprintf("/Prev %d", base.lastX)), []byte(fmt.Sprintf("/Prev %d", len(doc)+len(fmt.Sprintf("5 0 obj\n%s\nendobj\n", testPage)))), 1)},
	}
	// The decoy page trees; the other forged PDFs agree with their tables.
	forged, _ := filepath.Glob(filepath.Join("..", "..", "release", "testdata", "forged", "page-tree-*.pdf"))
	if len(forged) != 3 {
		t.Fatalf("forged PDFs: %v", forged)
	}
	for _, f := range forged {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tests = append(tests, struct {
			name  string
			doc   []byte
			pages int
			why   string
		}{name: filepath.Base(f), doc: b, why: errNotVerified.Error()})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, piece := range []int{1, 7, len(tt.doc)} {
				got, err := streamCount(Counter{}, FormatPDF, tt.doc, fixedSplit(piece))
				switch {
				case err != nil:
					t.Fatal(err)
				case tt.why == "" && (!got.Known || got.Pages != tt.pages):
					t.Errorf("in pieces of %d: Stream = %+v, want %d pages", piece, got, tt.pages)
				case tt.why != "" && (got.Known || !got.Unverified || !strings.Contains(got.Reason, tt.why)):
					t.Errorf("in pieces of %d: Stream = %+v, want not verified: %q", piece, got, tt.why)
				}
			}
			if b, err := (Counter{}).CountBytes(context.Background(), FormatPDF, tt.doc); err != nil ||
				b.Known != (tt.why == "") || b.Pages != tt.pages && tt.why == "" {
				t.Errorf("CountBytes = %+v, %v", b, err)
			}
			if tt.why == "" {
				if want, err := Count(context.Background(), FormatPDF, bytes.NewReader(tt.doc)); err != nil || want.Pages != tt.pages {
					t.Errorf("Count = %+v, %v; want %d pages", want, err, tt.pages)
				}
			}
		})
	}
}

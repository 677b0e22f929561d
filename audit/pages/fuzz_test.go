package pages

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"github.com/printgate/printgate/internal/testdocs"
)

// checkCount runs Count on a fuzzed document and checks the invariants of
// its answer. maxPages bounds a known count (0: no bound).
func checkCount(t *testing.T, format string, doc []byte, maxPages int) {
	got, err := Count(context.Background(), format, bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("Count = %v; only a reader or context failure is an error", err)
	}
	if got.Format != format {
		t.Errorf("Format = %q, want %q", got.Format, format)
	}
	if got.Known {
		if got.Pages < 0 || got.Reason != "" || (maxPages > 0 && got.Pages > maxPages) {
			t.Errorf("Count = %+v for %d bytes", got, len(doc))
		}
	} else if got.Pages != 0 || got.Reason == "" {
		t.Errorf("Count = %+v: unknown needs a reason and no pages", got)
	}
}

func FuzzPDF(f *testing.F) {
	for _, p := range []string{"docs/pdf-1page.pdf", "docs/pdf-3pages.pdf", "ipptool/document-letter.pdf"} {
		f.Add(fixture(f, p))
	}
	f.Add(chainPDF(3))
	f.Add(pageTreePDF("3 0 R 4 0 R", 2, "<< /Type /Page >>", "<< /Type /Pages /Kids [] /Count 0 >>"))
	f.Add(farEndPDF(2, 3, 100))
	f.Add(testdocs.PDFBomb(2, 1000))
	f.Fuzz(func(t *testing.T, doc []byte) {
		checkCount(t, FormatPDF, doc, 0)
	})
}

func FuzzPWGRaster(f *testing.F) {
	f.Add(fixture(f, "docs/raster-2pages.pwg"))
	f.Add(cat([]byte("RaS2"), gray8(4, 3), []byte{2, 0x80}, pwgHeader(3, 1, 16, 48, 18, 0, 3), []byte{0, 2, 1, 2, 3, 4, 5, 6}))
	f.Add(cat([]byte("RaS2"), pwgHeader(10, 2, 1, 1, 2, 0, 1), []byte{1, 1, 0xff}))
	f.Fuzz(func(t *testing.T, doc []byte) {
		// Every page takes a header and at least two bytes of lines.
		checkCount(t, FormatPWGRaster, doc, len(doc)/(pwgHeaderSize+2))
	})
}

func FuzzURF(f *testing.F) {
	f.Add(fixture(f, "docs/urf-2pages.urf"))
	f.Add(cat([]byte("UNIRAST\x00\x00\x00\x00\x01"), urfHeader(24, 2, 2), []byte{1, 1, 0xff, 0xff, 0xff}))
	f.Add(cat([]byte("UNIRAST\x00\x00\x00\x00\x01"), urfHeader(8, 5, 5), []byte{4, 0x80}))
	f.Fuzz(func(t *testing.T, doc []byte) {
		checkCount(t, FormatURF, doc, len(doc)/(urfHeaderSize+2))
	})
}

func FuzzPostScript(f *testing.F) {
	f.Add(fixture(f, "docs/dsc-3pages.ps"))
	f.Add(testdocs.DSC(2, "x", testdocs.Letter))
	f.Add([]byte("%!PS-Adobe-3.0\r\n%%Pages: (atend)\r\n%%EndComments\r\n%%BeginDocument: a\r\n%%Page: 1 1\r\n%%EndDocument\r\n%%Trailer\r\n%%Pages: 6\r\n"))
	f.Add([]byte("%!PS\r%%Pages: 2 -1\r%%Page: 1 1\r%%BeginData: 1\r%%EndData\r"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		checkCount(t, FormatPostScript, doc, 0)
	})
}

func FuzzDetect(f *testing.F) {
	for _, p := range []string{"docs/pdf-1page.pdf", "docs/raster-2pages.pwg", "docs/urf-2pages.urf", "docs/photo.jpg", "docs/dsc-3pages.ps"} {
		f.Add(fixture(f, p)[:64])
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, err := Count(context.Background(), FormatOctetStream, bytes.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		if want := Detect(doc); got.Format != want {
			t.Errorf("Count detected %q, Detect %q", got.Format, want)
		}
	})
}

// streamFormats are the formats FuzzStream declares, by the fuzzer's
// number.
var streamFormats = []string{FormatPDF, FormatPostScript, FormatPWGRaster, FormatURF, FormatJPEG, FormatPNG, FormatOctetStream}

// FuzzStream writes a document to a Stream in pieces of random sizes
// (from seed) under a small budget. Its answer must be Count's for the
// formats whose counters they share. For PDF, where both know the pages
// they must agree; and where pdfcpu finds the document valid (strictly) and
// Count knows the pages, Stream must know them too, unless it says why it
// cannot (streamCannot). (On broken documents pdfcpu guesses in ways of its
// own, "2 0 R0000" read as a reference say, where Stream gives up.)
func FuzzStream(f *testing.F) {
	for _, p := range []string{"docs/pdf-1page.pdf", "docs/raster-2pages.pwg", "docs/urf-2pages.urf", "docs/photo.jpg", "docs/dsc-3pages.ps"} {
		doc := fixture(f, p)
		f.Add(uint8(0), doc, uint64(len(doc)))
		f.Add(uint8(len(streamFormats)-1), doc, uint64(1))
	}
	for i, c := range streamPDFCases() {
		if len(c.doc) < 4096 {
			f.Add(uint8(0), c.doc, uint64(i))
		}
	}
	f.Add(uint8(0), testdocs.PDFBomb(2, 1000), uint64(7))
	for i, doc := range xrefSeeds() {
		f.Add(uint8(0), doc, uint64(i))
	}
	budget := Budget{DecodedBytes: 1 << 20, Objects: 1000}
	f.Fuzz(func(t *testing.T, format uint8, doc []byte, seed uint64) {
		declared := streamFormats[int(format)%len(streamFormats)]
		c := Counter{Budget: budget}
		got, err := streamCount(c, declared, doc, randomSplit(seed, 64))
		if err != nil {
			t.Fatalf("Stream = %v; only a done context is an error", err)
		}
		want, err := c.Count(context.Background(), declared, bytes.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		if got.Format != want.Format {
			t.Fatalf("Stream counted %q, Count %q", got.Format, want.Format)
		}
		if got.Format != FormatPDF {
			if got != want {
				t.Fatalf("Stream = %+v, Count = %+v", got, want)
			}
			return
		}
		switch {
		case got.Known && (got.Pages < 0 || got.Reason != ""),
			!got.Known && (got.Pages != 0 || got.Reason == ""):
			t.Fatalf("Stream = %+v", got)
		case got.Known && want.Known && got.Pages != want.Pages:
			t.Fatalf("Stream = %+v, Count = %+v", got, want)
		case want.Known && !got.Known && !streamCannot(got) && validPDF(doc):
			t.Fatalf("Stream = %+v, Count = %+v for a valid PDF", got, want)
		case got.Unverified && got.Known:
			t.Fatalf("Stream = %+v: a count is verified or unknown", got)
		}
	})
}

// xrefSeeds are PDFs whose cross-reference sections take each path of
// the scanner's reading of them: tables with updates, streams with and
// without predictors, hybrid files, and the forged page trees.
func xrefSeeds() [][]byte {
	base := newPDFWriter().obj(1, testCatalog).obj(2, pagesNode(3, 4)).obj(3, testPage).obj(4, testPage).
		xrefTable("/Root 1 0 R")
	seeds := [][]byte{
		base.bytes(),
		base.clone().obj(2, pagesNode(3, 4, 5)).obj(5, testPage).xrefTable("/Root 1 0 R").bytes(),
		firstOfTwo(base.clone()),
		newPDFWriter().objStm(5, stm{objs: map[int]string{1: testCatalog, 2: pagesNode(3, 4), 3: testPage, 4: testPage}}).
			xrefStream(6, "/Root 1 0 R").obj(2, pagesNode(3)).xrefStream(7, "/Root 1 0 R").bytes(),
		hybridPDF(0),
		hybridPDF(12),
	}
	forged, _ := filepath.Glob(filepath.Join("..", "..", "release", "testdata", "forged", "*.pdf"))
	for _, f := range forged {
		if b, err := os.ReadFile(f); err == nil {
			seeds = append(seeds, b)
		}
	}
	return seeds
}

// FuzzCountBytes counts a PDF with CountBytes, under a small budget: it
// must give what a Stream gives, and a count it verified must be Count's
// wherever Count knows the pages (a reader of the table, as printers are).
// Its budget: 1 MiB decoded, 1000 objects, and the default time.
func FuzzCountBytes(f *testing.F) {
	for _, doc := range xrefSeeds() {
		f.Add(doc)
	}
	for _, c := range streamPDFCases() {
		if len(c.doc) < 4096 {
			f.Add(c.doc)
		}
	}
	c := Counter{Budget: Budget{DecodedBytes: 1 << 20, Objects: 1000}}
	// pooled reuses its read buffers from one input to the next: what the
	// last document left in them must not change a count.
	pooled := c
	pooled.Readers = new(Readers)
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, err := c.CountBytes(context.Background(), FormatPDF, doc)
		if err != nil {
			t.Fatalf("CountBytes = %v; only a done context is an error", err)
		}
		if again, err := pooled.CountBytes(context.Background(), FormatPDF, doc); err != nil || again != got {
			t.Fatalf("CountBytes with pooled readers = %+v, %v; without %+v", again, err, got)
		}
		streamed, err := streamCount(c, FormatPDF, doc, randomSplit(uint64(len(doc)), 64))
		if err != nil || streamed != got {
			t.Fatalf("CountBytes = %+v, Stream = %+v, %v", got, streamed, err)
		}
		if !got.Known {
			if got.Pages != 0 || got.Reason == "" {
				t.Fatalf("CountBytes = %+v", got)
			}
			return
		}
		want, err := c.Count(context.Background(), FormatPDF, bytes.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		if want.Known && want.Pages != got.Pages {
			t.Fatalf("CountBytes = %+v, Count = %+v", got, want)
		}
	})
}

// validPDF reports whether pdfcpu reads and validates doc in strict mode.
func validPDF(doc []byte) bool {
	conf := pdfConfig(DefaultBudget)
	conf.ValidationMode = model.ValidationStrict
	ctx, err := pdfcpu.ReadWithContext(context.Background(), bytes.NewReader(doc), conf)
	return err == nil && api.ValidateContext(ctx) == nil
}

package pages

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/testdocs"
)

// Measured on the project's 2-core machine (Go 1.26, pdfcpu v0.15.0), peak
// heap of one count:
//
//	PDF, 2000 pages (0.6 MB):          ~20 ms,  ~48 MB
//	PDF, 20000 pages (6.3 MB):        ~400 ms, ~160 MB (77 MB live)
//	PDF, 40 × 2 MiB streams (84 MB):   ~10 ms,  ~80 MB
//	PWG raster or URF, 200 pages:       ~1 ms,  64 KiB (the read buffer)
//	PostScript, 10000 pages:            ~2 ms,  64 KiB
//
// pdfcpu needs memory in proportion to the document (1 to 4 KiB per object
// plus the raw streams); the raster and PostScript counters need a constant
// read buffer.
func BenchmarkCount(b *testing.B) {
	benchmarks := []struct {
		name, format string
		doc          []byte
	}{
		{"pdf-2000-pages", FormatPDF, testdocs.PDF(2000, "benchmark", testdocs.A4)},
		{"pdf-40-big-streams", FormatPDF, bigStreamPDF(40, 2<<20)},
		{"pwg-200-pages", FormatPWGRaster, testdocs.PWGRaster(200)},
		{"urf-200-pages", FormatURF, testdocs.URF(200)},
		{"postscript-10000-pages", FormatPostScript, testdocs.DSC(10000, "benchmark", testdocs.A4)},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			count := func() {
				res, err := Count(context.Background(), bm.format, bytes.NewReader(bm.doc))
				if err != nil || !res.Known {
					b.Fatalf("Count = %+v, %v", res, err)
				}
			}
			// The peak of one count: over the loop it would include the
			// garbage of earlier iterations that the GC has not freed yet.
			stop := samplePeakHeap()
			count()
			peak := stop()
			b.ReportAllocs()
			b.SetBytes(int64(len(bm.doc)))
			for b.Loop() {
				count()
			}
			b.ReportMetric(float64(peak), "peak-heap-bytes")
		})
	}
}

// BenchmarkStream compares Stream with Count on the PDFs of printgate-load
// (one page with a 10 KB or a 10 MB image) and on one of many small
// objects. Stream is written in pieces of 32 KiB, as io.Copy passes an
// upload on.
func BenchmarkStream(b *testing.B) {
	for _, doc := range []struct {
		name  string
		doc   []byte
		pages int
	}{
		{"pdf-10KB", imagePDF(10 << 10), 1},
		{"pdf-10MB", imagePDF(10 << 20), 1},
		{"pdf-2000-pages", testdocs.PDF(2000, "benchmark", testdocs.A4), 2000},
	} {
		counters := []struct {
			name  string
			count func() (Result, error)
		}{
			{"Count", func() (Result, error) {
				return Count(context.Background(), FormatPDF, bytes.NewReader(doc.doc))
			}},
			{"Stream", func() (Result, error) {
				return streamCount(Counter{}, FormatPDF, doc.doc, func() int { return 32 << 10 })
			}},
		}
		for _, c := range counters {
			b.Run(doc.name+"/"+c.name, func(b *testing.B) {
				count := func() {
					if res, err := c.count(); err != nil || !res.Known || res.Pages != doc.pages {
						b.Fatalf("%s = %+v, %v", c.name, res, err)
					}
				}
				stop := samplePeakHeap()
				count()
				peak := stop()
				b.ReportAllocs()
				b.SetBytes(int64(len(doc.doc)))
				for b.Loop() {
					count()
				}
				b.ReportMetric(float64(peak), "peak-heap-bytes")
			})
		}
	}
}

// samplePeakHeap samples the heap in use until the returned function is
// called, which returns the peak above the heap in use at the start.
func samplePeakHeap() func() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapInuse, ms.HeapInuse
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak - base
	}
}

// bigStreamPDF returns a PDF whose pages have content streams of
// streamSize bytes of PostScript comments each: a stand-in for scans.
func bigStreamPDF(pages, streamSize int) []byte {
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", ""}
	kids := ""
	line := "% a comment line filling the content stream of a big page\n"
	content := string(bytes.Repeat([]byte(line), streamSize/len(line)))
	for i := range pages {
		page, stream := 3+2*i, 4+2*i
		kids += " " + strconv.Itoa(page) + " 0 R"
		objs = append(objs,
			"<< /Type /Page /Parent 2 0 R /Contents "+strconv.Itoa(stream)+" 0 R >>",
			"<< /Length "+strconv.Itoa(len(content))+" >>\nstream\n"+content+"\nendstream")
	}
	objs[1] = "<< /Type /Pages /Kids [" + kids + " ] /Count " + strconv.Itoa(pages) + " /MediaBox [0 0 595 842] >>"
	return buildPDF(objs...)
}

// imagePDF returns a one-page PDF of about size bytes, shaped like the
// documents of printgate-load: a line of text and an uncompressed image of
// pseudo-random bytes, as a scan would be.
func imagePDF(size int) []byte {
	pixels := make([]byte, max(size-1200, 1))
	x := uint64(0x9e3779b97f4a7c15)
	for i := range pixels {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		pixels[i] = byte(x)
	}
	text := "BT\n/F1 24 Tf\n72 734 Td\n(one page) Tj\nET\nq\n451 0 0 600 72 72 cm\n/Im1 Do\nQ\n"
	return buildPDF(
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [4 0 R] /Count 1 /MediaBox [0 0 595 842] >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 3 0 R >> /XObject << /Im1 6 0 R >> >> /Contents 5 0 R >>",
		"<< /Length "+strconv.Itoa(len(text))+" >>\nstream\n"+text+"endstream",
		"<< /Type /XObject /Subtype /Image /Width "+strconv.Itoa(len(pixels))+" /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8 /Length "+
			strconv.Itoa(len(pixels))+" >>\nstream\n"+string(pixels)+"\nendstream",
	)
}

// BenchmarkVerified compares pages.Count with the verified one-pass
// counter that release uses: CountBytes for a document in memory (no
// goroutine, no pipe), Stream for one that streams in (32 KiB writes).
// PAGES_BENCH_PDFS names PDFs to use, comma-separated: the documents of
// printgate-load (printgate-load --save-pdf FILE --generate-pdf 10KB, and
// 10MB); without it, imagePDF's stand-ins of them.
func BenchmarkVerified(b *testing.B) {
	type doc struct {
		name string
		doc  []byte
	}
	var docs []doc
	if files := os.Getenv("PAGES_BENCH_PDFS"); files != "" {
		for _, f := range strings.Split(files, ",") {
			data, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			docs = append(docs, doc{filepath.Base(f), data})
		}
	} else {
		docs = []doc{{"pdf-10KB", imagePDF(10 << 10)}, {"pdf-10MB", imagePDF(10 << 20)}}
	}
	// As release counts: its Counter keeps a pool of readers.
	pooled := Counter{Readers: new(Readers)}
	for _, d := range docs {
		counters := []struct {
			name  string
			count func() (Result, error)
		}{
			{"Count", func() (Result, error) {
				return Count(context.Background(), FormatPDF, bytes.NewReader(d.doc))
			}},
			{"CountBytes", func() (Result, error) {
				return pooled.CountBytes(context.Background(), FormatPDF, d.doc)
			}},
			{"Stream", func() (Result, error) {
				return streamCount(Counter{}, FormatPDF, d.doc, func() int { return 32 << 10 })
			}},
		}
		for _, c := range counters {
			b.Run(d.name+"/"+c.name, func(b *testing.B) {
				count := func() {
					if res, err := c.count(); err != nil || !res.Known || res.Pages != 1 {
						b.Fatalf("%s = %+v, %v", c.name, res, err)
					}
				}
				stop := samplePeakHeap()
				count()
				peak := stop()
				b.ReportAllocs()
				b.SetBytes(int64(len(d.doc)))
				for b.Loop() {
					count()
				}
				b.ReportMetric(float64(peak), "peak-heap-bytes")
			})
		}
	}
}

package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// sizeUnits are the units parseSize knows, by lower-case name.
var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
}

// parseSize reads a document size such as "10KB", "10MB", "1.5MiB" or
// "4096". KB, MB and GB are powers of 1000, KiB, MiB and GiB powers of 1024,
// a bare number is bytes.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.LastIndexFunc(t, func(r rune) bool { return (r >= '0' && r <= '9') || r == '.' }) + 1
	scale, ok := sizeUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	v, err := strconv.ParseFloat(t[:i], 64)
	if !ok || err != nil || v <= 0 || v*scale > 1<<40 {
		return 0, fmt.Errorf("size %q: want a positive number with an optional unit (KB, MB, GB, KiB, MiB, GiB), up to 1 TiB", s)
	}
	return int64(v * scale), nil
}

// minPDFSize is the size of the smallest generated PDF.
var minPDFSize = pdfSize(0, 0)

// imageWidth is the width in pixels of the generated page's image; its
// height follows from the requested size.
const imageWidth = 1024

// writePDF writes a valid one-page PDF of exactly size bytes (size 0: the
// smallest) to w and returns the bytes written. The page carries a line of
// text and an uncompressed grey image of pseudo-random pixels, like a
// scanned page: the bulk does not compress, so neither server gains from
// an easy document. A comment in the trailer makes up the bytes a whole
// image row cannot. It streams, so a gigabyte document costs no memory.
func writePDF(w io.Writer, size int64) (int64, error) {
	rows, pad := int64(0), int64(0)
	if size > 0 {
		if size < minPDFSize {
			return 0, fmt.Errorf("a generated PDF is at least %d bytes", minPDFSize)
		}
		rows = (size-minPDFSize)/imageWidth + 1
		for rows > 0 && pdfSize(rows, 0) > size {
			rows--
		}
		pad = size - pdfSize(rows, 0)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := &countingWriter{w: bw}
	emitPDF(cw, rows, pad)
	if err := bw.Flush(); err != nil && cw.err == nil {
		cw.err = err
	}
	if cw.err != nil {
		return cw.n, fmt.Errorf("write PDF: %w", cw.err)
	}
	if size > 0 && cw.n != size {
		return cw.n, fmt.Errorf("generated PDF is %d bytes, not %d", cw.n, size)
	}
	return cw.n, nil
}

// pdfSize is the length of the PDF with rows image rows and pad padding
// bytes, measured without making the image.
func pdfSize(rows, pad int64) int64 {
	cw := &countingWriter{w: io.Discard, skipImage: true}
	emitPDF(cw, rows, pad)
	return cw.n
}

// emitPDF writes the document. With cw.skipImage it writes everything but
// the image bytes, which skeletonSize uses to measure.
func emitPDF(cw *countingWriter, rows, pad int64) {
	const (
		catalog = 1
		pages   = 2
		font    = 3
		page    = 4
		content = 5
		image   = 6
		nobj    = 7 // object 0 is the free-list head
	)
	var offsets [nobj]int64
	obj := func(n int, body string) {
		offsets[n] = cw.n
		fmt.Fprintf(cw, "%d 0 obj\n%s\nendobj\n", n, body)
	}
	const w, h = 595, 842 // A4 in points
	cw.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	obj(catalog, fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", pages))
	obj(pages, fmt.Sprintf("<< /Type /Pages /Kids [%d 0 R] /Count 1 /MediaBox [0 0 %d %d] >>", page, w, h))
	obj(font, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	obj(page, fmt.Sprintf("<< /Type /Page /Parent %d 0 R /Resources << /Font << /F1 %d 0 R >> /XObject << /Im1 %d 0 R >> >> /Contents %d 0 R >>",
		pages, font, image, content))
	stream := "BT\n/F1 24 Tf\n72 734 Td\n(printgate-load test document) Tj\nET\n"
	// The image fills the area below the text, at most the page's height.
	stream += fmt.Sprintf("q\n451 0 0 %d 72 72 cm\n/Im1 Do\nQ\n", min(600, max(1, rows*451/imageWidth)))
	obj(content, fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", len(stream), stream))

	offsets[image] = cw.n
	fmt.Fprintf(cw, "%d 0 obj\n<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Length %d >>\nstream\n",
		image, imageWidth, max(rows, 1), max(rows, 1)*imageWidth)
	// Rows 0 and 1 both make a one-row image: the smallest valid one.
	cw.writeImage(max(rows, 1) * imageWidth)
	cw.WriteString("\nendstream\nendobj\n")

	xref := cw.n
	fmt.Fprintf(cw, "xref\n0 %d\n0000000000 65535 f \n", nobj)
	for n := 1; n < nobj; n++ {
		fmt.Fprintf(cw, "%010d 00000 n \n", offsets[n])
	}
	fmt.Fprintf(cw, "trailer\n<< /Size %d /Root %d 0 R ", nobj, catalog)
	// The padding sits after the table, so that it moves no offset.
	switch {
	case pad == 1:
		cw.WriteString(" ")
	case pad > 1:
		cw.WriteString("%" + strings.Repeat("x", int(pad-2)) + "\n")
	}
	fmt.Fprintf(cw, ">>\nstartxref\n%d\n%%%%EOF\n", xref)
}

// countingWriter counts what it writes and keeps the first error.
type countingWriter struct {
	w         io.Writer
	n         int64
	err       error
	skipImage bool
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

func (c *countingWriter) WriteString(s string) {
	_, _ = io.WriteString(c, s)
}

// writeImage writes n pseudo-random pixel bytes (xorshift, fixed seed: the
// same size gives the same document), or only counts them.
func (c *countingWriter) writeImage(n int64) {
	if c.skipImage {
		c.n += n
		return
	}
	var buf [32 << 10]byte
	x := uint64(0x9e3779b97f4a7c15)
	for n > 0 && c.err == nil {
		chunk := buf[:min(n, int64(len(buf)))]
		for i := range chunk {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			chunk[i] = byte(x)
		}
		_, _ = c.Write(chunk)
		n -= int64(len(chunk))
	}
}

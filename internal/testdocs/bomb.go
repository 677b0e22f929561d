package testdocs

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/adler32"
)

// PDFBomb returns a small PDF that decompresses hugely: a page tree of
// streams pages, each page kept in its own object stream beside a padding
// object of padding blank bytes, so that counting its pages decompresses
// streams × padding bytes. PDFBomb(16, 64<<20) is about 1 MB and needs
// 1 GiB decoded. It is a valid document: a reader that stays within a
// budget can still count it.
func PDFBomb(streams, padding int) []byte {
	n := streams
	page := func(i int) int { return 3 + i }
	pad := func(i int) int { return 3 + n + i }
	objStm := func(i int) int { return 3 + 2*n + i }
	xrefObj := 3 + 3*n

	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, xrefObj+1)
	offsets[1] = b.Len()
	b.WriteString("1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	offsets[2] = b.Len()
	kids := ""
	for i := range n {
		kids += fmt.Sprintf("%d 0 R ", page(i))
	}
	fmt.Fprintf(&b, "2 0 obj\n<< /Type /Pages /Kids [%s] /Count %d >>\nendobj\n", kids, n)
	pageObj := "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> null"
	tail := deflateBlank(padding)
	for i := range n {
		prolog := fmt.Sprintf("%d 0 %d %d ", page(i), pad(i), len(pageObj)-len("null"))
		z := zlibJoin([]byte(prolog+pageObj), tail, padding)
		offsets[objStm(i)] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n<< /Type /ObjStm /N 2 /First %d /Filter /FlateDecode /Length %d >>\nstream\n",
			objStm(i), len(prolog), z.Len())
		b.Write(z.Bytes())
		b.WriteString("\nendstream\nendobj\n")
	}
	offsets[xrefObj] = b.Len()
	var x bytes.Buffer
	entry := func(typ byte, f2 int, f3 int) {
		x.Write([]byte{typ, byte(f2 >> 24), byte(f2 >> 16), byte(f2 >> 8), byte(f2), byte(f3 >> 8), byte(f3)})
	}
	entry(0, 0, 0xffff)
	entry(1, offsets[1], 0)
	entry(1, offsets[2], 0)
	for i := range n {
		entry(2, objStm(i), 0)
	}
	for i := range n {
		entry(2, objStm(i), 1)
	}
	for i := range n {
		entry(1, offsets[objStm(i)], 0)
	}
	entry(1, offsets[xrefObj], 0)
	fmt.Fprintf(&b, "%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n",
		xrefObj, xrefObj+1, x.Len())
	b.Write(x.Bytes())
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", offsets[xrefObj])
	return b.Bytes()
}

// deflateBlank compresses n blanks once into non-final deflate blocks that
// refer to nothing before them, so that zlibJoin can reuse them after any
// prefix: compressing 1 GiB for every bomb would take seconds.
func deflateBlank(n int) []byte {
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.BestCompression)
	blank := bytes.Repeat([]byte{' '}, 1<<20)
	for left := n; left > 0; left -= len(blank) {
		w.Write(blank[:min(left, len(blank))])
	}
	w.Flush()
	return z.Bytes()
}

// zlibJoin returns the zlib stream of prefix followed by n blanks, whose
// deflate blocks are tail.
func zlibJoin(prefix, tail []byte, n int) *bytes.Buffer {
	var z bytes.Buffer
	z.Write([]byte{0x78, 0xda})
	w, _ := flate.NewWriter(&z, flate.BestCompression)
	w.Write(prefix)
	w.Flush()
	z.Write(tail)
	z.Write([]byte{0x03, 0x00}) // a final empty block
	sum := adler32.New()
	sum.Write(prefix)
	blank := bytes.Repeat([]byte{' '}, 1<<20)
	for left := n; left > 0; left -= len(blank) {
		sum.Write(blank[:min(left, len(blank))])
	}
	z.Write(binary.BigEndian.AppendUint32(nil, sum.Sum32()))
	return &z
}

// PDFContentBomb returns a PDF of pages pages, each with a content
// stream of its own that decompresses to blank blank bytes, and then
// draws nothing: PDFContentBomb(1, 64<<20) is about 64 KB. Page counting
// never decodes page content; stamping rewrites it.
func PDFContentBomb(pages, blank int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := []int{0, b.Len()}
	b.WriteString("1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	kids := ""
	for i := range pages {
		kids += fmt.Sprintf("%d 0 R ", 3+2*i)
	}
	offsets = append(offsets, b.Len())
	fmt.Fprintf(&b, "2 0 obj\n<< /Type /Pages /Kids [%s] /Count %d >>\nendobj\n", kids, pages)
	tail := deflateBlank(blank)
	for i := range pages {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R >>\nendobj\n",
			3+2*i, 4+2*i)
		z := zlibJoin(nil, tail, blank)
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n<< /Filter /FlateDecode /Length %d >>\nstream\n", 4+2*i, z.Len())
		b.Write(z.Bytes())
		b.WriteString("\nendstream\nendobj\n")
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets))
	for _, o := range offsets[1:] {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets), xref)
	return b.Bytes()
}

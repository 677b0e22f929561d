package testdocs

import (
	"bytes"
	"fmt"
	"strconv"
)

// PageSize is the paper size of a generated document.
type PageSize int

// The paper sizes the generators know.
const (
	A4     PageSize = iota + 1 // ISO A4, 210 × 297 mm
	Letter                     // US Letter, 8.5 × 11 in
)

// Points returns the width and height of the paper in PostScript points
// (1/72 inch), rounded as PDF and PostScript writers usually round them.
func (s PageSize) Points() (width, height int) {
	switch s {
	case A4:
		return 595, 842
	case Letter:
		return 612, 792
	}
	panic(fmt.Sprintf("testdocs: unknown page size %d", int(s)))
}

// String returns the PWG self-describing media name of the size.
func (s PageSize) String() string {
	switch s {
	case A4:
		return "iso_a4_210x297mm"
	case Letter:
		return "na_letter_8.5x11in"
	}
	return "PageSize(" + strconv.Itoa(int(s)) + ")"
}

// PDF returns a PDF 1.4 document of the given number of pages. Every page
// shows text and "Page i of n" in Helvetica, in an uncompressed content
// stream. pages must be at least 1.
func PDF(pages int, text string, size PageSize) []byte {
	if pages < 1 {
		panic("testdocs: PDF needs at least one page")
	}
	w, h := size.Points()

	const (
		catalogObj = 1
		pagesObj   = 2
		fontObj    = 3
		infoObj    = 4
		firstPage  = 5 // then page and content objects alternate
	)
	nobj := firstPage + 2*pages // object 0 is the free-list head

	var b bytes.Buffer
	offsets := make([]int, nobj)
	obj := func(n int, body string) {
		offsets[n] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", n, body)
	}

	// The second line's high bytes tell transfer tools the file is binary.
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	obj(catalogObj, fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", pagesObj))

	var kids bytes.Buffer
	for i := range pages {
		if i > 0 {
			kids.WriteByte(' ')
		}
		fmt.Fprintf(&kids, "%d 0 R", firstPage+2*i)
	}
	obj(pagesObj, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d /MediaBox [0 0 %d %d] >>",
		kids.String(), pages, w, h))
	obj(fontObj, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	obj(infoObj, fmt.Sprintf("<< /Title %s /Producer (printgate testdocs) >>", pdfString(text)))

	for i := range pages {
		page, content := firstPage+2*i, firstPage+2*i+1
		obj(page, fmt.Sprintf("<< /Type /Page /Parent %d 0 R /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>",
			pagesObj, fontObj, content))
		stream := fmt.Sprintf("BT\n/F1 24 Tf\n72 %d Td\n%s Tj\n0 -36 Td\n/F1 14 Tf\n%s Tj\nET\n"+
			"0.5 w\n36 36 %d %d re\nS\n",
			h-108, pdfString(text), pdfString(pageLabel(i+1, pages)), w-72, h-72)
		obj(content, fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", len(stream), stream))
	}

	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n", nobj)
	// Each entry is exactly 20 bytes: the line ends in a space and LF.
	b.WriteString("0000000000 65535 f \n")
	for n := 1; n < nobj; n++ {
		fmt.Fprintf(&b, "%010d 00000 n \n", offsets[n])
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n",
		nobj, catalogObj, infoObj, xref)
	return b.Bytes()
}

// pageLabel is the second line of text on every page.
func pageLabel(page, pages int) string {
	return fmt.Sprintf("Page %d of %d", page, pages)
}

// pdfString returns s as a PDF literal string. PostScript strings use the
// same escapes, so DSC shares it. Runes outside Latin-1 become '?', as the
// documents use a single-byte encoding.
func pdfString(s string) string {
	var b bytes.Buffer
	b.WriteByte('(')
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r >= 0xa0 && r <= 0xff:
			fmt.Fprintf(&b, "\\%03o", r)
		default:
			b.WriteByte('?')
		}
	}
	b.WriteByte(')')
	return b.String()
}

package testdocs

import (
	"bytes"
	"fmt"
)

// ForgedCountPDF returns an A4 PDF 1.4 document with one page for each of
// texts, drawn in Helvetica as PDF draws its text, whose page tree's
// /Count says count, true or not. Poppler (pdftotext) believes /Count and
// shows no page past it; printgate's page count, Ghostscript and printers
// follow the tree's kids and print every page. texts must not be empty.
func ForgedCountPDF(count int, texts ...string) []byte {
	if len(texts) == 0 {
		panic("testdocs: PDF needs at least one page")
	}
	w, h := A4.Points()
	const catalog, tree, font, firstPage = 1, 2, 3, 4 // then page and content objects alternate
	objs := []string{
		catalog - 1: fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", tree),
		font - 1:    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
	}
	var kids bytes.Buffer
	for i, text := range texts {
		page := firstPage + 2*i
		fmt.Fprintf(&kids, " %d 0 R", page)
		stream := fmt.Sprintf("BT\n/F1 14 Tf\n72 %d Td\n%s Tj\nET\n", h-108, pdfString(text))
		objs = append(objs,
			fmt.Sprintf("<< /Type /Page /Parent %d 0 R /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>", tree, font, page+1),
			fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", len(stream), stream))
	}
	objs[tree-1] = fmt.Sprintf("<< /Type /Pages /Kids [%s ] /Count %d /MediaBox [0 0 %d %d] >>", kids.String(), count, w, h)
	return RawPDF(objs, catalog)
}

// RawPDF returns a PDF 1.4 file of objs, object n being objs[n-1], with
// its cross-reference table; root is the catalog's object. The objects are
// written as given: a test builds what no PDF library would write.
func RawPDF(objs []string, root int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, body := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, body)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, root, xref)
	return b.Bytes()
}

// PSPage is a page of PSDocument: Text shown as text, Outline drawn as
// shapes (charpath fill), which text extraction cannot read and OCR and
// printers do, as a number pasted in as an image or converted to
// outlines.
type PSPage struct{ Text, Outline string }

// PSDocument returns an A4 PostScript document of pages, in Helvetica,
// that runs setup (PostScript, "" for none) before its first page.
// dscPages, when not negative, is the pages its DSC comments declare,
// true or not: %%Pages: dscPages, and a %%Page: comment before each of
// the first dscPages pages, the others drawn after the last as part of
// it. Negative leaves the DSC comments out, as a program written by hand
// does.
func PSDocument(dscPages int, setup string, pages ...PSPage) []byte {
	var b bytes.Buffer
	if dscPages >= 0 {
		fmt.Fprintf(&b, "%%!PS-Adobe-3.0\n%%%%Pages: %d\n%%%%EndComments\n", dscPages)
	} else {
		b.WriteString("%!PS\n")
	}
	if setup != "" {
		b.WriteString(setup + "\n")
	}
	for i, p := range pages {
		if i < dscPages {
			fmt.Fprintf(&b, "%%%%Page: %d %d\n", i+1, i+1)
		}
		b.WriteString("newpath 36 36 moveto 100 100 rlineto stroke\n")
		if p.Text != "" {
			fmt.Fprintf(&b, "/Helvetica findfont 14 scalefont setfont 72 760 moveto %s show\n", pdfString(p.Text))
		}
		if p.Outline != "" {
			fmt.Fprintf(&b, "/Helvetica findfont 28 scalefont setfont 72 600 moveto %s true charpath fill\n", pdfString(p.Outline))
		}
		b.WriteString("showpage\n")
	}
	if dscPages >= 0 {
		b.WriteString("%%EOF\n")
	}
	return b.Bytes()
}

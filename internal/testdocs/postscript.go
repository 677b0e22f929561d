package testdocs

import (
	"bytes"
	"fmt"
)

// PostScript returns a DSC-conforming PostScript document of the given
// number of A4 pages; see DSC.
func PostScript(pages int) []byte {
	return DSC(pages, "printgate test document", A4)
}

// DSC returns a PostScript document that conforms to the Document
// Structuring Conventions 3.0: a %%Pages: n header comment and one
// %%Page: marker per page. Every page shows text and "Page i of n" in
// Helvetica. pages must be at least 1.
func DSC(pages int, text string, size PageSize) []byte {
	if pages < 1 {
		panic("testdocs: PostScript needs at least one page")
	}
	w, h := size.Points()
	media := "A4"
	if size == Letter {
		media = "Letter"
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, "%%!PS-Adobe-3.0\n")
	fmt.Fprintf(&b, "%%%%Title: %s\n", dscText(text))
	fmt.Fprintf(&b, "%%%%Creator: printgate testdocs\n")
	fmt.Fprintf(&b, "%%%%LanguageLevel: 2\n")
	fmt.Fprintf(&b, "%%%%Pages: %d\n", pages)
	fmt.Fprintf(&b, "%%%%PageOrder: Ascend\n")
	fmt.Fprintf(&b, "%%%%BoundingBox: 0 0 %d %d\n", w, h)
	fmt.Fprintf(&b, "%%%%DocumentMedia: %s %d %d 0 () ()\n", media, w, h)
	fmt.Fprintf(&b, "%%%%DocumentNeededResources: font Helvetica\n")
	fmt.Fprintf(&b, "%%%%EndComments\n")
	fmt.Fprintf(&b, "%%%%BeginProlog\n")
	fmt.Fprintf(&b, "/label { /Helvetica findfont exch scalefont setfont moveto show } bind def\n")
	fmt.Fprintf(&b, "%%%%EndProlog\n")
	fmt.Fprintf(&b, "%%%%BeginSetup\n")
	fmt.Fprintf(&b, "%%%%IncludeResource: font Helvetica\n")
	fmt.Fprintf(&b, "%%%%BeginFeature: *PageSize %s\n", media)
	fmt.Fprintf(&b, "<< /PageSize [%d %d] >> setpagedevice\n", w, h)
	fmt.Fprintf(&b, "%%%%EndFeature\n")
	fmt.Fprintf(&b, "%%%%EndSetup\n")
	for i := 1; i <= pages; i++ {
		fmt.Fprintf(&b, "%%%%Page: %d %d\n", i, i)
		fmt.Fprintf(&b, "%%%%PageMedia: %s\n", media)
		fmt.Fprintf(&b, "%s 72 %d 24 label\n", pdfString(text), h-108)
		fmt.Fprintf(&b, "%s 72 %d 14 label\n", pdfString(pageLabel(i, pages)), h-144)
		fmt.Fprintf(&b, "0.5 setlinewidth 36 36 %d %d rectstroke\n", w-72, h-72)
		fmt.Fprintf(&b, "showpage\n")
	}
	fmt.Fprintf(&b, "%%%%Trailer\n")
	fmt.Fprintf(&b, "%%%%EOF\n")
	return b.Bytes()
}

// dscText returns s as DSC <text>: a PostScript string when it holds
// characters that would end or split the comment.
func dscText(s string) string {
	for _, r := range s {
		if r < 0x20 || r > 0x7e || r == '(' || r == ')' || r == '\\' {
			return pdfString(s)
		}
	}
	return s
}

// DefiantPS returns an A4 PostScript document that sets its printer up
// itself, as a print rule would not have it: its setup asks for one-sided
// printing and an RGB device (<< /Duplex false /ProcessColorModel
// /DeviceRGB >> setpagedevice), and each of its pages is a block of
// saturated colour (red, green, blue in turn). pages must be at least 1.
func DefiantPS(pages int) []byte {
	if pages < 1 {
		panic("testdocs: PostScript needs at least one page")
	}
	colors := []string{"1 0 0", "0 1 0", "0 0 1"}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%%!PS-Adobe-3.0\n%%%%Pages: %d\n%%%%BoundingBox: 0 0 595 842\n%%%%EndComments\n", pages)
	b.WriteString("%%BeginSetup\n<< /PageSize [595 842] /Duplex false /ProcessColorModel /DeviceRGB >> setpagedevice\n%%EndSetup\n")
	for i := 1; i <= pages; i++ {
		fmt.Fprintf(&b, "%%%%Page: %d %d\n%s setrgbcolor 72 72 451 698 rectfill showpage\n", i, i, colors[(i-1)%len(colors)])
	}
	b.WriteString("%%EOF\n")
	return b.Bytes()
}

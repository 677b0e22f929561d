package convert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/testdocs"
)

// drawnPDF returns an A4 PDF with one page per content stream given,
// each with Helvetica as /F1.
func drawnPDF(pages ...string) []byte {
	var kids []string
	for i := range pages {
		kids = append(kids, fmt.Sprintf("%d 0 R", 4+2*i))
	}
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d /MediaBox [0 0 595 842] >>", strings.Join(kids, " "), len(pages)),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	for i, content := range pages {
		objs = append(objs,
			fmt.Sprintf("<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i),
			fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content)+1, content))
	}
	return testdocs.RawPDF(objs, 1)
}

// Page contents: greys written as DeviceGray and as RGB with r = g = b,
// and colour, large and small.
const (
	greyPage = "0.5 g 72 300 450 400 re f 0.8 g 72 100 200 100 re f 0 g\n" +
		"BT /F1 24 Tf 72 760 Td (Quarterly report) Tj ET 0.3 G 4 w 72 740 m 520 740 l S"
	rgbGreyPage = "0.5 0.5 0.5 rg 72 300 450 400 re f 0.25 0.25 0.25 RG 4 w 72 740 m 520 740 l S\n" +
		"0.2 0.2 0.2 rg BT /F1 24 Tf 72 760 Td (Quarterly report) Tj ET 0 0 0 rg 72 72 40 40 re f"
	redPage = "0 g BT /F1 24 Tf 72 760 Td (Sales) Tj ET 1 0 0 rg 100 100 200 200 re f"
	// One red word of 10-point text among black: a stamp's "Approved".
	redWordPage = "0 g BT /F1 10 Tf 72 600 Td (Body text in black) Tj ET 1 0 0 rg BT /F1 10 Tf 72 700 Td (Approved) Tj ET"
)

// psDoc returns a PostScript document with one page per procedure body.
func psDoc(pages ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%%!PS-Adobe-3.0\n%%%%Pages: %d\n%%%%EndComments\n<< /PageSize [595 842] >> setpagedevice\n", len(pages))
	for i, p := range pages {
		fmt.Fprintf(&b, "%%%%Page: %d %d\n%s\nshowpage\n", i+1, i+1, p)
	}
	b.WriteString("%%EOF\n")
	return b.Bytes()
}

func repeat(s string, n int) []string {
	p := make([]string, n)
	for i := range p {
		p[i] = s
	}
	return p
}

// TestContentColor measures documents in the sandbox: colour anywhere
// in the pages read is colour, greys of every kind are monochrome, and a
// document longer than the pages read without colour on them is unknown.
func TestContentColor(t *testing.T) {
	x := newTextExtractor(t, TextLimits())
	long := repeat(greyPage, ContentColorPages+1)
	longLastRed := append(repeat(greyPage, ContentColorPages), redPage)
	for _, tc := range []struct {
		name, format string
		doc          []byte
		want         audit.Color
	}{
		{"red rectangle", PDF, drawnPDF(redPage), audit.ColorColor},
		{"grey text and fills", PDF, drawnPDF(greyPage), audit.ColorMono},
		{"RGB greys", PDF, drawnPDF(rgbGreyPage), audit.ColorMono},
		{"one red word", PDF, drawnPDF(redWordPage), audit.ColorColor},
		{"colour on page 3 of 4", PDF, drawnPDF(greyPage, rgbGreyPage, redPage, greyPage), audit.ColorColor},
		{"black text (testdocs)", PDF, testdocs.PDF(3, "Lunch menu", testdocs.A4), audit.ColorMono},
		{"CMYK composite grey", PDF, drawnPDF("0.4 0.4 0.4 0 k 72 300 450 400 re f"), audit.ColorColor},
		{"grey pages past those read", PDF, drawnPDF(long...), audit.ColorUnknown},
		{"colour on the one page past ContentColorPages", PDF, drawnPDF(longLastRed...), audit.ColorColor},
		// 1 GiB of blank pages when decompressed: read within the limits.
		{"PDF bomb", PDF, testdocs.PDFBomb(16, 64<<20), audit.ColorMono},
		{"PostScript page of 5 × 5 m", PostScript, psDoc("<< /PageSize [14400 14400] >> setpagedevice " +
			"1 0 0 setrgbcolor 0 0 14400 14400 rectfill"), audit.ColorColor},
		{"PostScript black text", PostScript, testdocs.PostScript(2), audit.ColorMono},
		{"PostScript RGB greys", PostScript, psDoc("0.5 0.5 0.5 setrgbcolor 72 72 400 400 rectfill",
			"0.3 setgray 72 72 100 100 rectfill"), audit.ColorMono},
		{"PostScript colour", PostScript, testdocs.DefiantPS(3), audit.ColorColor},
		// The document prints what the device would write: it must not
		// reach the lines read.
		{"PostScript printing coverage lines", PostScript,
			psDoc("(0.90000 0.90000 0.90000 0.00000 CMYK OK\\n) print flush 0 setgray 72 72 100 100 rectfill"),
			audit.ColorMono},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := x.ContentColor(context.Background(), bytes.NewReader(tc.doc), tc.format)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("colour %q, want %q", got, tc.want)
			}
		})
	}
}

// TestContentColorFails: what cannot be measured is unknown, with an
// error that quotes nothing of the document.
func TestContentColorFails(t *testing.T) {
	l := TextLimits()
	l.Wall = 2 * time.Second
	l.Input = 1 << 20
	x := newTextExtractor(t, l)
	secret := "SECRET-123456789018"
	for _, tc := range []struct {
		name, format string
		doc          []byte
		limit        bool // ErrLimit is wanted
	}{
		{"garbage as PDF", PDF, []byte(secret + strings.Repeat(" garbage", 100)), false},
		{"empty", PDF, nil, false},
		{"truncated PDF", PDF, drawnPDF(redPage)[:200], false},
		// Read only in part, it would pass for monochrome.
		{"PDF missing a resource", PDF, drawnPDF(greyPage + " /Missing Do"), false},
		{"PostScript error", PostScript, []byte("%!PS\n/" + secret + " undefinedop\n"), false},
		{"JPEG", "image/jpeg", testdocs.JPEG(8, 8), false},
		{"endless loop", PostScript, []byte("%!PS\n{ 1 pop } loop\n"), true},
		{"endless pages", PostScript, []byte("%!PS\n{ 1 0 0 setrgbcolor 0 0 9 9 rectfill showpage } loop\n"), true},
		{"memory hog", PostScript, []byte("%!PS\n[ 1 1 200 { pop 10000000 string } for ]\n"), false},
		{"over the input limit", PDF, append(drawnPDF(redPage), make([]byte, 2<<20)...), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			got, err := x.ContentColor(context.Background(), bytes.NewReader(tc.doc), tc.format)
			if got != audit.ColorUnknown || err == nil {
				t.Fatalf("colour %q, error %v; want unknown with an error", got, err)
			}
			if strings.Contains(err.Error(), "123456789018") {
				t.Errorf("the error quotes the document: %v", err)
			}
			if tc.limit && !errors.Is(err, ErrLimit) {
				t.Errorf("error %v, want ErrLimit", err)
			}
			// Generous: the machine is shared; an unbounded run never ends.
			if d := time.Since(start); d > time.Minute {
				t.Errorf("took %v with a wall limit of %v", d, l.Wall)
			}
		})
	}
}

// BenchmarkContentColor measures what a submission would pay to know a
// document's colour.
func BenchmarkContentColor(b *testing.B) {
	x := newTextExtractor(b, TextLimits())
	for _, pages := range []int{1, 10} {
		doc := drawnPDF(append(repeat(rgbGreyPage, pages-1), redWordPage)...)
		b.Run(fmt.Sprintf("pdf-%dpages", pages), func(b *testing.B) {
			for b.Loop() {
				c, err := x.ContentColor(context.Background(), bytes.NewReader(doc), PDF)
				if err != nil || c != audit.ColorColor {
					b.Fatal(c, err)
				}
			}
		})
	}
}

package pages

import (
	"strings"
	"testing"
)

func TestCountPostScript(t *testing.T) {
	long := strings.Repeat("x", 100_000)
	tests := []struct {
		name      string
		doc       string
		wantPages int
		wantWhy   string
	}{
		{"header and markers", "%!PS-Adobe-3.0\n%%Pages: 2\n%%EndComments\n%%Page: 1 1\nshowpage\n%%Page: 2 2\nshowpage\n%%EOF\n", 2, ""},
		{"markers win over a false header", "%!PS-Adobe-3.0\n%%Pages: 1\n%%EndComments\n%%Page: 1 1\n%%Page: 2 2\n%%Page: 3 3\n", 3, ""},
		{"header without markers", "%!PS-Adobe-3.0\n%%Pages: 4\n%%EndComments\nshowpage\n", 4, ""},
		{"page order after the count", "%!PS-Adobe-2.0\n%%Pages: 5 -1\n", 5, ""},
		{"atend", "%!PS-Adobe-3.0\n%%Pages: (atend)\n%%EndComments\nshowpage\n%%Trailer\n%%Pages: 6\n%%EOF\n", 6, ""},
		{"the last trailer count", "%!PS-Adobe-3.0\n%%Pages: (atend)\n%%Trailer\n%%Pages: 1\n%%Pages: 2\n", 2, ""},
		{"the first header count", "%!PS-Adobe-3.0\n%%Pages: 3\n%%Pages: 9\n%%EndComments\n", 3, ""},
		{"header ends at code", "%!PS\n%%Title: x\n/x 1 def\n%%Pages: 9\n", 0, "no DSC"},
		{"header ends at the first page", "%!PS\n%%Pages: (atend)\n%%Page: 1 1\n%%Trailer\n", 1, ""},
		{"embedded documents are not counted", "%!PS-Adobe-3.0\n%%Pages: 2\n%%EndComments\n%%Page: 1 1\n" +
			"%%BeginDocument: a.eps\n%!PS-Adobe-3.0 EPSF-3.0\n%%Pages: 7\n%%Page: 1 1\n%%Page: 2 2\n%%EndDocument\n" +
			"%%Page: 2 2\n%%Trailer\n", 2, ""},
		{"nested embedding", "%!PS\n%%EndComments\n%%Page: 1 1\n%%BeginDocument: a\n%%BeginDocument: b\n%%Page: x 1\n%%EndDocument\n%%Page: y 2\n%%EndDocument\n%%Page: 2 2\n", 2, ""},
		{"binary sections are not counted", "%!PS\n%%EndComments\n%%Page: 1 1\n%%BeginData: 2 Binary Lines\n%%Page: 9 9\n%%EndData\n%%BeginBinary: 8\n%%Page: 8 8\n%%EndBinary\n", 1, ""},
		{"unbalanced end of document", "%!PS\n%%EndComments\n%%EndDocument\n%%Page: 1 1\n", 1, ""},
		{"markers in the trailer are not counted", "%!PS\n%%Pages: (atend)\n%%EndComments\n%%Page: 1 1\n%%Trailer\n%%Page: 2 2\n", 1, ""},
		{"CR line ends", "%!PS-Adobe-3.0\r%%Pages: 2\r%%EndComments\r%%Page: 1 1\r%%Page: 2 2\r", 2, ""},
		{"CR LF line ends", "%!PS-Adobe-3.0\r\n%%Pages: 2\r\n%%EndComments\r\n%%Page: 1 1\r\n%%Page: 2 2\r\n", 2, ""},
		{"no final line end", "%!PS\n%%EndComments\n%%Page: 1 1", 1, ""},
		{"ctrl-d before the header", "\x04%!PS-Adobe-3.0\n%%Pages: 2\n", 2, ""},
		{"a marker inside a long line is not a marker", "%!PS\n%%EndComments\n%%Page: 1 1\n" + long + "\n%%Page: 2 2\n" + long + "%%Page: 3 3\n", 2, ""},
		{"a marker after 255 bytes of a line is not a marker", "%!PS\n%%EndComments\n" + strings.Repeat("y", 255) + "%%Page: 1 1\n%%Page: 1 1\n", 1, ""},
		{"a long comment still counts", "%!PS\n%%EndComments\n%%Page: " + long + "\n", 1, ""},
		{"zero pages", "%!PS\n%%Pages: 0\n", 0, ""},
		{"no DSC comments", "%!PS\n/Helvetica findfont 12 scalefont setfont\nshowpage\n", 0, "no DSC"},
		{"atend without a trailer", "%!PS\n%%Pages: (atend)\n%%EndComments\nshowpage\n", 0, "no DSC"},
		{"negative count", "%!PS\n%%Pages: -3\n", 0, "no DSC"},
		{"count too large", "%!PS\n%%Pages: 99999999999999999999\n", 0, "no DSC"},
		{"not a number", "%!PS\n%%Pages: many\n", 0, "no DSC"},
		{"empty", "", 0, "no DSC"},
		{"binary garbage", "%!\x00\xff\r\r\n\n\x00%%Page\x00", 0, "no DSC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertCount(t, FormatPostScript, []byte(tt.doc), tt.wantPages, tt.wantWhy)
		})
	}
}

func TestLineSplitterKeepsMemoryBounded(t *testing.T) {
	// A 50 MB line without an end: the scanner's buffer must not grow to
	// hold it (it is capped at 4 KiB, so a growing buffer would fail).
	doc := "%!PS\n%%Pages: 1\n%%EndComments\n" + strings.Repeat("z", 50<<20)
	assertCount(t, FormatPostScript, []byte(doc), 1, "")
}

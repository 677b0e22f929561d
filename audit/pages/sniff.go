package pages

import "bytes"

// Formats that Sniff recognises besides the countable ones.
const (
	FormatPCL  = "application/vnd.hp-pcl"
	FormatText = "text/plain"
)

// SniffSize is how much of a document's start Sniff looks at: enough for
// the PJL job header that printer drivers put before PostScript, PDF or
// PCL, and for the 1024 bytes within which PDF readers look for the
// header.
const SniffSize = 4096

// pdfHeaderWindow is how far into a document PDF readers look for
// "%PDF-" (PDF 32000-1's compatibility notes, Annex H): bytes before the
// header are a common leftover of drivers and mail gateways.
const pdfHeaderWindow = 1024

// pjlUEL is the Universal Exit Language command that starts a PJL job.
var pjlUEL = []byte("\x1b%-12345X")

// Sniff identifies a document from its first bytes: head holds up to
// SniffSize bytes of it (all of it when it is shorter). It returns one of
// the Format constants (PDF, PostScript, PWG raster, URF, JPEG, PNG, PCL or
// plain text), or "" when the bytes are none of them. It reads no more
// than head and allocates nothing, so it runs on the buffer a submission
// already holds, before anything is stored.
//
// A PJL job header is skipped and the document inside it identified.
// Plain text is what no other format claims and holds no control
// character a text file would not: bytes above 0x7f are allowed, so that
// Shift_JIS and EUC-JP text is text too.
func Sniff(head []byte) string {
	head = head[:min(len(head), SniffSize)]
	body := skipPJL(head)
	if f := Detect(body); f != "" {
		return f
	}
	if isPCL(body) {
		return FormatPCL
	}
	if bytes.Contains(body[:min(len(body), pdfHeaderWindow)], []byte("%PDF-")) {
		return FormatPDF
	}
	if len(body) > 0 && isText(head) {
		return FormatText
	}
	return ""
}

// Recognizes reports whether Sniff can tell a document of format (an IPP
// document-format value) from others: for these formats, content that
// Sniff does not identify as the format is not the format.
func Recognizes(format string) bool {
	switch normalizeFormat(format) {
	case FormatPDF, FormatPostScript, FormatPWGRaster, FormatURF, FormatJPEG, FormatPNG, FormatPCL, FormatText:
		return true
	}
	return false
}

// skipPJL returns what follows the PJL job header that head starts with:
// the UEL, then "@PJL" command lines. A head without one is returned as it
// is; one whose header goes on past head yields nothing.
func skipPJL(head []byte) []byte {
	rest, ok := bytes.CutPrefix(head, pjlUEL)
	if !ok {
		return head
	}
	for {
		// Blank lines and line ends between commands are allowed.
		rest = bytes.TrimLeft(rest, "\r\n")
		if len(rest) < 4 || !bytes.EqualFold(rest[:4], []byte("@PJL")) {
			return rest
		}
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return nil
		}
		rest = rest[i+1:]
	}
}

// isPCL reports whether body starts with a PCL escape sequence: a reset
// (ESC E), a parameterised command (ESC & or ESC *), or a switch to
// HP-GL/2 (ESC % digit or sign). ESC ( and ESC ) are left out: ISO-2022-JP
// text can start so.
func isPCL(body []byte) bool {
	if len(body) < 3 || body[0] != 0x1b {
		return false
	}
	switch c := body[1]; c {
	case 'E', '&', '*':
		return true
	case '%':
		return body[2] == '-' || body[2] >= '0' && body[2] <= '9'
	}
	return false
}

// isText reports whether head could be the start of a text file: not
// empty, no NUL, and no control character but those text uses (backspace,
// tab, line ends, form feed, ESC and shift out/in for ISO-2022-JP, and
// the ^Z that ends DOS files).
func isText(head []byte) bool {
	for _, c := range head {
		if c == 0x7f || c < 0x20 && !textControl(c) {
			return false
		}
	}
	return len(head) > 0
}

func textControl(c byte) bool {
	switch c {
	case '\b', '\t', '\n', '\v', '\f', '\r', 0x0e, 0x0f, 0x1a, 0x1b:
		return true
	}
	return false
}

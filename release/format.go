package release

import (
	"fmt"
	"strings"

	"github.com/printgate/printgate/audit/pages"
)

// A document's content must be what its client declared (README,
// "Document formats"). The check reads the first pages.SniffSize bytes,
// which receive holds in its buffer before anything of the document is
// stored: a refused document leaves nothing behind, and none is read
// twice.

// formatOctetStream is the document-format with which a client asks the
// server to find the format itself.
const formatOctetStream = pages.FormatOctetStream

// checkFormat sets j.Format to the format its document is kept as, from
// the format the client declared (j.Format) and head, the document's
// first bytes. A declared format is kept when head is that format, or,
// for a format pages.Sniff cannot tell, when head is not positively
// another one; for application/octet-stream the format found is kept
// when q accepts it.
//
// Anything else is refused: with ErrFormatError when the content is not
// what was declared or is of no known format, with ErrFormatNotSupported
// when the client asked for detection and the content is of a known
// format q does not take. A queue that accepts unknown content
// (Queue.AcceptUnknownAsOctetStream) keeps such a document instead: as
// the format found when q takes it, otherwise as application/octet-stream,
// for the printer to judge.
//
// When the kept format is not the declared one, the declared one is kept
// in j.FormatSupplied for the audit record.
func checkFormat(q Queue, j *Job, head []byte) error {
	declared := baseFormat(j.Format)
	found := pages.Sniff(head)
	var kept string
	switch {
	case declared != formatOctetStream && matches(declared, found):
		return nil
	case found != "" && q.takes(found) && (declared == formatOctetStream || q.AcceptUnknownAsOctetStream):
		kept = found
	case q.AcceptUnknownAsOctetStream:
		kept = formatOctetStream
	case declared == formatOctetStream && found != "":
		return refuse(ErrFormatNotSupported, fmt.Sprintf("The document is %s, which this queue does not accept.", describe(found)))
	default:
		return refuse(ErrFormatError, mismatchMessage(declared, found))
	}
	if kept != j.Format {
		j.FormatSupplied, j.Format = j.Format, kept
	}
	return nil
}

// matches reports whether content sniffed as found may be a document of
// the declared format.
func matches(declared, found string) bool {
	if declared == found {
		return true
	}
	// A format Sniff cannot tell is taken on the client's word, unless
	// the content is positively something else; plain text is only what
	// no other format claims, so it says nothing.
	return !pages.Recognizes(declared) && (found == "" || found == pages.FormatText)
}

// takes reports whether q accepts documents of format; a queue without a
// list of formats takes any.
func (q Queue) takes(format string) bool {
	if len(q.Formats) == 0 {
		return true
	}
	for _, f := range q.Formats {
		if baseFormat(f) == format {
			return true
		}
	}
	return false
}

// mismatchMessage says what the document of a refused submission is, for
// its client's status-message (at most 255 octets).
func mismatchMessage(declared, found string) string {
	what := "in no format this server recognises"
	if found != "" {
		what = describe(found)
	}
	if declared == formatOctetStream {
		return fmt.Sprintf("The document's format could not be recognised: it is %s.", what)
	}
	return fmt.Sprintf("The document was sent as %s, but its content is %s.", shortFormat(declared), what)
}

// describe names a format Sniff finds for a person.
func describe(format string) string {
	switch format {
	case pages.FormatPDF:
		return "a PDF document"
	case pages.FormatPostScript:
		return "a PostScript document"
	case pages.FormatPWGRaster:
		return "PWG raster"
	case pages.FormatURF:
		return "Apple raster (URF)"
	case pages.FormatJPEG:
		return "a JPEG image"
	case pages.FormatPNG:
		return "a PNG image"
	case pages.FormatPCL:
		return "PCL"
	case pages.FormatText:
		return "plain text"
	}
	return format
}

// shortFormat keeps a client's format value short in a message.
func shortFormat(format string) string {
	if len(format) > 64 {
		return format[:64] + "..."
	}
	return format
}

// baseFormat lower-cases a MIME media type and drops its parameters.
func baseFormat(format string) string {
	format, _, _ = strings.Cut(format, ";")
	return strings.ToLower(strings.TrimSpace(format))
}

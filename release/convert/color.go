package convert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/printgate/printgate/audit"
)

// ContentColorPages is how many pages of a document ContentColor reads,
// from the first: each is rendered, and the whole run must stay within
// the extractor's limits.
const ContentColorPages = 20

// inkcovResolution is the dots per inch pages are measured at: an A4
// page is 298 × 421 pixels, enough to see a coloured word and quick to
// render.
const inkcovResolution = 36

// inkcovSetup makes black ink of every grey (full black generation and
// undercolour removal): with -dUseFastColor, Ghostscript turns RGB into
// CMYK by these PostScript functions rather than by ICC profiles, which
// would print an RGB grey with cyan, magenta and yellow as well.
const inkcovSetup = "{} setblackgeneration {} setundercolorremoval"

// ContentColor returns the colour class of what doc, a PDF or PostScript
// document, holds: audit.ColorColor when one of its first
// ContentColorPages pages has colour on it, audit.ColorMono when it has
// no more pages than those and none has. The pages are rendered by
// Ghostscript's inkcov device in the extractor's sandbox and within its
// limits; a grey, in whatever colour space the document writes it, is
// not colour, and cyan, magenta and yellow ink in equal parts (a
// "composite grey" of a CMYK document) is, as it prints with colour
// ink (see colorCoverage).
//
// It returns audit.ColorUnknown, never a guess, for a document longer
// than ContentColorPages with no colour on those (nil error), and with an
// error for any other format, a document Ghostscript cannot read, or one
// over the limits (ErrLimit); the error quotes nothing of the document.
// A PostScript document is a program and may draw otherwise for this
// device than for a printer: the printer's own counts, where it reports
// them, come first (audit.ColorFacts).
func (x *TextExtractor) ContentColor(ctx context.Context, doc io.Reader, format string) (audit.Color, error) {
	if format != PDF && format != PostScript {
		return audit.ColorUnknown, fmt.Errorf("convert: cannot read the colours of %s", format)
	}
	last := ContentColorPages + 1 // one more, to tell a longer document
	// PDFSTOPONERROR: a PDF Ghostscript can read only part of is unknown
	// rather than judged by the part. stdout=%stderr: what a PostScript
	// document prints itself does not mix with the device's lines.
	args := []string{"-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dPDFSTOPONERROR", "-dUseFastColor",
		"-sstdout=%stderr", "-sBandListStorage=memory", "-sDEVICE=inkcov",
		"-r" + strconv.Itoa(inkcovResolution), "-dFirstPage=1", "-dLastPage=" + strconv.Itoa(last),
		"-sOutputFile=/dev/fd/1", "-c", inkcovSetup, "-f", "/dev/fd/3"}
	out := boundedBuffer{max: last * (maxInkLine + 1)}
	if err := x.run(ctx, doc, pass{w: &out, path: x.gs, args: args}); err != nil {
		return audit.ColorUnknown, err
	}
	if out.over {
		return audit.ColorUnknown, fmt.Errorf("%w: more than %d bytes", errInkcov, out.max)
	}
	pages, err := parseInkCoverage(out.buf, last)
	if err != nil {
		return audit.ColorUnknown, err
	}
	return classify(pages)
}

// classify returns the colour class of a document whose first pages
// have coverage pages.
func classify(pages []Coverage) (audit.Color, error) {
	if len(pages) == 0 {
		return audit.ColorUnknown, errors.New("convert: the document has no page Ghostscript could read")
	}
	for _, p := range pages {
		if p.Color() {
			return audit.ColorColor, nil
		}
	}
	if len(pages) > ContentColorPages {
		return audit.ColorUnknown, nil
	}
	return audit.ColorMono, nil
}

// boundedBuffer keeps the first max bytes written to it and notes that
// there were more, without failing the writer: the process writing
// them goes on to its end rather than blocking on a full pipe.
type boundedBuffer struct {
	buf  []byte
	max  int
	over bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	n := min(len(p), b.max-len(b.buf))
	b.buf = append(b.buf, p[:n]...)
	if n < len(p) {
		b.over = true
	}
	return len(p), nil
}

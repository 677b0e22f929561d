package release

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release/convert"
	"github.com/printgate/printgate/release/printerinfo"
	"github.com/printgate/printgate/release/rules"
)

// conversion is what converted did to a document for its printer.
type conversion struct {
	from, to string
	// out is the converter's result; nil when nothing was converted.
	out *convertedDoc
	// pages are the pages the converter selected ("" for all), and
	// rules the force rules it rewrote the content for.
	pages string
	rules []string
}

// detail is the conversion for the audit events of the print.
func (c conversion) detail() string {
	if c.out == nil {
		return ""
	}
	return c.from + " -> " + c.to
}

// content is what a print asks of its document's content, beyond a
// format its printer takes.
type content struct {
	// forced are the force rules in force (forcedRules): the document
	// must not be able to undo them.
	forced []string
	// pages are page ranges the printer cannot select itself ("" for
	// none), left to the converter (honour).
	pages string
}

// converted returns doc as printer takes it. A printer that says which
// formats it takes and does not list req's gets the document converted
// (release/convert) to the first format the converter writes that it
// does list, and req's document-format says so; a printer that says
// nothing (AppSocket, not yet asked) gets the document as it is. A
// document the print's force rules or page selection need rewritten is
// converted even where the printer takes its format (need). A document
// no converter can make printable there fails with a *heldError. The
// caller closes the result.
func (s *Service) converted(ctx context.Context, printer string, req *ipp.PrintRequest, doc io.Reader, need content) (io.Reader, conversion, error) {
	c := conversion{from: req.DocumentFormat}
	info, _ := s.printers.Cached(printer)
	to, conv := req.DocumentFormat, false
	if info.Caps.Known && len(info.Caps.Formats) > 0 {
		var possible bool
		if to, conv, possible = convertChoose(req.DocumentFormat, info.Caps.Formats); !possible {
			return nil, c, &heldError{"document-format-not-supported",
				fmt.Sprintf("This printer does not print %s, and printgate cannot convert it to a format the printer takes. Print it at another printer.", req.DocumentFormat),
				fmt.Errorf("printer %s takes %v", printer, info.Caps.Formats)}
		}
	}
	if !conv && len(need.forced) == 0 && need.pages == "" {
		return doc, c, nil
	}
	if !conv {
		if !convert.Reads(req.DocumentFormat) {
			// need.pages comes only with a format the converter reads.
			if len(need.forced) > 0 && !enforceable(req.DocumentFormat) {
				return nil, c, &heldError{"rule-not-enforceable", rules.Unenforceable(need.forced[0], "", req.DocumentFormat),
					fmt.Errorf("rule %s on %s", need.forced[0], req.DocumentFormat)}
			}
			return doc, c, nil
		}
		to = rewriteTo(req.DocumentFormat, info.Caps.Formats)
	}
	if s.converter == nil {
		msg := fmt.Sprintf("This printer does not print %s, and converting documents is not set up. Ask an administrator, or print at another printer.", req.DocumentFormat)
		if len(need.forced) > 0 {
			msg = fmt.Sprintf("The print rule %s cannot be enforced: converting documents is not set up. Ask an administrator.", need.forced[0])
		}
		return nil, c, &heldError{"conversion-unavailable", msg, errors.New("no converter")}
	}
	// The converter selects the pages whenever it converts: a printer's
	// page-ranges are for the documents it takes as they are.
	c.pages, req.PageRanges = cmp.Or(need.pages, req.PageRanges), ""
	t := targetFor(to, req.ColorMode, info.Caps)
	t.Color = t.Color && !slices.Contains(need.forced, rules.ForceMonochrome)
	t.Sides, t.Pages, t.Enforce = req.Sides, c.pages, len(need.forced) > 0
	out, err := s.converter.Convert(ctx, doc, req.DocumentFormat, t)
	if err != nil {
		return nil, c, &heldError{"conversion-failed", "The document could not be converted for this printer.", err}
	}
	req.DocumentFormat = to
	c.to, c.out, c.rules = to, &convertedDoc{r: out}, need.forced
	return c.out, c, nil
}

// rewriteTo is the format a document of format from, which its printer
// takes as it is, is rewritten in: PDF where the printer takes PDF
// (PostScript rewritten as PDF keeps none of its own settings), else
// from itself.
func rewriteTo(from string, accepts []string) string {
	if slices.Contains(accepts, convert.PDF) {
		return convert.PDF
	}
	return from
}

// convertChoose is convert.Choose, which leaves a printer that takes
// application/octet-stream (it detects formats itself) the document as it
// is when nothing it lists by name is within reach.
func convertChoose(from string, accepts []string) (string, bool, bool) {
	to, conv, ok := convert.Choose(from, accepts)
	if !ok && slices.Contains(accepts, "application/octet-stream") {
		return from, false, true
	}
	return to, conv, ok
}

// targetFor picks the conversion's resolution and colour: 300 dpi where
// the printer offers it (office documents need no more, and raster
// grows with its square), otherwise the lowest it offers; colour only
// for a job that may print in colour on a colour printer.
func targetFor(format, colorMode string, caps printerinfo.Capabilities) convert.Target {
	offered := caps.Resolutions
	if format == convert.PWGRaster && len(caps.PWGRasterResolutions) > 0 {
		offered = caps.PWGRasterResolutions
	}
	res := 0
	for _, r := range offered {
		dpi := r.X
		if r.Units == "dpcm" {
			dpi = r.X * 254 / 100
		}
		if dpi == 300 {
			res = 300
			break
		}
		if res == 0 || dpi < res {
			res = dpi
		}
	}
	// A printer not yet asked may print colour: only a rewrite of the
	// format it was sent anyway reaches here without its capabilities.
	color := (caps.Color || !caps.Known) && colorMode != "monochrome"
	return convert.Target{Format: format, Resolution: res, Color: color}
}

// convertedDoc is a converter's output as the IPP client reads it. It
// keeps the converter's error, which the HTTP client may not hand back
// whole, so that a failed conversion holds the job with its own reason
// rather than as a printer that could not be reached.
type convertedDoc struct {
	r io.ReadCloser

	mu  sync.Mutex
	err error
}

func (d *convertedDoc) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		d.mu.Lock()
		d.err = err
		d.mu.Unlock()
	}
	return n, err
}

// failed returns the converter's error, if it had one.
func (d *convertedDoc) failed() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err == nil {
		return nil
	}
	return &heldError{"conversion-failed", conversionMessage(d.err), d.err}
}

// Close stops the converter if it still runs.
func (d *convertedDoc) Close() error { return d.r.Close() }

// conversionMessage says, for a person, why a document was not converted.
func conversionMessage(err error) string {
	if errors.Is(err, convert.ErrLimit) {
		return "The document is too large or too complex to convert for this printer. Print it at a printer that takes it as it is."
	}
	return "The document could not be converted for this printer."
}

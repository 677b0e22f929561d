package convert

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// Coverage is one page's ink coverage as Ghostscript's inkcov device
// reports it: the fraction of the page's pixels, from 0 to 1, that hold
// any cyan, magenta, yellow and black ink.
type Coverage struct {
	C, M, Y, K float64
}

// colorCoverage is the fraction of a page's pixels with cyan, magenta or
// yellow ink above which the page is in colour: 0.0001, about a dozen
// pixels of an A4 page at inkcovResolution. The page is rendered with
// full black generation and undercolour removal (inkcovSetup), so a
// grey, whether the document writes it as DeviceGray or as RGB with
// r = g = b, is black ink alone and gives exactly 0 cyan, magenta and
// yellow (checked with grey-only and RGB-grey PDFs: 0.00000). The
// threshold only passes over a few stray pixels, such as the edge of a
// near-grey line; one red word of 10-point text covers about 0.0004, a
// 7 mm red square 0.0008, so both still count as colour.
const colorCoverage = 0.0001

// maxInkLine is the longest line inkcov writes ("%8.5f" four times,
// "CMYK", "OK" or "ERROR") with room to spare: a longer one is not its.
const maxInkLine = 64

// errInkcov says inkcov's output is not what the device writes.
var errInkcov = errors.New("convert: unexpected ink coverage output")

// parseInkCoverage reads inkcov's output, one line per page
// ("0.00000  0.08035  0.08035  0.00000 CMYK OK"), and returns the
// coverage of at most maxPages pages; a line after those is an error, as
// is one the device did not write, a page it could not measure (ERROR)
// or a value outside 0 to 1. It reads no further than it needs, so a
// flood of output costs no more than maxPages lines.
func parseInkCoverage(out []byte, maxPages int) ([]Coverage, error) {
	var pages []Coverage
	for len(out) > 0 {
		line, rest, found := bytes.Cut(out, []byte{'\n'})
		if !found {
			return nil, fmt.Errorf("%w: the last line is incomplete", errInkcov)
		}
		out = rest
		if len(pages) == maxPages {
			return nil, fmt.Errorf("%w: more than %d pages", errInkcov, maxPages)
		}
		c, err := parseInkLine(line)
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", len(pages)+1, err)
		}
		pages = append(pages, c)
	}
	return pages, nil
}

// parseInkLine reads one page's line.
func parseInkLine(line []byte) (Coverage, error) {
	if len(line) > maxInkLine {
		return Coverage{}, fmt.Errorf("%w: a line of %d bytes", errInkcov, len(line))
	}
	f := bytes.Fields(line)
	if len(f) != 6 || string(f[4]) != "CMYK" {
		return Coverage{}, fmt.Errorf("%w: not a coverage line", errInkcov)
	}
	if string(f[5]) != "OK" {
		return Coverage{}, fmt.Errorf("%w: Ghostscript could not measure the page", errInkcov)
	}
	var v [4]float64
	for i := range v {
		x, err := strconv.ParseFloat(string(f[i]), 64)
		// !(x >= 0) also refuses NaN.
		if err != nil || !(x >= 0) || x > 1 {
			return Coverage{}, fmt.Errorf("%w: a coverage that is not a fraction", errInkcov)
		}
		v[i] = x
	}
	return Coverage{C: v[0], M: v[1], Y: v[2], K: v[3]}, nil
}

// Color reports whether the page holds colour: cyan, magenta or yellow
// ink on more than colorCoverage of it.
func (c Coverage) Color() bool {
	return c.C > colorCoverage || c.M > colorCoverage || c.Y > colorCoverage
}

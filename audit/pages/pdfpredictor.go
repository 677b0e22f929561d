package pages

import (
	"fmt"
	"io"
)

// PNG predictors, which cross-reference streams often use (/Predictor 12,
// "Up"): each row of the decoded data starts with a byte that says how
// its bytes were predicted from the row above and the bytes to the left.

// pngRows undoes the PNG predictors of a stream of rows of n bytes, each
// after a byte that says which predictor it used.
type pngRows struct {
	r         io.Reader
	bpp       int    // bytes per pixel
	cur, prev []byte // the row being given out (after its type byte) and the one before
	pos       int    // in cur[1:]
	err       error
}

func newPNGRows(r io.Reader, bpp, n int) *pngRows {
	return &pngRows{r: r, bpp: bpp, cur: make([]byte, n+1), prev: make([]byte, n+1), pos: n}
}

func (p *pngRows) Read(b []byte) (int, error) {
	if p.pos == len(p.cur)-1 {
		if p.err != nil {
			return 0, p.err
		}
		p.cur, p.prev = p.prev, p.cur
		if _, err := io.ReadFull(p.r, p.cur); err != nil {
			if err == io.ErrUnexpectedEOF {
				err = errBadXRefStream // a row cut short
			}
			p.err = err
			return 0, err
		}
		if !p.unfilter() {
			p.err = errBadXRefStream
			return 0, p.err
		}
		p.pos = 0
	}
	n := copy(b, p.cur[1+p.pos:])
	p.pos += n
	return n, nil
}

var errBadXRefStream = fmt.Errorf("%w: a cross-reference stream cannot be read", errNotVerified)

// unfilter undoes the predictor of cur, the row after prev.
func (p *pngRows) unfilter() bool {
	cur, prev, bpp := p.cur[1:], p.prev[1:], p.bpp
	switch p.cur[0] {
	case 0:
	case 1:
		for i := bpp; i < len(cur); i++ {
			cur[i] += cur[i-bpp]
		}
	case 2:
		for i := range cur {
			cur[i] += prev[i]
		}
	case 3:
		for i := range cur {
			var left int
			if i >= bpp {
				left = int(cur[i-bpp])
			}
			cur[i] += byte((left + int(prev[i])) / 2)
		}
	case 4:
		for i := range cur {
			var a, c int
			if i >= bpp {
				a, c = int(cur[i-bpp]), int(prev[i-bpp])
			}
			cur[i] += paeth(a, int(prev[i]), c)
		}
	default:
		return false
	}
	return true
}

// paeth is PNG's Paeth predictor of a pixel from its left (a), upper (b)
// and upper left (c) neighbours.
func paeth(a, b, c int) byte {
	p := a + b - c
	pa, pb, pc := abs(p-a), abs(p-b), abs(p-c)
	switch {
	case pa <= pb && pa <= pc:
		return byte(a)
	case pb <= pc:
		return byte(b)
	}
	return byte(c)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

package pages

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Limits of the CUPS raster reader (cups/raster-stream.c), which printers
// and ippeveprinter share: a page beyond them is refused there too.
const (
	rasterMaxBytesPerLine = 16 << 20
	rasterMaxWidth        = 0x00ffffff
	rasterMaxHeight       = 0x00ffffff
	rasterMaxBitsPerPixel = 240
)

// rasterPage is what counting needs of a raster page header.
type rasterPage struct {
	height       uint64 // lines
	bytesPerLine uint64
	pixelBytes   uint64 // the unit of the run-length compression
}

// PWG raster (PWG 5102.4): the "RaS2" sync word, then for each page a
// 1796-byte header and the compressed lines.
const (
	pwgHeaderSize   = 1796
	pwgWidth        = 372
	pwgHeight       = 376
	pwgBitsPerColor = 384
	pwgBitsPerPixel = 388
	pwgBytesPerLine = 392
	pwgColorOrder   = 396
	pwgNumColors    = 420
)

func countPWGRaster(ctx context.Context, r *bufio.Reader) (int, error) {
	var sync [4]byte
	if _, err := io.ReadFull(r, sync[:]); err != nil || string(sync[:]) != "RaS2" {
		return 0, errors.New("pwg-raster: no RaS2 sync word")
	}
	return countPages(ctx, r, "pwg-raster", pwgHeaderSize, pwgPage)
}

// countPages reads page after page of a raster stream: a header of
// hdrSize bytes that parse checks, then the page's lines, which are
// decoded only to be skipped.
func countPages(ctx context.Context, r *bufio.Reader, format string, hdrSize int, parse func([]byte) (rasterPage, error)) (int, error) {
	hdr := make([]byte, hdrSize)
	for pages := 0; ; pages++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(r, hdr); errors.Is(err, io.EOF) {
			return pages, nil
		} else if err != nil {
			return 0, fmt.Errorf("%s: page %d: truncated header", format, pages+1)
		}
		page, err := parse(hdr)
		if err != nil {
			return 0, fmt.Errorf("%s: page %d: %w", format, pages+1, err)
		}
		if err := skipRasterLines(ctx, r, page); err != nil {
			return 0, fmt.Errorf("%s: page %d: %w", format, pages+1, err)
		}
	}
}

// pwgPage checks a PWG page header as CUPS does before it reads the page.
func pwgPage(hdr []byte) (rasterPage, error) {
	be := binary.BigEndian
	width := uint64(be.Uint32(hdr[pwgWidth:]))
	height := uint64(be.Uint32(hdr[pwgHeight:]))
	bitsPerColor := uint64(be.Uint32(hdr[pwgBitsPerColor:]))
	bitsPerPixel := uint64(be.Uint32(hdr[pwgBitsPerPixel:]))
	bytesPerLine := uint64(be.Uint32(hdr[pwgBytesPerLine:]))
	colorOrder := be.Uint32(hdr[pwgColorOrder:])
	numColors := uint64(be.Uint32(hdr[pwgNumColors:]))

	switch {
	case colorOrder != 0:
		return rasterPage{}, errors.New("color order is not chunky, as PWG raster requires")
	case bitsPerColor != 1 && bitsPerColor != 2 && bitsPerColor != 4 && bitsPerColor != 8 && bitsPerColor != 16:
		return rasterPage{}, fmt.Errorf("invalid bits per color %d", bitsPerColor)
	case bitsPerPixel == 0 || bitsPerPixel > rasterMaxBitsPerPixel || bitsPerPixel%bitsPerColor != 0,
		numColors != 0 && bitsPerPixel != bitsPerColor*numColors:
		return rasterPage{}, fmt.Errorf("invalid bits per pixel %d", bitsPerPixel)
	}
	return checkRasterPage(width, height, bitsPerPixel, bytesPerLine)
}

func checkRasterPage(width, height, bitsPerPixel, bytesPerLine uint64) (rasterPage, error) {
	pixelBytes := (bitsPerPixel + 7) / 8
	switch {
	case width == 0 || width > rasterMaxWidth:
		return rasterPage{}, fmt.Errorf("invalid width %d", width)
	case height == 0 || height > rasterMaxHeight:
		return rasterPage{}, fmt.Errorf("invalid height %d", height)
	case bytesPerLine == 0 || bytesPerLine > rasterMaxBytesPerLine:
		return rasterPage{}, fmt.Errorf("invalid bytes per line %d", bytesPerLine)
	case bytesPerLine != (width*bitsPerPixel+7)/8:
		return rasterPage{}, fmt.Errorf("bytes per line %d does not match width %d", bytesPerLine, width)
	case bytesPerLine%pixelBytes != 0:
		return rasterPage{}, fmt.Errorf("bytes per line %d is not a whole number of pixels", bytesPerLine)
	}
	return rasterPage{height: height, bytesPerLine: bytesPerLine, pixelBytes: pixelBytes}, nil
}

// Apple raster (image/urf): "UNIRAST\0" and a page count, then for each
// page a 32-byte header and the compressed lines.
const (
	urfFileHeaderSize = 12
	urfHeaderSize     = 32
)

func countURF(ctx context.Context, r *bufio.Reader) (int, error) {
	var fh [urfFileHeaderSize]byte
	if _, err := io.ReadFull(r, fh[:]); err != nil || string(fh[:8]) != "UNIRAST\x00" {
		return 0, errors.New("urf: no UNIRAST header")
	}
	// The page count in the file header may be 0 (unknown) and is not
	// trusted: the pages are counted.
	return countPages(ctx, r, "urf", urfHeaderSize, urfPage)
}

func urfPage(hdr []byte) (rasterPage, error) {
	be := binary.BigEndian
	bitsPerPixel := uint64(hdr[0])
	width := uint64(be.Uint32(hdr[12:]))
	height := uint64(be.Uint32(hdr[16:]))
	if bitsPerPixel == 0 || bitsPerPixel%8 != 0 || bitsPerPixel > 64 {
		return rasterPage{}, fmt.Errorf("invalid bits per pixel %d", bitsPerPixel)
	}
	return checkRasterPage(width, height, bitsPerPixel, width*bitsPerPixel/8)
}

// skipRasterLines reads past one page of compressed lines (the PWG and
// Apple raster run-length code) without decoding pixels: only the control
// bytes are looked at, so memory stays constant whatever the page size, and
// the work is bounded by the bytes read.
func skipRasterLines(ctx context.Context, r *bufio.Reader, p rasterPage) error {
	for remaining, steps := p.height, 0; remaining > 0; steps++ {
		if steps%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		repeat, err := r.ReadByte()
		if err != nil {
			return errTruncatedPage
		}
		if err := skipRasterLine(r, p); err != nil {
			return err
		}
		// One encoded line stands for repeat+1 lines; CUPS ignores any
		// repeats past the page's end, and so does this.
		remaining -= min(uint64(repeat)+1, remaining)
	}
	return nil
}

var errTruncatedPage = errors.New("truncated page data")

// skipRasterLine reads past one encoded line, as cupsRasterReadPixels
// decodes it: 128 clears the rest of the line, 129..255 are 257-n literal
// pixels, 0..127 repeat the next pixel n+1 times. Runs past the line's end
// are cut at its end.
func skipRasterLine(r *bufio.Reader, p rasterPage) error {
	for left := p.bytesPerLine; left > 0; {
		c, err := r.ReadByte()
		if err != nil {
			return errTruncatedPage
		}
		var skip uint64
		switch {
		case c == 128:
			return nil
		case c > 128:
			n := min((257-uint64(c))*p.pixelBytes, left)
			skip, left = n, left-n
		default:
			n := min((uint64(c)+1)*p.pixelBytes, left)
			skip, left = p.pixelBytes, left-n
		}
		if _, err := r.Discard(int(skip)); err != nil {
			return errTruncatedPage
		}
	}
	return nil
}

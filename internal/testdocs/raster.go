package testdocs

import (
	"bytes"
	"encoding/binary"
)

// The raster documents are 8-bit grayscale A4 pages at a low resolution,
// so that a few pages stay a few kilobytes.
const (
	rasterDPI    = 72
	rasterWidth  = 595 // A4 at 72 dpi
	rasterHeight = 842
)

// PWG raster header (PWG 5102.4, the CUPS version 2 page header in network
// byte order): the fields this package sets, by byte offset.
const (
	pwgHeaderSize        = 1796
	pwgMediaClass        = 0
	pwgHWResolution      = 276
	pwgNumCopies         = 340
	pwgPageSize          = 352
	pwgWidth             = 372
	pwgHeight            = 376
	pwgBitsPerColor      = 384
	pwgBitsPerPixel      = 388
	pwgBytesPerLine      = 392
	pwgColorOrder        = 396
	pwgColorSpace        = 400
	pwgNumColors         = 420
	pwgTotalPageCount    = 452
	pwgCrossFeed         = 456
	pwgFeed              = 460
	pwgImageBoxRight     = 472
	pwgImageBoxBottom    = 476
	pwgAlternatePrimary  = 480
	pwgRenderingIntent   = 1668
	pwgPageSizeName      = 1732
	pwgColorSpaceSGray   = 18
	pwgOrderChunky       = 0
	pwgAlternateWhite    = 0x00ffffff
	pwgTransformIdentity = 1
)

// PWGRaster returns a PWG raster stream (PWG 5102.4, image/pwg-raster) of
// the given number of 8-bit sGray A4 pages at 72 dpi. Page i shows a frame,
// i bars and a gradient, so pages differ and every compression case
// (repeated lines, runs, literal pixels) occurs. pages must be at least 1.
func PWGRaster(pages int) []byte {
	if pages < 1 {
		panic("testdocs: PWG raster needs at least one page")
	}
	w, h := A4.Points()
	var b bytes.Buffer
	b.WriteString("RaS2")
	for page := 1; page <= pages; page++ {
		var hdr [pwgHeaderSize]byte
		be := binary.BigEndian
		copy(hdr[pwgMediaClass:], "PwgRaster")
		be.PutUint32(hdr[pwgHWResolution:], rasterDPI)
		be.PutUint32(hdr[pwgHWResolution+4:], rasterDPI)
		be.PutUint32(hdr[pwgNumCopies:], 1)
		be.PutUint32(hdr[pwgPageSize:], uint32(w))
		be.PutUint32(hdr[pwgPageSize+4:], uint32(h))
		be.PutUint32(hdr[pwgWidth:], rasterWidth)
		be.PutUint32(hdr[pwgHeight:], rasterHeight)
		be.PutUint32(hdr[pwgBitsPerColor:], 8)
		be.PutUint32(hdr[pwgBitsPerPixel:], 8)
		be.PutUint32(hdr[pwgBytesPerLine:], rasterWidth)
		be.PutUint32(hdr[pwgColorOrder:], pwgOrderChunky)
		be.PutUint32(hdr[pwgColorSpace:], pwgColorSpaceSGray)
		be.PutUint32(hdr[pwgNumColors:], 1)
		be.PutUint32(hdr[pwgTotalPageCount:], uint32(pages))
		be.PutUint32(hdr[pwgCrossFeed:], pwgTransformIdentity)
		be.PutUint32(hdr[pwgFeed:], pwgTransformIdentity)
		be.PutUint32(hdr[pwgImageBoxRight:], rasterWidth)
		be.PutUint32(hdr[pwgImageBoxBottom:], rasterHeight)
		be.PutUint32(hdr[pwgAlternatePrimary:], pwgAlternateWhite)
		copy(hdr[pwgRenderingIntent:], "auto")
		copy(hdr[pwgPageSizeName:], A4.String())
		b.Write(hdr[:])
		encodeRaster(&b, rasterWidth, rasterHeight, func(x, y int) byte { return pagePixel(x, y, page) })
	}
	return b.Bytes()
}

// URF returns an Apple raster stream (image/urf, "UNIRAST") of the given
// number of pages with the same content as PWGRaster. pages must be at
// least 1.
func URF(pages int) []byte {
	if pages < 1 {
		panic("testdocs: URF needs at least one page")
	}
	var b bytes.Buffer
	be := binary.BigEndian
	b.WriteString("UNIRAST\x00")
	b.Write(be.AppendUint32(nil, uint32(pages)))
	for page := 1; page <= pages; page++ {
		var hdr [32]byte
		hdr[0] = 8 // bits per pixel
		hdr[1] = 0 // sGray
		hdr[2] = 1 // one-sided
		hdr[3] = 4 // normal quality
		be.PutUint32(hdr[12:], rasterWidth)
		be.PutUint32(hdr[16:], rasterHeight)
		be.PutUint32(hdr[20:], rasterDPI)
		b.Write(hdr[:])
		encodeRaster(&b, rasterWidth, rasterHeight, func(x, y int) byte { return pagePixel(x, y, page) })
	}
	return b.Bytes()
}

// pagePixel is the gray value of page's pixel at x, y: a frame, page bars
// and a gradient band on white.
func pagePixel(x, y, page int) byte {
	const frame = 18
	onFrame := func(v, size int) bool { return v >= frame && v < frame+2 || v >= size-frame-2 && v < size-frame }
	switch {
	case (onFrame(x, rasterWidth) && y >= frame && y < rasterHeight-frame) ||
		(onFrame(y, rasterHeight) && x >= frame && x < rasterWidth-frame):
		return 0x00
	case x >= 60 && x < 300 && y >= 60 && y < 60+20*page && (y-60)%20 < 10:
		return 0x00
	case y >= 400 && y < 420 && x >= 60 && x < rasterWidth-60:
		return byte((x - 60) * 255 / (rasterWidth - 121))
	}
	return 0xff
}

// encodeRaster writes an 8-bit, one-byte-per-pixel image in the PWG and
// Apple raster compression: a line repeat byte, then PackBits-like runs of
// pixels (0..127: the next pixel n+1 times; 129..255: 257-n literal
// pixels).
func encodeRaster(b *bytes.Buffer, width, height int, pixel func(x, y int) byte) {
	line := func(y int) []byte {
		l := make([]byte, width)
		for x := range l {
			l[x] = pixel(x, y)
		}
		return l
	}
	for y := 0; y < height; {
		cur := line(y)
		repeat := 1
		for y+repeat < height && repeat < 256 && bytes.Equal(line(y+repeat), cur) {
			repeat++
		}
		b.WriteByte(byte(repeat - 1))
		encodePixels(b, cur)
		y += repeat
	}
}

func encodePixels(b *bytes.Buffer, l []byte) {
	for i := 0; i < len(l); {
		run := 1
		for i+run < len(l) && run < 128 && l[i+run] == l[i] {
			run++
		}
		if run > 1 {
			b.WriteByte(byte(run - 1))
			b.WriteByte(l[i])
			i += run
			continue
		}
		// Literal pixels up to the next pair of equal ones.
		n := 1
		for i+n < len(l) && n < 128 && (i+n+1 >= len(l) || l[i+n] != l[i+n+1]) {
			n++
		}
		if n == 1 {
			b.WriteByte(0) // a run of one
			b.WriteByte(l[i])
		} else {
			b.WriteByte(byte(257 - n))
			b.Write(l[i : i+n])
		}
		i += n
	}
}

package testdocs

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
)

// JPEG returns a baseline colour JPEG of w × h pixels showing gradients.
func JPEG(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: uint8(x * 255 / max(w-1, 1)), G: uint8(y * 255 / max(h-1, 1)), B: 0x80, A: 0xff})
		}
	}
	return encodeJPEG(img)
}

// GrayJPEG returns a baseline grayscale (one-component) JPEG of w × h
// pixels showing a gradient.
func GrayJPEG(w, h int) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetGray(x, y, color.Gray{Y: uint8((x + y) * 255 / max(w+h-2, 1))})
		}
	}
	return encodeJPEG(img)
}

func encodeJPEG(img image.Image) []byte {
	if b := img.Bounds(); b.Dx() < 1 || b.Dy() < 1 {
		panic(fmt.Sprintf("testdocs: JPEG needs a size of at least 1×1, not %v", b.Size()))
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 75}); err != nil {
		// Encoding to memory fails only for invalid arguments.
		panic("testdocs: encode JPEG: " + err.Error())
	}
	return b.Bytes()
}

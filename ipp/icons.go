package ipp

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
)

// iconSizes are the printer-icons a queue advertises, smallest first as
// PWG 5100.13 asks: 48×48, 128×128 and 512×512 pixels.
var iconSizes = []int{48, 128, 512}

// iconName is the last element of an icon's path under the printer URI.
func iconName(size int) string { return fmt.Sprintf("icon-%d.png", size) }

// icons draws the printer icon at each size once, when the Server starts.
func icons() map[string][]byte {
	out := make(map[string][]byte, len(iconSizes))
	for _, n := range iconSizes {
		var b bytes.Buffer
		if err := png.Encode(&b, drawIcon(n)); err != nil {
			panic(fmt.Sprintf("ipp: encode icon: %v", err)) // in-memory PNG of our own drawing
		}
		out[iconName(n)] = b.Bytes()
	}
	return out
}

// drawIcon draws a printer seen from the front, with a sheet coming out
// and a lock on it, on a transparent background of n×n pixels.
func drawIcon(n int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	fill := func(x0, y0, x1, y1 float64, c color.NRGBA) {
		r := image.Rect(int(x0*float64(n)), int(y0*float64(n)), int(x1*float64(n)), int(y1*float64(n)))
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				img.SetNRGBA(x, y, c)
			}
		}
	}
	body := color.NRGBA{0x2f, 0x4f, 0x6f, 0xff}
	paper := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	lock := color.NRGBA{0xe0, 0x8a, 0x00, 0xff}
	fill(0.25, 0.08, 0.75, 0.40, paper) // sheet in the input
	fill(0.08, 0.35, 0.92, 0.72, body)  // body
	fill(0.22, 0.62, 0.78, 0.94, paper) // sheet out
	fill(0.42, 0.72, 0.58, 0.88, lock)  // lock body
	fill(0.45, 0.66, 0.55, 0.72, lock)  // shackle
	fill(0.80, 0.42, 0.86, 0.48, paper) // status light
	return img
}

// iconPath splits the path of a queue's icon into the queue and the
// icon's name; ok is false for any other path.
func (s *Server) iconPath(path string) (queue, name string, ok bool) {
	rest, ok := strings.CutPrefix(path, PathPrefix)
	if !ok {
		return "", "", false
	}
	queue, name, ok = strings.Cut(rest, "/")
	if _, icon := s.icons[name]; !ok || !icon || !validName(queue) {
		return "", "", false
	}
	return queue, name, true
}

// serveIcon answers a GET or HEAD for the icon name.
func (s *Server) serveIcon(w http.ResponseWriter, r *http.Request, name string) {
	data := s.icons[name]
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(data)
	}
}

// iconURIs are the printer-icons of queue as seen at loc.
func (l location) iconURIs(queue string) []string {
	out := make([]string, len(iconSizes))
	for i, n := range iconSizes {
		out[i] = l.moreInfo(queue) + "/" + iconName(n)
	}
	return out
}

package ipp

import (
	"slices"
	"strconv"
	"strings"

	"github.com/OpenPrinting/goipp"
)

// mediaSize is one medium in PWG 5101.1 self-describing form, with its
// size in hundredths of millimetres.
type mediaSize struct {
	name string
	x, y int
}

// defaultMedia are advertised while nothing is known of a queue's
// printers: the sizes Japanese and American offices print on.
var defaultMedia = []string{
	"iso_a4_210x297mm", "iso_a3_297x420mm", "iso_a5_148x210mm", "jis_b4_257x364mm",
	"jis_b5_182x257mm", "na_letter_8.5x11in", "na_legal_8.5x14in", "na_index-4x6_4x6in",
}

// defaultReady is media-ready while nothing is known.
var defaultReady = []string{"iso_a4_210x297mm", "na_letter_8.5x11in"}

// maxDimension bounds a size read from a name (10 m), so a hostile
// printer's name cannot overflow what IPP's integer holds.
const maxDimension = 1_000_000

// parseMedia reads the size from a PWG 5101.1 self-describing name such as
// "iso_a4_210x297mm" or "na_letter_8.5x11in". Custom ranges
// ("custom_min_...") and names without a size fail.
func parseMedia(name string) (mediaSize, bool) {
	if strings.HasPrefix(name, "custom_") {
		return mediaSize{}, false
	}
	i := strings.LastIndexByte(name, '_')
	if i < 0 {
		return mediaSize{}, false
	}
	dims := name[i+1:]
	scale := 0.0
	switch {
	case strings.HasSuffix(dims, "mm"):
		scale = 100
	case strings.HasSuffix(dims, "in"):
		scale = 2540
	default:
		return mediaSize{}, false
	}
	w, h, ok := strings.Cut(dims[:len(dims)-2], "x")
	if !ok {
		return mediaSize{}, false
	}
	x, errX := strconv.ParseFloat(w, 64)
	y, errY := strconv.ParseFloat(h, 64)
	if errX != nil || errY != nil || !(x > 0 && y > 0) || x*scale > maxDimension || y*scale > maxDimension {
		return mediaSize{}, false
	}
	return mediaSize{name: name, x: int(x*scale + 0.5), y: int(y*scale + 0.5)}, true
}

// mediaChoice is what a queue advertises of media: the names supported,
// the sizes of those that have one, what is loaded, and the default.
type mediaChoice struct {
	names      []string
	sizes      []mediaSize
	ready      []mediaSize
	defaultMed mediaSize
}

// chooseMedia derives the media attributes from c, with the defaults where
// c says nothing. Only media with a readable size are kept: IPP Everywhere
// clients choose paper by size, and a name without one cannot be put in
// media-col-database.
func chooseMedia(c Capabilities) mediaChoice {
	names, ready := c.Media, c.MediaReady
	if len(names) == 0 {
		names, ready = defaultMedia, defaultReady
	}
	var m mediaChoice
	for _, n := range names {
		if sz, ok := parseMedia(n); ok && !slices.ContainsFunc(m.sizes, func(s mediaSize) bool { return s.name == n }) {
			m.sizes = append(m.sizes, sz)
			m.names = append(m.names, n)
		}
	}
	if len(m.sizes) == 0 {
		return chooseMedia(Capabilities{})
	}
	for _, n := range ready {
		if i := slices.IndexFunc(m.sizes, func(s mediaSize) bool { return s.name == n }); i >= 0 &&
			!slices.ContainsFunc(m.ready, func(s mediaSize) bool { return s.name == n }) {
			m.ready = append(m.ready, m.sizes[i])
		}
	}
	m.defaultMed = m.sizes[0]
	for _, want := range []string{c.MediaDefault, "iso_a4_210x297mm"} {
		if i := slices.IndexFunc(m.sizes, func(s mediaSize) bool { return s.name == want }); want != "" && i >= 0 {
			m.defaultMed = m.sizes[i]
			break
		}
	}
	if len(m.ready) == 0 {
		m.ready = []mediaSize{m.defaultMed}
	}
	return m
}

// mediaMargin is the margin advertised on every side, in hundredths of
// millimetres: what office printers need, and what converted raster
// leaves.
const mediaMargin = 423

func mediaCol(m mediaSize) goipp.Collection {
	return goipp.Collection{
		collection("media-size", goipp.Collection{
			ints("x-dimension", m.x),
			ints("y-dimension", m.y),
		}),
		ints("media-bottom-margin", mediaMargin), ints("media-left-margin", mediaMargin),
		ints("media-right-margin", mediaMargin), ints("media-top-margin", mediaMargin),
		keywords("media-source", "auto"),
		keywords("media-type", "stationery"),
	}
}

func mediaCols(name string, list []mediaSize) goipp.Attribute {
	a := goipp.Attribute{Name: name}
	for _, m := range list {
		a.Values.Add(goipp.TagBeginCollection, mediaCol(m))
	}
	return a
}

func mediaSizes(list []mediaSize) goipp.Attribute {
	a := goipp.Attribute{Name: "media-size-supported"}
	for _, m := range list {
		a.Values.Add(goipp.TagBeginCollection, goipp.Collection{
			ints("x-dimension", m.x), ints("y-dimension", m.y),
		})
	}
	return a
}

func mediaNames(list []mediaSize) []string {
	out := make([]string, len(list))
	for i, m := range list {
		out[i] = m.name
	}
	return out
}

package release

import (
	"slices"
	"testing"

	"github.com/printgate/printgate/release/printerinfo"
)

func TestAdvertised(t *testing.T) {
	q := Queue{Name: "secure", Mode: Hold, Color: true,
		Formats: []string{"application/pdf", "image/jpeg", "image/pwg-raster", "application/octet-stream"}}
	mono := printerinfo.Info{Caps: printerinfo.Capabilities{Known: true,
		Formats: []string{"image/pwg-raster"}, Sides: []string{"one-sided"},
		Media: []string{"iso_a4_210x297mm"}, MediaReady: []string{"iso_a4_210x297mm"}, MediaDefault: "iso_a4_210x297mm",
		Resolutions:          []printerinfo.Resolution{{X: 300, Y: 300, Units: "dpi"}},
		PWGRasterResolutions: []printerinfo.Resolution{{X: 300, Y: 300, Units: "dpi"}}, CopiesMax: 99}}
	duplex := printerinfo.Info{Caps: printerinfo.Capabilities{Known: true, Color: true,
		Formats: []string{"application/pdf", "image/pwg-raster"},
		Sides:   []string{"one-sided", "two-sided-long-edge"},
		Media:   []string{"iso_a4_210x297mm", "iso_a3_297x420mm"}, MediaReady: []string{"iso_a3_297x420mm"},
		Resolutions:          []printerinfo.Resolution{{X: 600, Y: 600, Units: "dpi"}, {X: 236, Y: 236, Units: "dpcm"}},
		PWGRasterResolutions: []printerinfo.Resolution{{X: 600, Y: 600, Units: "dpi"}}, PageRanges: true, CopiesMax: 999}}

	caps, formats, color := advertised(q, []printerinfo.Info{mono, duplex})
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"media", caps.Media, []string{"iso_a4_210x297mm", "iso_a3_297x420mm"}},
		{"media-ready", caps.MediaReady, []string{"iso_a4_210x297mm", "iso_a3_297x420mm"}},
		{"media-default", caps.MediaDefault, "iso_a4_210x297mm"},
		{"sides", caps.Sides, []string{"one-sided", "two-sided-long-edge"}},
		{"resolutions", caps.Resolutions, []int{300, 599, 600}},
		{"raster resolutions", caps.RasterResolutions, []int{300, 600}},
		{"page-ranges", caps.PageRanges, true},
		{"copies", caps.CopiesMax, 999},
		{"color", color, true},
		// JPEG: neither printer takes it, and it is not converted.
		{"formats", formats, []string{"application/pdf", "image/pwg-raster", "application/octet-stream"}},
	} {
		if !equalAny(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}

	// A queue that is not colour stays so, whatever its printers do.
	q.Color = false
	if _, _, color := advertised(q, []printerinfo.Info{duplex}); color {
		t.Error("a monochrome queue advertises colour")
	}
	// Colour is the queue's word: a colour job at a monochrome printer
	// prints in black and white with a record.
	q.Color = true
	if _, _, color := advertised(q, []printerinfo.Info{mono}); !color {
		t.Error("a colour queue of monochrome printers does not advertise colour")
	}
}

func TestAdvertisedDefaults(t *testing.T) {
	q := Queue{Name: "secure", Mode: Hold, Color: true, Formats: []string{"application/pdf", "image/jpeg"}}
	unknown := printerinfo.Info{URI: "socket://192.0.2.1:9100"} // AppSocket: nothing known
	for _, infos := range [][]printerinfo.Info{nil, {unknown}} {
		caps, formats, color := advertised(q, infos)
		if caps.Media != nil || caps.Sides != nil || caps.Resolutions != nil || caps.PageRanges {
			t.Errorf("%d printers, none known: caps %+v, want none (the ipp.Server's defaults)", len(infos), caps)
		}
		if !slices.Equal(formats, q.Formats) || !color {
			t.Errorf("%d printers, none known: formats %v colour %v, want the queue's", len(infos), formats, color)
		}
	}
}

func equalAny(a, b any) bool {
	switch a := a.(type) {
	case []string:
		return slices.Equal(a, b.([]string))
	case []int:
		return slices.Equal(a, b.([]int))
	}
	return a == b
}

// TestAdvertisedSupplies: the supplies and markers of every printer of a
// queue are advertised, each printer's printer-supply indexes numbered on
// after the printer before's; raster types are the union.
func TestAdvertisedSupplies(t *testing.T) {
	q := Queue{Name: "secure", Mode: Hold, Formats: []string{"application/pdf"}}
	printer := func(desc, typ string) printerinfo.Info {
		return printerinfo.Info{Caps: printerinfo.Capabilities{Known: true, Formats: []string{"application/pdf"},
			PWGRasterTypes: []string{typ},
			Supplies:       []printerinfo.Supply{{Value: "index=1;type=toner;level=50;", Description: desc}},
			Markers:        []printerinfo.Marker{{Name: desc, Type: "toner", Color: "#000000", Level: 50, High: 100}}}}
	}
	caps, _, _ := advertised(q, []printerinfo.Info{printer("Toner A", "sgray_8"), printer("Toner B", "black_1")})
	var values, names []string
	for _, s := range caps.Supplies {
		values = append(values, s.Value)
	}
	for _, m := range caps.Markers {
		names = append(names, m.Name)
	}
	if want := []string{"index=1;type=toner;level=50;", "index=2;type=toner;level=50;"}; !slices.Equal(values, want) {
		t.Errorf("printer-supply = %q, want %q", values, want)
	}
	if want := []string{"Toner A", "Toner B"}; !slices.Equal(names, want) {
		t.Errorf("marker-names = %q, want %q", names, want)
	}
	if want := []string{"sgray_8", "black_1"}; !slices.Equal(caps.RasterTypes, want) {
		t.Errorf("raster types = %q, want %q", caps.RasterTypes, want)
	}
}

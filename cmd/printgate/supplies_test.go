package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/printgate/printgate/internal/testenv"
)

// TestAdvertisedSupplies: a queue advertises its printer's supplies
// (printer-supply, its descriptions, and marker-* made from them, since
// ippeveprinter sends no marker-*) and its PWG raster types, not fixed
// values; a monochrome queue leaves out the colour raster types.
func TestAdvertisedSupplies(t *testing.T) {
	printer := testenv.IPPEvePrinter(t, testenv.WithFormats("image/pwg-raster", "application/pdf"), testenv.WithColor())
	yes, no := true, false
	srv := startServer(t, newConfig(t, "",
		QueueConfig{Name: "lobby", Mode: "direct", Printer: printer.URI, Color: &yes,
			Formats: []string{"application/pdf", "image/pwg-raster"}},
		QueueConfig{Name: "mono", Mode: "direct", Printer: printer.URI, Color: &no,
			Formats: []string{"application/pdf", "image/pwg-raster"}}))
	uri := srv.PrinterURI("lobby")
	testenv.WaitFor(t, "the queue to advertise its printer's supplies", func() bool {
		return slices.Contains(values(printerAttrs(t, uri), "printer-supply-description"), "Black Ink")
	})
	attrs := printerAttrs(t, uri)
	for _, c := range []struct{ attr, want string }{
		{"printer-supply-description", "Cyan Ink"},
		{"marker-names", "Black Ink"},
		{"marker-types", "ink"},
		{"marker-types", "waste-ink"},
		{"marker-colors", "#00FFFF"},
		{"marker-levels", "75"},
		{"pwg-raster-document-type-supported", "srgb_16"},
		{"pwg-raster-document-type-supported", "black_1"},
	} {
		if got := values(attrs, c.attr); !slices.Contains(got, c.want) {
			t.Errorf("%s = %v, want %s among them", c.attr, got, c.want)
		}
	}
	if n, m := len(values(attrs, "marker-names")), len(values(attrs, "marker-levels")); n != 5 || m != n {
		t.Errorf("%d marker-names and %d marker-levels, want the printer's 5 each", n, m)
	}
	for _, s := range values(attrs, "printer-supply") {
		if strings.Contains(s, "class=other;type=other") {
			t.Errorf("printer-supply %q is the neutral default, not the printer's", s)
		}
	}
	mono := printerAttrs(t, srv.PrinterURI("mono"))
	for _, typ := range values(mono, "pwg-raster-document-type-supported") {
		if strings.HasPrefix(typ, "srgb") {
			t.Errorf("a monochrome queue advertises the raster type %s", typ)
		}
	}
}

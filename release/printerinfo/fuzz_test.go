package printerinfo

import (
	"testing"

	"github.com/OpenPrinting/goipp"
)

// FuzzParse feeds Get-Printer-Attributes answers to the parsers: no
// panic, and nothing kept past the limits.
func FuzzParse(f *testing.F) {
	msg := goipp.NewResponse(goipp.DefaultVersion, goipp.StatusOk, 1)
	msg.Printer.Add(goipp.MakeAttribute("printer-state", goipp.TagEnum, goipp.Integer(5)))
	msg.Printer.Add(goipp.MakeAttribute("printer-state-reasons", goipp.TagKeyword, goipp.String("media-jam-error")))
	msg.Printer.Add(goipp.MakeAttribute("copies-supported", goipp.TagRange, goipp.Range{Lower: 1, Upper: 99}))
	msg.Printer.Add(goipp.MakeAttribute("printer-resolution-supported", goipp.TagResolution,
		goipp.Resolution{Xres: 600, Yres: 600, Units: goipp.UnitsDpi}))
	msg.Printer.Add(goipp.MakeAttribute("sides-supported", goipp.TagKeyword, goipp.String("one-sided")))
	msg.Printer.Add(goipp.MakeAttribute("printer-supply", goipp.TagString,
		goipp.Binary("index=1;class=supplyThatIsConsumed;type=toner;maxcapacity=200;level=50;colorantname=black;")))
	msg.Printer.Add(goipp.MakeAttribute("marker-levels", goipp.TagInteger, goipp.Integer(40)))
	seed, err := msg.EncodeBytes()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		var m goipp.Message
		if m.DecodeBytes(data) != nil {
			return
		}
		st := parseStatus(m.Printer)
		caps := parseCapabilities(m.Printer)
		st.Unavailable()
		if len(caps.Supplies) > maxSupplies || len(caps.Markers) > maxSupplies {
			t.Fatalf("%d supplies and %d markers kept", len(caps.Supplies), len(caps.Markers))
		}
		for _, s := range caps.Supplies {
			if len(s.Value) > maxValueLength || len(s.Description) > maxValueLength {
				t.Fatalf("a supply of %d bytes kept", len(s.Value)+len(s.Description))
			}
		}
		for _, list := range [][]string{st.Reasons, caps.Formats, caps.ColorModes, caps.Sides, caps.Media, caps.MediaReady, caps.URF, caps.PWGRasterTypes} {
			if len(list) > maxValues {
				t.Fatalf("%d values kept", len(list))
			}
			for _, v := range list {
				if len(v) > maxValueLength {
					t.Fatalf("a value of %d bytes kept", len(v))
				}
			}
		}
		if caps.CopiesMax < 0 {
			t.Fatalf("copies max %d", caps.CopiesMax)
		}
		Fit(JobOptions{Copies: 3, Sides: "two-sided-long-edge", ColorMode: "color", Media: "iso_a4_210x297mm"}, caps, Policy{})
	})
}

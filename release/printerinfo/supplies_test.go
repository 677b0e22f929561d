package printerinfo

import (
	"reflect"
	"testing"

	"github.com/OpenPrinting/goipp"
)

// TestParseMarkers: marker-* are read where the printer sends them,
// missing entries taking "unknown"; a printer that sends only
// printer-supply has its markers made from the supplies.
func TestParseMarkers(t *testing.T) {
	names := func(vals ...string) goipp.Values {
		var v goipp.Values
		for _, s := range vals {
			v.Add(goipp.TagName, goipp.String(s))
		}
		return v
	}
	supply := goipp.Attribute{Name: "printer-supply"}
	supply.Values.Add(goipp.TagString, goipp.Binary("index=1;class=supplyThatIsConsumed;type=tonerCartridge;unit=percent;maxcapacity=200;level=50;colorantname=cyan;"))
	supply.Values.Add(goipp.TagString, goipp.Binary("index=2;class=receptacleThatIsFilled;type=wasteToner;level=-3;"))
	desc := goipp.Attribute{Name: "printer-supply-description", Values: names("Cyan Toner")}

	for _, tc := range []struct {
		name  string
		attrs goipp.Attributes
		want  []Marker
	}{
		{"marker attributes", goipp.Attributes{
			{Name: "marker-names", Values: names("Black Toner", "Drum")},
			goipp.MakeAttribute("marker-types", goipp.TagKeyword, goipp.String("toner")),
			{Name: "marker-colors", Values: names("#000000")},
			goipp.MakeAttr("marker-levels", goipp.TagInteger, goipp.Integer(80), goipp.Integer(30)),
			supply, desc,
		}, []Marker{
			{Name: "Black Toner", Type: "toner", Color: "#000000", Level: 80, Low: 0, High: 100},
			{Name: "Drum", Type: "other", Color: "none", Level: 30, Low: 0, High: 100},
		}},
		{"supplies only", goipp.Attributes{supply, desc}, []Marker{
			{Name: "Cyan Toner", Type: "toner-cartridge", Color: "#00FFFF", Level: 25, Low: 10, High: 100},
			{Name: "wasteToner", Type: "waste-toner", Color: "none", Level: -3, Low: 10, High: 100},
		}},
		{"neither", goipp.Attributes{goipp.MakeAttribute("printer-state", goipp.TagEnum, goipp.Integer(3))}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseCapabilities(tc.attrs).Markers
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("markers\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

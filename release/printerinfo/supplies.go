package printerinfo

import (
	"strconv"
	"strings"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/ipp"
)

// Supply is one printer-supply value (PWG 5100.13) with its
// printer-supply-description.
type Supply struct {
	// Value is as the printer wrote it:
	// "index=1;class=supplyThatIsConsumed;type=toner;...".
	Value       string
	Description string
}

// Marker is one marker (toner, ink) as the marker-* attributes describe
// it (RFC 3805 via CUPS): parallel lists, one entry per marker.
type Marker struct {
	Name, Type string
	// Color is "#RRGGBB", several joined by '#', or "none".
	Color string
	// Level, Low and High are percentages; Level -1 is "other", -2
	// "unknown", -3 "some remains".
	Level, Low, High int
}

// maxSupplies bounds the supplies and markers kept of one printer.
const maxSupplies = 32

// parseSupplies reads printer-supply and printer-supply-description.
func parseSupplies(attrs goipp.Attributes) []Supply {
	var values, desc []string
	for _, a := range attrs {
		switch a.Name {
		case "printer-supply":
			for _, v := range a.Values {
				var s string
				switch v := v.V.(type) {
				case goipp.Binary:
					s = string(v)
				case goipp.String:
					s = string(v)
				}
				if len(values) < maxSupplies {
					values = append(values, ipp.Printable(s, maxValueLength))
				}
			}
		case "printer-supply-description":
			desc = keywords(a)
		}
	}
	var out []Supply
	for i, v := range values {
		s := Supply{Value: v}
		if i < len(desc) {
			s.Description = desc[i]
		}
		out = append(out, s)
	}
	return out
}

// parseMarkers reads the marker-* attributes; without marker-names it
// makes the markers from the supplies, as many printers (ippeveprinter
// among them) report only printer-supply.
func parseMarkers(attrs goipp.Attributes, supplies []Supply) []Marker {
	var names, types, colors []string
	var levels, lows, highs []int
	for _, a := range attrs {
		switch a.Name {
		case "marker-names":
			names = keywords(a)
		case "marker-types":
			types = keywords(a)
		case "marker-colors":
			colors = keywords(a)
		case "marker-levels":
			levels = integers(a)
		case "marker-low-levels":
			lows = integers(a)
		case "marker-high-levels":
			highs = integers(a)
		}
	}
	if len(names) == 0 {
		return markersOf(supplies)
	}
	out := make([]Marker, 0, min(len(names), maxSupplies))
	for i, n := range names[:min(len(names), maxSupplies)] {
		out = append(out, Marker{Name: n, Type: at(types, i, "other"), Color: at(colors, i, "none"),
			Level: at(levels, i, -2), Low: at(lows, i, 0), High: at(highs, i, 100)})
	}
	return out
}

// markersOf makes markers of the supplies that are consumed or filled
// (toner, ink, waste), with their levels in percent.
func markersOf(supplies []Supply) []Marker {
	var out []Marker
	for _, s := range supplies {
		f := supplyFields(s.Value)
		if f["type"] == "" {
			continue
		}
		level := -2
		if l, err := strconv.Atoi(f["level"]); err == nil {
			level = l
			if c, err := strconv.Atoi(f["maxcapacity"]); err == nil && c > 0 && l >= 0 {
				level = min(l*100/c, 100)
			}
		}
		name := s.Description
		if name == "" {
			name = f["type"]
		}
		out = append(out, Marker{Name: name, Type: markerType(f["type"]), Color: colorOf(f["colorantname"]),
			Level: level, Low: 10, High: 100})
	}
	return out
}

// supplyFields splits a printer-supply value into its key=value fields.
func supplyFields(v string) map[string]string {
	f := map[string]string{}
	for _, kv := range strings.Split(v, ";") {
		if k, val, ok := strings.Cut(kv, "="); ok {
			f[strings.ToLower(k)] = val
		}
	}
	return f
}

// markerType is the marker-types keyword of a printer-supply type: RFC
// 3805 names in camel case, marker-types in kebab case.
func markerType(t string) string {
	var b strings.Builder
	for i, r := range t {
		if 'A' <= r && r <= 'Z' {
			if i > 0 {
				b.WriteByte('-')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// colorOf is the marker-colors value of a colorant name.
func colorOf(name string) string {
	switch strings.ToLower(name) {
	case "black", "matteblack", "photoblack":
		return "#000000"
	case "cyan":
		return "#00FFFF"
	case "magenta":
		return "#FF00FF"
	case "yellow":
		return "#FFFF00"
	}
	return "none"
}

// integers returns the integer values of a, at most maxValues.
func integers(a goipp.Attribute) []int {
	var out []int
	for _, v := range a.Values {
		if n, ok := v.V.(goipp.Integer); ok && len(out) < maxValues {
			out = append(out, int(n))
		}
	}
	return out
}

// at returns list[i], or def past its end.
func at[T any](list []T, i int, def T) T {
	if i < len(list) {
		return list[i]
	}
	return def
}

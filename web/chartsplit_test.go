package web

import (
	"testing"

	"github.com/printgate/printgate/audit"
)

// TestLayoutSplit: the colour bar has a part for jobs of unknown colour,
// its parts fill the bar, and the shown percentages add up to 100.
func TestLayoutSplit(t *testing.T) {
	cases := []struct {
		name          string
		color, mono   int64
		unknown       int64
		wantPct       [3]int
		wantUnknownW0 bool
	}{
		{"all unknown", 0, 0, 2, [3]int{0, 0, 100}, false},
		{"colour and mono", 1, 1, 0, [3]int{50, 50, 0}, true},
		{"colour and unknown", 1, 0, 1, [3]int{50, 0, 50}, false},
		{"three parts", 1, 1, 1, [3]int{33, 33, 34}, false},
		{"rounding over 100", 101, 99, 0, [3]int{51, 49, 0}, true},
	}
	for _, c := range cases {
		sp := layoutSplit(audit.Total{ColorImpressions: c.color, MonoImpressions: c.mono, UnknownColorImpressions: c.unknown})
		if got := [3]int{sp.ColorPct, sp.MonoPct, sp.UnknownPct}; got != c.wantPct {
			t.Errorf("%s: percentages %v, want %v", c.name, got, c.wantPct)
		}
		if w := sp.ColorW + sp.MonoW + sp.UnknownW; w < chartWidth-0.01 || w > chartWidth+0.01 {
			t.Errorf("%s: parts %v wide, want %v", c.name, w, float64(chartWidth))
		}
		if (sp.UnknownW < 0.01) != c.wantUnknownW0 {
			t.Errorf("%s: unknown part %v wide", c.name, sp.UnknownW)
		}
	}
}

package convert

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseInkCoverage(t *testing.T) {
	red := " 0.00000  0.08035  0.08035  0.00000 CMYK OK\n"
	grey := " 0.00000  0.00000  0.00000  0.47889 CMYK OK\n"
	for _, tc := range []struct {
		name, out string
		want      []Coverage // nil: an error is wanted
	}{
		{"two pages", red + grey, []Coverage{{0, 0.08035, 0.08035, 0}, {0, 0, 0, 0.47889}}},
		{"none", "", []Coverage{}},
		{"at the page limit", strings.Repeat(grey, 3), slices.Repeat([]Coverage{{K: 0.47889}}, 3)},
		{"past the page limit", strings.Repeat(grey, 4), nil},
		{"unmeasured page", "-1.00000 -1.00000 -1.00000 -1.00000 CMYK ERROR\n", nil},
		{"error beside fractions", " 0.00000  0.00000  0.00000  0.00000 CMYK ERROR\n", nil},
		{"incomplete line", strings.TrimSuffix(red, "\n"), nil},
		{"other text", "%%[Page: 1]%%\n", nil},
		{"not a fraction", " 1.50000  0.00000  0.00000  0.00000 CMYK OK\n", nil},
		{"NaN", " NaN  0.00000  0.00000  0.00000 CMYK OK\n", nil},
		{"negative", " -0.10000  0.00000  0.00000  0.00000 CMYK OK\n", nil},
		{"five values", " 0 0 0 0 0 CMYK OK\n", nil},
		{"long line", strings.Repeat(" ", 100) + red, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseInkCoverage([]byte(tc.out), 3)
			switch {
			case tc.want == nil && err == nil:
				t.Fatalf("read %v, want an error", got)
			case tc.want == nil && !errors.Is(err, errInkcov):
				t.Fatalf("error %v, want errInkcov", err)
			case tc.want != nil && err != nil:
				t.Fatal(err)
			case tc.want != nil && !slices.Equal(got, tc.want) && len(got)+len(tc.want) > 0:
				t.Errorf("read %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCoverageColor(t *testing.T) {
	for _, tc := range []struct {
		c    Coverage
		want bool
	}{
		{Coverage{K: 0.9}, false},
		{Coverage{}, false},
		{Coverage{C: colorCoverage, M: colorCoverage, Y: colorCoverage, K: 0.5}, false},
		{Coverage{M: 0.00038, Y: 0.00038}, true}, // one red 10-point word
		{Coverage{C: 0.0002}, true},
		{Coverage{Y: 0.5}, true},
	} {
		if got := tc.c.Color(); got != tc.want {
			t.Errorf("%+v: colour %v, want %v", tc.c, got, tc.want)
		}
	}
}

// FuzzInkCoverage: whatever Ghostscript (or a document that reaches its
// output) writes, the parser ends without panicking, returns at most the
// pages asked for, and only fractions.
func FuzzInkCoverage(f *testing.F) {
	f.Add([]byte(" 0.00000  0.08035  0.08035  0.00000 CMYK OK\n"))
	f.Add([]byte(" 0.00000  0.00000  0.00000  0.47889 CMYK OK\n 0.1 0.2 0.3 0.4 CMYK OK\n"))
	f.Add([]byte("-1.00000 -1.00000 -1.00000 -1.00000 CMYK ERROR\n"))
	f.Add([]byte("1e-3 0x1p-2 +Inf 0 CMYK OK\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		const max = 4
		pages, err := parseInkCoverage(out, max)
		if err != nil {
			if pages != nil {
				t.Fatalf("pages %v beside error %v", pages, err)
			}
			return
		}
		if len(pages) > max {
			t.Fatalf("%d pages, at most %d asked for", len(pages), max)
		}
		for _, p := range pages {
			for _, v := range []float64{p.C, p.M, p.Y, p.K} {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("coverage %v is not a fraction", v)
				}
			}
		}
	})
}

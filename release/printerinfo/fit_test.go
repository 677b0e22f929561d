package printerinfo

import (
	"errors"
	"reflect"
	"testing"
)

func TestFit(t *testing.T) {
	mono := Capabilities{Known: true, ColorModes: []string{"monochrome"}, Sides: []string{"one-sided"},
		Media: []string{"iso_a4_210x297mm", "na_letter_8.5x11in"}, CopiesMax: 999}
	office := Capabilities{Known: true, Color: true, ColorModes: []string{"auto", "monochrome", "color"},
		Sides: []string{"one-sided", "two-sided-long-edge", "two-sided-short-edge"},
		Media: []string{"iso_a4_210x297mm", "iso_a3_297x420mm", "jis_b4_257x364mm"}, PageRanges: true, CopiesMax: 999}
	refuseAll := Policy{Copies: Refuse, Sides: Refuse, Color: Refuse, Media: Refuse, PageRanges: Refuse}
	printAll := Policy{Copies: Print, Sides: Print, Color: Print, Media: Print, PageRanges: Print}
	payslip := JobOptions{Copies: 1, Sides: "two-sided-long-edge", ColorMode: "monochrome", Media: "iso_a4_210x297mm"}

	tests := []struct {
		name    string
		opts    JobOptions
		caps    Capabilities
		policy  Policy
		want    JobOptions
		changes []Change
		refused string // Unsupported.Reason
	}{
		{name: "unknown printer: as asked", opts: payslip, caps: Capabilities{}, want: payslip},
		{name: "all supported", opts: payslip, caps: office, want: payslip},
		{name: "nothing asked", opts: JobOptions{}, caps: mono, want: JobOptions{}},
		{name: "duplex on simplex printer: one-sided, recorded", opts: payslip, caps: mono,
			want:    JobOptions{Copies: 1, Sides: "one-sided", ColorMode: "monochrome", Media: "iso_a4_210x297mm"},
			changes: []Change{{"sides", "two-sided-long-edge", "one-sided"}}},
		{name: "duplex on simplex printer, policy refuses", opts: payslip, caps: mono, policy: refuseAll,
			refused: "sides-not-supported"},
		{name: "printer lists no sides: simplex", opts: payslip, caps: Capabilities{Known: true},
			want:    JobOptions{Copies: 1, Sides: "one-sided", ColorMode: "monochrome", Media: "iso_a4_210x297mm"},
			changes: []Change{{"sides", "two-sided-long-edge", "one-sided"}}},
		{name: "short edge on a long-edge-only printer", opts: JobOptions{Sides: "two-sided-short-edge"},
			caps: Capabilities{Known: true, Sides: []string{"one-sided", "two-sided-long-edge"}}, policy: refuseAll,
			want:    JobOptions{Sides: "two-sided-long-edge"},
			changes: []Change{{"sides", "two-sided-short-edge", "two-sided-long-edge"}}},
		{name: "colour on mono printer: monochrome, recorded", opts: JobOptions{ColorMode: "color"}, caps: mono,
			want: JobOptions{ColorMode: "monochrome"}, changes: []Change{{"print-color-mode", "color", "monochrome"}}},
		{name: "colour on mono printer, policy refuses", opts: JobOptions{ColorMode: "color"}, caps: mono, policy: refuseAll,
			refused: "print-color-mode-not-supported"},
		{name: "colour from color-supported alone", opts: JobOptions{ColorMode: "color"},
			caps: Capabilities{Known: true, Color: true}, policy: refuseAll, want: JobOptions{ColorMode: "color"}},
		{name: "auto on mono printer: printer default, recorded", opts: JobOptions{ColorMode: "auto"}, caps: mono, policy: refuseAll,
			want: JobOptions{}, changes: []Change{{"print-color-mode", "auto", ""}}},
		{name: "monochrome on a colour-only printer: printer default, recorded", opts: JobOptions{ColorMode: "monochrome"},
			caps: Capabilities{Known: true, ColorModes: []string{"color"}}, want: JobOptions{},
			changes: []Change{{"print-color-mode", "monochrome", ""}}},
		{name: "monochrome on a colour-only printer, policy refuses", opts: JobOptions{ColorMode: "monochrome"},
			caps: Capabilities{Known: true, ColorModes: []string{"color"}}, policy: refuseAll, refused: "print-color-mode-not-supported"},
		{name: "bi-level on a printer with monochrome", opts: JobOptions{ColorMode: "bi-level"}, caps: office,
			want: JobOptions{ColorMode: "monochrome"}, changes: []Change{{"print-color-mode", "bi-level", "monochrome"}}},
		{name: "B4 on a printer without it: printer's choice, recorded", opts: JobOptions{Media: "jis_b4_257x364mm"}, caps: mono,
			want: JobOptions{}, changes: []Change{{"media", "jis_b4_257x364mm", ""}}},
		{name: "B4 on a printer without it, policy refuses", opts: JobOptions{Media: "jis_b4_257x364mm"}, caps: mono,
			policy: refuseAll, refused: "media-not-supported"},
		{name: "printer lists no media: as asked", opts: JobOptions{Media: "jis_b4_257x364mm"},
			caps: Capabilities{Known: true}, want: JobOptions{Media: "jis_b4_257x364mm"}},
		{name: "too many copies: refused by default", opts: JobOptions{Copies: 20},
			caps: Capabilities{Known: true, CopiesMax: 1}, refused: "copies-not-supported"},
		{name: "too many copies, policy prints", opts: JobOptions{Copies: 20}, caps: Capabilities{Known: true, CopiesMax: 10},
			policy: printAll, want: JobOptions{Copies: 10}, changes: []Change{{"copies", "20", "10"}}},
		{name: "copies unknown: as asked", opts: JobOptions{Copies: 20}, caps: Capabilities{Known: true}, want: JobOptions{Copies: 20}},
		{name: "page ranges unsupported: refused by default", opts: JobOptions{PageRanges: "1-2"}, caps: mono,
			refused: "page-ranges-not-supported"},
		{name: "page ranges unsupported, policy prints every page", opts: JobOptions{PageRanges: "1-2"}, caps: mono,
			policy: printAll, want: JobOptions{}, changes: []Change{{"page-ranges", "1-2", ""}}},
		{name: "page ranges supported", opts: JobOptions{PageRanges: "1-2"}, caps: office, want: JobOptions{PageRanges: "1-2"}},
		{name: "several changes, in order", opts: JobOptions{Copies: 2, Sides: "two-sided-short-edge", ColorMode: "color",
			Media: "iso_a3_297x420mm"}, caps: mono,
			want: JobOptions{Copies: 2, Sides: "one-sided", ColorMode: "monochrome"},
			changes: []Change{{"sides", "two-sided-short-edge", "one-sided"}, {"print-color-mode", "color", "monochrome"},
				{"media", "iso_a3_297x420mm", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changes, err := Fit(tt.opts, tt.caps, tt.policy)
			var un *Unsupported
			if tt.refused != "" {
				if !errors.As(err, &un) || un.Reason() != tt.refused {
					t.Fatalf("err %v, want a refusal %s", err, tt.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("sent %+v, want %+v", got, tt.want)
			}
			if !reflect.DeepEqual(changes, tt.changes) {
				t.Errorf("changes %+v, want %+v", changes, tt.changes)
			}
		})
	}
}

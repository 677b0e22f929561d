package ipp

import (
	"slices"
	"testing"
)

func TestParseMedia(t *testing.T) {
	for _, c := range []struct {
		name string
		x, y int
		ok   bool
	}{
		{"iso_a4_210x297mm", 21000, 29700, true},
		{"na_letter_8.5x11in", 21590, 27940, true},
		{"na_index-4x6_4x6in", 10160, 15240, true},
		{"custom_min_3x5in", 0, 0, false},
		{"a4", 0, 0, false},
		{"iso_a4_0x297mm", 0, 0, false},
		{"iso_huge_99999999x1mm", 0, 0, false},
		{"iso_a4_210x297cm", 0, 0, false},
	} {
		m, ok := parseMedia(c.name)
		if ok != c.ok || m.x != c.x || m.y != c.y {
			t.Errorf("parseMedia(%q) = %v %v, want %d×%d %v", c.name, m, ok, c.x, c.y, c.ok)
		}
	}
}

func TestChooseMedia(t *testing.T) {
	def := chooseMedia(Capabilities{})
	if !slices.Equal(def.names, defaultMedia) || def.defaultMed.name != "iso_a4_210x297mm" ||
		!slices.Equal(mediaNames(def.ready), defaultReady) {
		t.Errorf("defaults: %v ready %v default %v", def.names, mediaNames(def.ready), def.defaultMed.name)
	}
	m := chooseMedia(Capabilities{Media: []string{"na_letter_8.5x11in", "roll_max_36x10000in", "custom_min_3x5in", "iso_a4_210x297mm"},
		MediaReady: []string{"iso_a3_297x420mm"}, MediaDefault: "na_letter_8.5x11in"})
	if !slices.Equal(m.names, []string{"na_letter_8.5x11in", "iso_a4_210x297mm"}) {
		t.Errorf("names %v", m.names)
	}
	// Nothing ready that is supported: the default is.
	if m.defaultMed.name != "na_letter_8.5x11in" || !slices.Equal(mediaNames(m.ready), []string{"na_letter_8.5x11in"}) {
		t.Errorf("default %v ready %v", m.defaultMed.name, mediaNames(m.ready))
	}
}

func TestPageRanges(t *testing.T) {
	for _, c := range []struct {
		in    string
		ok    bool
		count int // of a 10-page document
	}{
		{"", true, 10},
		{"1-3,7-7", true, 4},
		{"9-20", true, 2},
		{"11-12", true, 0},
		{"3-1", false, 0},
		{"0-2", false, 0},
		{"1-3,2-4", false, 0},
		{"4-5,1-2", false, 0},
		{"1-x", false, 0},
		{"7", false, 0},
	} {
		rs, err := ParsePageRanges(c.in)
		if (err == nil) != c.ok {
			t.Errorf("ParsePageRanges(%q): %v", c.in, err)
			continue
		}
		if !c.ok {
			continue
		}
		if got := FormatPageRanges(rs); got != c.in {
			t.Errorf("FormatPageRanges(ParsePageRanges(%q)) = %q", c.in, got)
		}
		if n := CountPages(rs, 10); n != c.count {
			t.Errorf("CountPages(%q, 10) = %d, want %d", c.in, n, c.count)
		}
	}
}

func FuzzParsePageRanges(f *testing.F) {
	for _, s := range []string{"", "1-3,7-7", "1-1073741824", "2-1", "1-2,2-3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParsePageRanges(s)
		if err != nil {
			return
		}
		if len(rs) > maxPageRanges {
			t.Fatalf("%d ranges", len(rs))
		}
		again, err := ParsePageRanges(FormatPageRanges(rs))
		if err != nil || !slices.Equal(again, rs) {
			t.Fatalf("%q does not survive a round trip: %v %v", s, again, err)
		}
		if n := CountPages(rs, 100); n < 0 || n > 100 {
			t.Fatalf("CountPages = %d", n)
		}
	})
}

package release

import (
	"slices"
	"testing"
)

// TestTextCounterThinPages: the pages without any text, wherever they
// are, are the ones OCR reads. pdftotext ends each page with a form
// feed, txtwrite begins each with one; either way a page is a form feed.
func TestTextCounterThinPages(t *testing.T) {
	cases := []struct {
		name    string
		leading bool
		text    string
		thin    []int
		empty   bool
		pages   int
	}{
		{"no text at all", false, "", []int{1}, true, 0},
		{"text on every page", false, "one\ftwo\fthree\f", nil, false, 3},
		{"a scanned second page", false, "one\f \n\fthree\f", []int{2}, false, 3},
		{"a scanned tenth page", false, "1\f2\f3\f4\f5\f6\f7\f8\f9\f\f", []int{10}, false, 10},
		{"spaces only", false, " \n\t\f", []int{1}, true, 1},
		{"txtwrite, text on both pages", true, "\fone\ftwo", nil, false, 2},
		{"txtwrite, a scanned second page", true, "\fone\f", []int{2}, false, 2},
		{"txtwrite, no page marked", true, "one two", nil, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tc := textCounter{leading: c.leading}
			tc.Write([]byte(c.text))
			if got := tc.thinPages(); !slices.Equal(got, c.thin) {
				t.Errorf("thin pages %v, want %v (pages %v)", got, c.thin, tc.pageCounts())
			}
			if got := tc.empty(); got != c.empty {
				t.Errorf("empty = %v, want %v", got, c.empty)
			}
			if got := tc.pages(); got != c.pages {
				t.Errorf("pages = %d, want %d", got, c.pages)
			}
		})
	}
}

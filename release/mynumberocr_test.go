package release

import "testing"

// TestTextCounterThin: a page without any text, wherever it is, asks for
// OCR; one past the pages OCR reads makes the document uncheckable.
// pdftotext ends each page with a form feed, txtwrite begins each with
// one.
func TestTextCounterThin(t *testing.T) {
	cases := []struct {
		name          string
		leading       bool
		text          string
		thin, beyond2 bool
	}{
		{"no text at all", false, "", true, false},
		{"text on every page", false, "one\ftwo\fthree\f", false, false},
		{"a scanned second page", false, "one\f \n\fthree\f", true, false},
		{"a scanned third page, past two", false, "one\ftwo\f\f", true, true},
		{"spaces only", false, " \n\t\f", true, false},
		{"txtwrite, text on both pages", true, "\fone\ftwo", false, false},
		{"txtwrite, a scanned second page", true, "\fone\f", true, false},
		{"txtwrite, a scanned page between", true, "\fone\f\fthree", true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tc := textCounter{leading: c.leading}
			tc.Write([]byte(c.text))
			if got := tc.thin(); got != c.thin {
				t.Errorf("thin = %v, want %v (pages %v)", got, c.thin, tc.pageCounts())
			}
			if got := tc.thinBeyond(2); got != c.beyond2 {
				t.Errorf("thin beyond 2 = %v, want %v (pages %v)", got, c.beyond2, tc.pageCounts())
			}
		})
	}
}

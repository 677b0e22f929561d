package web

import (
	"html/template"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestKeyword shows keywords as a page shows them: in the catalog's
// words, a media name the catalog lacks by its size, a printer reason by
// its words whatever its severity, and anything else as "unknown" with
// the value, escaped, only in the title.
func TestKeyword(t *testing.T) {
	locs, err := loadLocales(time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		lang, prefix, value string
		want                template.HTML
	}{
		{langJa, "ipp.sides.", "one-sided", "片面"},
		{langEn, "ipp.sides.", "two-sided-long-edge", "two-sided, long-edge binding"},
		{langJa, "ipp.reason.", "job-completed-successfully", "正常に印刷"},
		{langJa, "ipp.reason.", "media-jam-error", "紙詰まり"},
		{langJa, "ipp.reason.", "media-jam-warning", "紙詰まり"},
		{langJa, "ipp.media.", "iso_a4_210x297mm", "A4"},
		{langJa, "ipp.media.", "jpn_kaku2_240x332mm", `<span title="jpn_kaku2_240x332mm">240 × 332 mm</span>`},
		{langEn, "ipp.media.", "custom_min_3x5in", `<span title="custom_min_3x5in">3 × 5 in</span>`},
		{langJa, "ipp.media.", "roll_max_36.5x" + strings.Repeat("9", 200) + "in", `<span class="unknown" title="roll_max_36.5x` + template.HTML(strings.Repeat("9", 200)) + `in">不明</span>`},
		{langJa, "ipp.reason.", "firmware-quirk-42", `<span class="unknown" title="firmware-quirk-42">不明</span>`},
		{langEn, "ipp.reason.", "firmware-quirk-42", `<span class="unknown" title="firmware-quirk-42">unknown</span>`},
		{langJa, "outcome.", "printed", "印刷済み"},
		{langJa, "ipp.reason.", `"><script>alert(1)</script>`, `<span class="unknown" title="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">不明</span>`},
		{langJa, "ipp.format.", "application/pdf", "PDF"},
	}
	for _, tt := range tests {
		if got := locs[tt.lang].Keyword(tt.prefix, tt.value); got != tt.want {
			t.Errorf("%s Keyword(%q, %q) = %q; want %q", tt.lang, tt.prefix, tt.value, got, tt.want)
		}
	}
	if got := locs[langJa].Keywords("ipp.reason.", "media-jam-error, toner-low-report,,x-y"); got != `紙詰まり、トナー残量わずか、<span class="unknown" title="x-y">不明</span>` {
		t.Errorf("Keywords = %q", got)
	}
}

// FuzzKeyword: whatever a printer or client sends as a keyword, the page
// gets well-formed HTML in which the value never stands as markup.
func FuzzKeyword(f *testing.F) {
	locs, err := loadLocales(time.UTC)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"one-sided", "iso_a4_210x297mm", "jpn_x_1x1mm", "a_b_1.5x2.25in", "<b>", "media-jam-error", ""} {
		f.Add("ipp.media.", s)
		f.Add("ipp.reason.", s)
	}
	f.Fuzz(func(t *testing.T, prefix, value string) {
		if !utf8.ValidString(value) {
			return
		}
		for _, loc := range locs {
			got := string(loc.Keyword(prefix, value))
			if got == "" {
				t.Fatalf("Keyword(%q, %q) is empty", prefix, value)
			}
			rest := strings.NewReplacer(`<span class="unknown" title="`, "", `<span title="`, "", `">`, "", `</span>`, "").Replace(got)
			if strings.ContainsAny(rest, "<>\"") {
				t.Fatalf("Keyword(%q, %q) = %q: the value stands as markup", prefix, value, got)
			}
		}
	})
}

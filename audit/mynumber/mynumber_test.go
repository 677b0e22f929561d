package mynumber

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

func digits(s string) (d [12]byte) {
	for i := range d {
		d[i] = s[i] - '0'
	}
	return d
}

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		n    string
		want bool
	}{
		{"123456789018", true},
		{"123456789019", false},
		{"987654321093", true},
		{"000000000000", true}, // remainder 0: check digit 0
		{"000000000001", false},
		{"555555555557", true},
		{"271828182840", true},
		{"271828182841", false},
	} {
		if got := Valid(digits(tc.n)); got != tc.want {
			t.Errorf("Valid(%s) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

// scan returns what a Scanner finds in text, written in one piece and one
// byte at a time (characters split between writes).
func scan(t *testing.T, text string) Finding {
	t.Helper()
	whole := Scanner{FirstPage: 1}
	whole.Write([]byte(text))
	f := whole.Finding()
	bytewise := Scanner{FirstPage: 1}
	for i := range len(text) {
		bytewise.Write([]byte{text[i]})
	}
	if g := bytewise.Finding(); g.Count != f.Count || !slices.Equal(g.Pages, f.Pages) {
		t.Errorf("%q: written byte by byte %+v, at once %+v", text, g, f)
	}
	return f
}

func TestScanner(t *testing.T) {
	for _, tc := range []struct {
		name  string
		text  string
		count int
		pages []int
	}{
		{"plain", "個人番号 123456789018 です", 1, []int{1}},
		{"spaces", "番号: 9876 5432 1093\n", 1, []int{1}},
		{"hyphens", "3141-5926-5352", 1, []int{1}},
		{"soft hyphens (pdfcpu, some office software)", "3141\u00ad5926\u00ad5352", 1, []int{1}},
		{"ideographic space", "9876\u30005432\u30001093", 1, []int{1}},
		{"full-width plain", "個人番号：２７１８２８１８２８４０", 1, []int{1}},
		{"full-width hyphens", "１３５７－９２４６－８０１５", 1, []int{1}},
		{"hyphen then line break", "1111-2222-\n3333", 1, []int{1}},
		{"groups across lines", "1111 2222\n3333\n", 1, []int{1}},
		{"split mid-group across lines", "番号 555555\n555557 以上", 1, []int{1}},
		{"two on two lines", "1234 5678 9018\n9876 5432 1093", 2, []int{1}},
		{"second page", "nothing\fsee 123456789018\f", 1, []int{2}},
		{"pages listed once", "123456789018 987654321093\f\f314159265352", 3, []int{1, 3}},
		{"wrong check digit", "123456789019", 0, nil},
		{"wrong check digit grouped", "9876 5432 1094", 0, nil},
		{"wrong check digit full-width", "２７１８２８１８２８４１", 0, nil},
		{"13 digits", "1234567890181", 0, nil},
		{"preceded by a digit", "0123456789018", 0, nil},
		{"card number", "4111 1234 5678 9018", 0, nil},
		{"card number, hyphens", "1234-5678-9018-3333", 0, nil},
		{"phone number", "電話 +81-90-1234-5678", 0, nil},
		{"phone and account", "TEL 090-1234-5678 口座 202404011238", 0, nil},
		{"two hyphens", "9876--5432--1093", 0, nil},
		{"wide gap", "9876          5432 1093", 0, nil},
		{"groups of 3-4-5", "123 4567 89018", 0, nil},
		{"letters between", "1234a5678b9018", 0, nil},
		// Boxes of a form (扶養控除等申告書): one digit a box.
		{"boxes, blank lines (pdftotext)", "1\n\n2\n\n3\n\n4\n\n5\n\n6\n\n7\n\n8\n\n9\n\n0\n\n1\n\n8", 1, []int{1}},
		{"boxes in a form", "個人番号\n\n9\n\n8\n\n7\n\n6\n\n5\n\n4\n\n3\n\n2\n\n1\n\n0\n\n9\n\n3\n\n氏名", 1, []int{1}},
		{"boxes, single spaces", "1 2 3 4 5 6 7 8 9 0 1 8", 1, []int{1}},
		{"boxes, CRLF and ideographic spaces", "3\r\n1\r\n4\r\n1\u30005\u30009\r\n2\r\n6\r\n5\r\n3\r\n5\r\n2", 1, []int{1}},
		{"boxes then a year", "1 2 3 4 5 6 7 8 9 0 1 8 2024", 1, []int{1}},
		{"13 boxes", "1 2 3 4 5 6 7 8 9 0 1 8 5", 0, nil},
		{"13 boxes, one before", "5\n1\n2\n3\n4\n5\n6\n7\n8\n9\n0\n1\n8", 0, nil},
		{"boxes after a hyphen", "5-1 2 3 4 5 6 7 8 9 0 1 8", 0, nil},
		{"boxes, the first ending another number", "12345678901\n8\n1\n2\n3\n4\n5\n6\n7\n8\n9\n0\n0", 1, []int{1}},
		{"boxes with hyphens", "1-2-3-4-5-6-7-8-9-0-1-8", 0, nil},
		{"11 boxes", "1 2 3 4 5 6 7 8 9 0 1", 0, nil},
		{"boxes, wrong check digit", "1 2 3 4 5 6 7 8 9 0 1 9", 0, nil},
		// □□□□-□□□□-□□□□: a hyphen printed after the fourth and eighth box.
		{"boxes, hyphens after 4 and 8", "1 2 3 4 - 5 6 7 8 - 9 0 1 8", 1, []int{1}},
		{"boxes, hyphens on lines of their own (pdftotext)", "1\n\n2\n\n3\n\n4\n\n- 5\n\n6\n\n7\n\n8\n\n- 9\n\n0\n\n1\n\n8\n", 1, []int{1}},
		{"boxes, hyphens beside boxes", "1\n\n2\n\n3\n\n4 - 5\n\n6\n\n7\n\n8 - 9\n\n0\n\n1\n\n8\n", 1, []int{1}},
		{"boxes, full-width hyphens after 4 and 8", "1 2 3 4－5 6 7 8－9 0 1 8", 1, []int{1}},
		{"boxes, one hyphen after 8", "1 2 3 4 5 6 7 8 - 9 0 1 8", 1, []int{1}},
		{"boxes, hyphen after 3", "1 2 3 - 4 5 6 7 8 9 0 1 8", 0, nil},
		{"boxes, two hyphens after 4", "1 2 3 4 - - 5 6 7 8 - 9 0 1 8", 0, nil},
		{"boxes, hyphens, wrong check digit", "1 2 3 4 - 5 6 7 8 - 9 0 1 9", 0, nil},
		// Rows of boxes one after another.
		{"two rows of boxes, lines", "1\n2\n3\n4\n5\n6\n7\n8\n9\n0\n1\n8\n9\n8\n7\n6\n5\n4\n3\n2\n1\n0\n9\n3\n", 2, []int{1}},
		{"two rows of boxes, blank lines", strings.Repeat("1\n\n2\n\n3\n\n4\n\n5\n\n6\n\n7\n\n8\n\n9\n\n0\n\n1\n\n8\n\n", 2), 2, []int{1}},
		{"two rows of boxes, one line each (-raw)", "1 2 3 4 5 6 7 8 9 0 1 8\n9 8 7 6 5 4 3 2 1 0 9 3\n", 2, []int{1}},
		{"three rows of hyphenated boxes", strings.Repeat("1 2 3 4 - 5 6 7 8 - 9 0 1 8\n", 3), 3, []int{1}},
		{"two rows, the second no number", "1 2 3 4 5 6 7 8 9 0 1 8\n9 8 7 6 5 4 3 2 1 0 9 4", 1, []int{1}},
		{"two rows across pages", "1 2 3 4 5 6 7 8 9 0 1 8\f9 8 7 6 5 4 3 2 1 0 9 3", 2, []int{1, 2}},
		{"25 boxes", "1 2 3 4 5 6 7 8 9 0 1 8 9 8 7 6 5 4 3 2 1 0 9 3 7", 0, nil},
		{"23 boxes", "1 2 3 4 5 6 7 8 9 0 1 8 9 8 7 6 5 4 3 2 1 0 9", 0, nil},
		{"two rows, a hyphen after box 13", "1 2 3 4 5 6 7 8 9 0 1 8 9 - 8 7 6 5 4 3 2 1 0 9 3", 0, nil},
		// Other and mixed separators.
		{"dots", "1234.5678.9018", 1, []int{1}},
		{"slashes", "1234/5678/9018", 1, []int{1}},
		{"hyphen then space", "1234-5678 9018", 1, []int{1}},
		{"space then hyphen", "9876 5432-1093", 1, []int{1}},
		{"full-width dots", "１２３４．５６７８．９０１８", 1, []int{1}},
		{"full-width slashes", "３１４１／５９２６／５３５２", 1, []int{1}},
		{"8-4", "12345678 9018", 1, []int{1}},
		{"4-8", "1234 56789018", 1, []int{1}},
		{"8-4 hyphen", "番号98765432-1093", 1, []int{1}},
		{"two dots", "1234..5678..9018", 0, nil},
		{"dots, wrong check digit", "1234.5678.9019", 0, nil},
		{"card number, mixed", "4111-1234 5678.9018", 0, nil},
		{"4-8-4", "1234 12345678 9018", 0, nil},
		{"date and time", "2024 12 31 10 00 00", 0, nil},
		{"date", "2024/12/31", 0, nil},
		{"Tokyo phone number", "03-1234-5678", 0, nil},
		// Invisible format characters.
		{"zero-width spaces", "1234\u200b5678\u200b9018", 1, []int{1}},
		{"zero-width space in a group", "12\u200b34 5678 9018", 1, []int{1}},
		{"ZWNJ", "123456\u200c789018", 1, []int{1}},
		{"ZWJ", "1\u200d23456789018", 1, []int{1}},
		{"word joiner", "1234-\u20605678-9018", 1, []int{1}},
		{"byte order mark", "\ufeff12345678901\ufeff8", 1, []int{1}},
		{"soft hyphen in a group", "12\u00ad3456789018", 1, []int{1}},
		{"format characters between boxes", "1\u200b 2 3 4 5 6 7 8 9 0 1\u2060 8", 1, []int{1}},
		{"13 digits, zero-width space", "1234\u200b567890181", 0, nil},
		{"preceded by a digit, zero-width space", "0\u200b123456789018", 0, nil},
		// Decimal digits of other scripts.
		{"mathematical bold", "𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗𝟎𝟏𝟖", 1, []int{1}},
		{"mathematical sans-serif, grouped", "𝟫𝟪𝟩𝟨 𝟧𝟦𝟥𝟤 𝟣𝟢𝟫𝟥", 1, []int{1}},
		{"Arabic-Indic", "١٢٣٤٥٦٧٨٩٠١٨", 1, []int{1}},
		{"extended Arabic-Indic, right-to-left marks", "\u200f۱۲۳۴\u200f۵۶۷۸\u200f۹۰۱۸", 1, []int{1}},
		{"Devanagari", "१२३४-५६७८-९०१८", 1, []int{1}},
		{"mixed scripts", "１2٣𝟒56789018", 1, []int{1}},
		{"Arabic-Indic, wrong check digit", "١٢٣٤٥٦٧٨٩٠١٩", 0, nil},
		{"mathematical bold, 13 digits", "𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗𝟎𝟏𝟖𝟏", 0, nil},
		// Page breaks.
		{"split across pages", "1234 5678\f9018", 1, []int{1, 2}},
		{"8-4 across pages", "12345678\f\f9018", 1, []int{1, 3}},
		{"boxes across pages", "1\n2\n3\n4\n5\n6\f7\n8\n9\n0\n1\n8\n", 1, []int{1, 2}},
		{"number at the end of a page", "123456789018\f5 pages\f", 1, []int{1}},
		{"card number across pages", "4111 1234\f5678 9018", 0, nil},
		{"empty", "", 0, nil},
		{"invalid UTF-8 between", "1234\xff5678\xfe9018", 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := scan(t, tc.text)
			if f.Count != tc.count || !slices.Equal(f.Pages, tc.pages) {
				t.Errorf("%q: found %+v, want count %d on pages %v", tc.text, f, tc.count, tc.pages)
			}
		})
	}
}

func TestDigit(t *testing.T) {
	// Every decimal digit of every script, against its compatibility
	// form where it has an ASCII one, and each script's set in order.
	for r := rune(0); r <= unicode.MaxRune; r++ {
		d, ok := digit(r)
		if ok != unicode.IsDigit(r) {
			t.Fatalf("digit(%U) ok = %v", r, ok)
		}
		if !ok {
			continue
		}
		if s := norm.NFKC.String(string(r)); len(s) == 1 && s[0] >= '0' && s[0] <= '9' && s[0]-'0' != d {
			t.Errorf("digit(%U) = %d, NFKC %s", r, d, s)
		}
		if zero, _ := digit(r - rune(d)); zero != 0 || !unicode.IsDigit(r-rune(d)+9) {
			t.Errorf("digit(%U) = %d: not in a set of ten", r, d)
		}
	}
	for _, tc := range []struct {
		r rune
		d byte
	}{{'7', 7}, {'７', 7}, {'𝟕', 7}, {'٧', 7}, {'۷', 7}, {'७', 7}, {'၇', 7}} {
		if d, ok := digit(tc.r); !ok || d != tc.d {
			t.Errorf("digit(%q) = %d, %v, want %d", tc.r, d, ok, tc.d)
		}
	}
	for _, r := range "①¹Ⅶ七a" {
		if _, ok := digit(r); ok {
			t.Errorf("digit(%q) is a digit", r)
		}
	}
}

func TestFirstPageZero(t *testing.T) {
	// Text whose pages begin with a form feed (Ghostscript's txtwrite as
	// printgate runs it).
	var s Scanner
	s.Write([]byte("\fpage one\f123456789018"))
	if f := s.Finding(); f.Count != 1 || !slices.Equal(f.Pages, []int{2}) {
		t.Errorf("found %+v, want one on page 2", f)
	}
}

func TestLongTextConstantMemory(t *testing.T) {
	// A long run of digit groups is scanned without keeping it.
	var s Scanner
	text := strings.Repeat("1234 ", 1<<16) + "\n123456789018"
	s.Write([]byte(text))
	if f := s.Finding(); f.Count != 1 {
		t.Errorf("found %+v, want 1", f)
	}
}

func FuzzScanner(f *testing.F) {
	for _, s := range []string{"123456789018", "1234 5678 9018", "１３５７－９２４６－８０１５", "555555\n555557", "\f1\f",
		"1\n\n2\n\n3\n\n4\n\n5\n\n6\n\n7\n\n8\n\n9\n\n0\n\n1\n\n8", "1234.5678\f9018", "𝟏𝟐𝟑𝟒\u200b٥٦٧٨ 90181",
		"1 2 3 4 - 5 6 7 8 - 9 0 1 8\n9 8 7 6 5 4 3 2 1 0 9 3"} {
		f.Add([]byte(s), 3)
	}
	f.Fuzz(func(t *testing.T, text []byte, split int) {
		var whole, parts Scanner
		whole.Write(text)
		split = max(split, 1)
		for p := text; len(p) > 0; {
			n := min(split, len(p))
			parts.Write(p[:n])
			p = p[n:]
		}
		a, b := whole.Finding(), parts.Finding()
		if a.Count != b.Count || !slices.Equal(a.Pages, b.Pages) {
			t.Fatalf("whole %+v, in pieces of %d %+v", a, split, b)
		}
		if a.Count > bytes.Count(text, nil) || len(a.Pages) > MaxPages {
			t.Fatalf("found %+v in %d bytes", a, len(text))
		}
	})
}

func BenchmarkScanner(b *testing.B) {
	// Office text without a number: the common case.
	line := []byte("令和7年分 給与所得の源泉徴収票 支払金額 4,250,000円 電話 03-1234-5678 Page 12 of 40\n")
	text := bytes.Repeat(line, 1<<14)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		var s Scanner
		s.Write(text)
		if s.Finding().Count != 0 {
			b.Fatal("found a number")
		}
	}
}

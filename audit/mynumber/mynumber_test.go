package mynumber

import (
	"bytes"
	"slices"
	"strings"
	"testing"
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
		{"mixed separators", "9876 5432-1093", 0, nil},
		{"two hyphens", "9876--5432--1093", 0, nil},
		{"wide gap", "9876          5432 1093", 0, nil},
		{"split across pages", "1234 5678\f9018", 0, nil},
		{"groups of 3-4-5", "123 4567 89018", 0, nil},
		{"letters between", "1234a5678b9018", 0, nil},
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
	for _, s := range []string{"123456789018", "1234 5678 9018", "１３５７－９２４６－８０１５", "555555\n555557", "\f1\f"} {
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

package convert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/audit/mynumber"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

func newTextExtractor(t testing.TB, l Limits) *TextExtractor {
	t.Helper()
	testenv.Tool(t, "pdftotext")
	testenv.Tool(t, "gs")
	testenv.Tool(t, "prlimit")
	x, err := NewTextExtractor(l)
	if err != nil {
		t.Fatal(err)
	}
	if testenv.Strict() {
		testenv.Tool(t, "bwrap")
		if err := x.PrivateFS(); err != nil {
			t.Fatal(err)
		}
	}
	return x
}

// myNumberPDF is the corpus's Japanese PDF (IPA Gothic embedded), one
// string per page, and what is on each: 7 individual numbers on pages 1,
// 2, 3 and 5.
var myNumberPDF = []string{
	// 1: one number, plain.
	"給与所得の源泉徴収票\n個人番号 123456789018\n支払金額 4,250,000円",
	// 2: two, in groups of four with a space and with hyphens.
	"扶養親族 9876 5432 1093\n配偶者 3141-5926-5352",
	// 3: two in full-width digits, plain and with full-width hyphens.
	"個人番号：２７１８２８１８２８４０ と １３５７－９２４６－８０１５",
	// 4: none: wrong check digits (plain and grouped), a 12-digit phone
	// number, a 12-digit account number, a card number that holds a
	// valid group of three.
	"誤り 123456789019\n9876 5432 1094\n電話 +81-90-1234-5678\n口座 202404011238\nカード 4111 1234 5678 9018",
	// 5: two split across lines: between groups, and within the digits.
	"番号 1111 2222\n3333 (改行で分割)\n別の番号 555555\n555557",
}

// myNumberPS is the corpus's PostScript (Helvetica), two pages: 2
// individual numbers, on pages 1 and 2.
func myNumberPS() []byte {
	var b bytes.Buffer
	b.WriteString("%!PS-Adobe-3.0\n%%Pages: 2\n%%EndComments\n" +
		"/line { /Helvetica findfont 14 scalefont setfont moveto show } bind def\n")
	for _, page := range [][]string{
		{"Individual number 123456789018", "Wrong check digit 9876 5432 1094", "Account 202404011238"},
		{"Spouse 3141-5926-5352", "TEL +81-90-1234-5678", "Card 1234-5678-9018-3333"},
	} {
		b.WriteString("%%Page: x x\n")
		for i, line := range page {
			fmt.Fprintf(&b, "(%s) 72 %d line\n", line, 760-30*i)
		}
		b.WriteString("showpage\n")
	}
	b.WriteString("%%EOF\n")
	return b.Bytes()
}

// TestTextMyNumberCorpus extracts the text of the corpus in the sandbox
// and scans it: every number found, no other.
func TestTextMyNumberCorpus(t *testing.T) {
	x := newTextExtractor(t, TextLimits())
	pdf, err := testdocs.JapanesePDF(testdocs.IPAGothic, t.TempDir(), myNumberPDF)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, format string
		doc          []byte
		first        int
		want         mynumber.Finding
	}{
		{"Japanese PDF", PDF, pdf, 1, mynumber.Finding{Count: 7, Pages: []int{1, 2, 3, 5}}},
		{"PostScript", PostScript, myNumberPS(), 0, mynumber.Finding{Count: 2, Pages: []int{1, 2}}},
		{"PDF without numbers", PDF, testdocs.PDF(3, "Lunch menu 03-1234-5678", testdocs.A4), 1, mynumber.Finding{}},
		{"Japanese PDF at background priority", PDF, pdf, 1, mynumber.Finding{Count: 7, Pages: []int{1, 2, 3, 5}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mynumber.Scanner{FirstPage: tc.first}
			x := x
			if strings.HasSuffix(tc.name, "background priority") {
				x = x.Background()
			}
			if err := x.Text(context.Background(), bytes.NewReader(tc.doc), tc.format, &s); err != nil {
				t.Fatal(err)
			}
			if got := s.Finding(); got.Count != tc.want.Count || !slices.Equal(got.Pages, tc.want.Pages) {
				t.Errorf("found %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestTextLimits: a document whose text is over the limit, or that does
// not end in time, is stopped with ErrLimit, and a document that is no
// PDF fails without quoting it.
func TestTextLimits(t *testing.T) {
	l := TextLimits()
	l.Output = 1000
	x := newTextExtractor(t, l)
	long := testdocs.DSC(200, strings.Repeat("text ", 20), testdocs.A4)
	err := x.Text(context.Background(), bytes.NewReader(long), PostScript, &bytes.Buffer{})
	if !errors.Is(err, ErrLimit) {
		t.Errorf("200 pages of text through a 1000-byte limit: %v, want ErrLimit", err)
	}
	l = TextLimits()
	l.Wall = 500 * time.Millisecond
	x = newTextExtractor(t, l)
	loop := []byte("%!PS\n{ 1 pop } loop\n")
	start := time.Now()
	err = x.Text(context.Background(), bytes.NewReader(loop), PostScript, &bytes.Buffer{})
	if !errors.Is(err, ErrLimit) || time.Since(start) > 10*time.Second {
		t.Errorf("an endless PostScript loop: %v after %v, want ErrLimit", err, time.Since(start))
	}
	secret := "SECRET-123456789018"
	err = x.Text(context.Background(), strings.NewReader(secret), PDF, &bytes.Buffer{})
	if err == nil || strings.Contains(err.Error(), "123456789018") {
		t.Errorf("text of a PDF that is none: %v", err)
	}
}

// TestTexts: Texts reads a PDF twice, in reading order and in the order
// its pages draw it (-raw), within one extraction's limits: what each
// reading writes counts against one output limit; a PostScript document
// is read once.
func TestTexts(t *testing.T) {
	doc := testdocs.PDF(3, "Menu 03-1234-5678", testdocs.A4)
	x := newTextExtractor(t, TextLimits())
	var text, raw bytes.Buffer
	if err := x.Texts(context.Background(), bytes.NewReader(doc), PDF, &text, &raw); err != nil {
		t.Fatal(err)
	}
	if text.Len() == 0 || bytes.Count(text.Bytes(), []byte("\f")) != 3 || bytes.Count(raw.Bytes(), []byte("\f")) != 3 {
		t.Fatalf("text %q and raw text %q, want three pages each", text.Bytes(), raw.Bytes())
	}
	var ps, none bytes.Buffer
	if err := x.Texts(context.Background(), bytes.NewReader(testdocs.PostScript(2)), PostScript, &ps, &none); err != nil {
		t.Fatal(err)
	}
	if bytes.Count(ps.Bytes(), []byte("\f")) != 2 || none.Len() != 0 {
		t.Errorf("PostScript: text %q, raw text %q; want two pages and no raw text", ps.Bytes(), none.Bytes())
	}

	l := TextLimits()
	l.Output = int64(text.Len() + raw.Len() - 1)
	x = newTextExtractor(t, l)
	if err := x.Text(context.Background(), bytes.NewReader(doc), PDF, &bytes.Buffer{}); err != nil {
		t.Errorf("one reading within the limit: %v", err)
	}
	err := x.Texts(context.Background(), bytes.NewReader(doc), PDF, &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.Is(err, ErrLimit) {
		t.Errorf("two readings a byte over the limit: %v, want ErrLimit", err)
	}
}

// BenchmarkTextMyNumber measures the inspection a submission pays for: the
// text of a PDF without a number, extracted in the sandbox and scanned.
func BenchmarkTextMyNumber(b *testing.B) {
	x := newTextExtractor(b, TextLimits())
	for _, pages := range []int{1, 40} {
		doc := testdocs.PDF(pages, "給与明細 Lunch menu 03-1234-5678 4,250,000", testdocs.A4)
		b.Run(fmt.Sprintf("pdf-%dpages", pages), func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				s := mynumber.Scanner{FirstPage: 1}
				if err := x.Text(context.Background(), bytes.NewReader(doc), PDF, &s); err != nil {
					b.Fatal(err)
				}
				if s.Finding().Count != 0 {
					b.Fatal("found a number")
				}
			}
		})
	}
	doc := testdocs.DSC(1, "Lunch menu 03-1234-5678", testdocs.A4)
	b.Run("ps-1page", func(b *testing.B) {
		for b.Loop() {
			s := mynumber.Scanner{}
			if err := x.Text(context.Background(), bytes.NewReader(doc), PostScript, &s); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestBackgroundNice runs the same command in the sandbox of an extractor
// and of its Background: only the second runs at the lowest processor
// priority, which the inspector's searches and colour measurements rely
// on to take little from submissions.
func TestBackgroundNice(t *testing.T) {
	sh := testenv.Tool(t, "sh")
	niceTool := testenv.Tool(t, "nice")
	x := newTextExtractor(t, DefaultLimits())
	// The test may itself run niced (a CI runner): the foreground keeps
	// its niceness, the background adds 19 to it, up to 19.
	own, err := exec.Command(niceTool).Output()
	if err != nil {
		t.Fatal(err)
	}
	base, err := strconv.Atoi(strings.TrimSpace(string(own)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		x    *TextExtractor
		want string
	}{
		{"foreground", x, strconv.Itoa(base)},
		{"background", x.Background(), strconv.Itoa(min(base+19, 19))},
	} {
		// nice(1) without arguments prints the niceness it runs at.
		out, err := tc.x.box.command(context.Background(), nil, sh, "-c", "nice").CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v: %s", tc.name, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != tc.want {
			t.Errorf("%s: tools run at niceness %s, want %s", tc.name, got, tc.want)
		}
	}
}

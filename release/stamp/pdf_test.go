package stamp

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/font"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// newTestStamper installs the default Japanese font into a temporary
// folder, or stops the test when the machine has none.
func newTestStamper(t testing.TB, o Options) *Stamper {
	t.Helper()
	_, err := FindFont(o.FontFile)
	testenv.Need(t, "a Japanese TrueType font (fonts-ipafont-gothic)", err)
	if o.Dir == "" {
		o.Dir = filepath.Join(t.TempDir(), "fonts")
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testStamp(l Layout) Stamp {
	tokyo := time.FixedZone("JST", 9*3600)
	return Stamp{Owner: "山田 太郎", Time: time.Date(2026, 4, 1, 12, 34, 0, 0, tokyo), JobID: 42,
		Code: "K7QM 2XPD 9FJC", Layout: l}
}

func stampBytes(t testing.TB, s *Stamper, doc []byte, st Stamp) ([]byte, error) {
	t.Helper()
	return s.PDF(context.Background(), bytes.NewReader(doc), int64(len(doc)), st)
}

// pdftotext returns the text of pdf, as poppler extracts it.
func pdftotext(t *testing.T, pdf []byte, args ...string) string {
	t.Helper()
	tool := testenv.Tool(t, "pdftotext")
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, append(args, path, "-")...).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return string(out)
}

// TestPDFText: every page of the stamped document shows the stamp's
// text, Japanese owner included, exactly as Stamper.Text records it; the
// document's own text stays.
func TestPDFText(t *testing.T) {
	s := newTestStamper(t, Options{})
	st := testStamp(Layout{Position: BottomRight, FontSize: 7})
	out, err := stampBytes(t, s, testdocs.PDF(3, "quarterly report", testdocs.A4), st)
	if err != nil {
		t.Fatal(err)
	}
	want := "山田 太郎 | 2026/04/01 12:34 JST | Job 42 | Code K7QM 2XPD 9FJC"
	if got := s.Text(st); got != want {
		t.Fatalf("Text = %q, want %q", got, want)
	}
	pages := strings.Split(pdftotext(t, out), "\f")
	for i, p := range pages[:3] {
		if !strings.Contains(p, want) || !strings.Contains(p, "quarterly report") {
			t.Errorf("page %d reads %q; want the stamp %q and the document's text", i+1, p, want)
		}
	}
}

// TestPDFTextPrintable: characters pdfcpu would read as commands are
// stamped as their full-width forms, and characters the font lacks as
// "?", so that what is recorded is what is printed.
func TestPDFTextPrintable(t *testing.T) {
	s := newTestStamper(t, Options{})
	st := testStamp(Layout{Position: BottomRight, FontSize: 7})
	st.Owner = `100%\nDOMAIN\bob` + "\x07🦊"
	text := s.Text(st)
	if !strings.HasPrefix(text, `100％＼nDOMAIN＼bob? |`) {
		t.Fatalf("Text = %q", text)
	}
	out, err := stampBytes(t, s, testdocs.PDF(1, "doc", testdocs.A4), st)
	if err != nil {
		t.Fatal(err)
	}
	if got := pdftotext(t, out); !strings.Contains(got, text) {
		t.Errorf("printed %q, want %q", got, text)
	}
}

var (
	bboxPage = regexp.MustCompile(`<page width="([0-9.]+)" height="([0-9.]+)">`)
	bboxWord = regexp.MustCompile(`<word xMin="([0-9.]+)" yMin="([0-9.]+)" xMax="([0-9.]+)" yMax="([0-9.]+)">([^<]*)</word>`)
)

// wordBox returns the page size and the box of word on the first page,
// with y from the top, as pdftotext -bbox gives them.
func wordBox(t *testing.T, pdf []byte, word string) (w, h float64, box [4]float64) {
	t.Helper()
	out := pdftotext(t, pdf, "-bbox", "-f", "1", "-l", "1")
	m := bboxPage.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no page in\n%s", out)
	}
	w, _ = strconv.ParseFloat(m[1], 64)
	h, _ = strconv.ParseFloat(m[2], 64)
	for _, m := range bboxWord.FindAllStringSubmatch(out, -1) {
		if m[5] != word {
			continue
		}
		for i := range box {
			box[i], _ = strconv.ParseFloat(m[i+1], 64)
		}
		return w, h, box
	}
	t.Fatalf("no word %q in\n%s", word, out)
	return
}

// TestPDFPositions: the stamp lands in the corner its position names,
// within a few points of the margin, on A4 and US Letter.
func TestPDFPositions(t *testing.T) {
	s := newTestStamper(t, Options{})
	for _, size := range []testdocs.PageSize{testdocs.A4, testdocs.Letter} {
		doc := testdocs.PDF(1, "doc", size)
		for _, tc := range []struct {
			pos         Position
			right, top  bool
			first, last string // the stamp's first and last words
		}{
			{BottomRight, true, false, "山田", "9FJC"},
			{BottomLeft, false, false, "山田", "9FJC"},
			{TopRight, true, true, "山田", "9FJC"},
			{TopLeft, false, true, "山田", "9FJC"},
		} {
			t.Run(size.String()+"/"+string(tc.pos), func(t *testing.T) {
				out, err := stampBytes(t, s, doc, testStamp(Layout{Position: tc.pos, FontSize: 8}))
				if err != nil {
					t.Fatal(err)
				}
				w, h, first := wordBox(t, out, tc.first)
				_, _, last := wordBox(t, out, tc.last)
				const near = 8.0 // the text box's own padding
				var edge float64
				if tc.right {
					edge = w - last[2]
				} else {
					edge = first[0]
				}
				if edge < margin-1 || edge > margin+near {
					t.Errorf("%.1f pt from the side edge, want about %d", edge, margin)
				}
				if tc.top {
					edge = first[1]
				} else {
					edge = h - first[3]
				}
				if edge < margin-1 || edge > margin+near {
					t.Errorf("%.1f pt from the %s edge, want about %d", edge, map[bool]string{true: "top", false: "bottom"}[tc.top], margin)
				}
			})
		}
	}
}

// TestPDFFontSize: a larger font size prints larger text.
func TestPDFFontSize(t *testing.T) {
	s := newTestStamper(t, Options{})
	doc := testdocs.PDF(1, "doc", testdocs.A4)
	var heights []float64
	for _, size := range []int{6, 12} {
		out, err := stampBytes(t, s, doc, testStamp(Layout{Position: BottomLeft, FontSize: size}))
		if err != nil {
			t.Fatal(err)
		}
		_, _, box := wordBox(t, out, "9FJC")
		heights = append(heights, box[3]-box[1])
	}
	if heights[1] < 1.8*heights[0] {
		t.Errorf("text heights %.1f and %.1f for 6 and 12 points", heights[0], heights[1])
	}
}

// TestPDFRefuses: a document that cannot be stamped within the limits is
// refused with the reason, never returned unstamped.
func TestPDFRefuses(t *testing.T) {
	qpdf := testenv.Tool(t, "qpdf")
	dir := t.TempDir()
	plain, locked := filepath.Join(dir, "plain.pdf"), filepath.Join(dir, "locked.pdf")
	if err := os.WriteFile(plain, testdocs.PDF(2, "secret", testdocs.A4), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(qpdf, "--encrypt", "user-pw", "owner-pw", "256", "--", plain, locked).CombinedOutput(); err != nil {
		t.Fatalf("qpdf: %v\n%s", err, out)
	}
	encrypted, err := os.ReadFile(locked)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestStamper(t, Options{MaxSize: 64 << 10})
	big := newTestStamper(t, Options{})
	slow := newTestStamper(t, Options{Budget: Budget{Time: time.Nanosecond}})
	st := testStamp(Layout{Position: BottomRight, FontSize: 7})
	for _, tc := range []struct {
		name string
		s    *Stamper
		doc  []byte
		want error
	}{
		{"too large", s, testdocs.PDF(200, strings.Repeat("long text ", 40), testdocs.A4), ErrTooLarge},
		{"text as PDF", s, []byte("just some text, not a PDF\n"), ErrUnreadable},
		{"truncated", s, testdocs.PDF(2, "doc", testdocs.A4)[:300], ErrUnreadable},
		{"encrypted", s, encrypted, ErrEncrypted},
		{"decompression bomb", big, testdocs.PDFBomb(4, 48<<20), ErrOverBudget},
		{"out of time", slow, testdocs.PDF(2, "doc", testdocs.A4), ErrOverBudget},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := stampBytes(t, tc.s, tc.doc, st)
			if !errors.Is(err, tc.want) || out != nil {
				t.Fatalf("PDF: %d bytes, %v; want %v", len(out), err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "some text") {
				t.Errorf("the error quotes the document: %v", err)
			}
		})
	}
}

// TestNewFont: a font that lacks Latin letters cannot print a code and
// is refused; a missing one is named; the installed font stays private.
func TestNewFont(t *testing.T) {
	const droid = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"
	if _, err := os.Stat(droid); err == nil {
		_, err := New(Options{FontFile: droid, Dir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "cannot print a stamp") {
			t.Errorf("Droid Sans Fallback: %v, want refused for its missing letters", err)
		}
	}
	if _, err := New(Options{FontFile: "/nonexistent/font.ttf", Dir: t.TempDir()}); err == nil ||
		!strings.Contains(err.Error(), "/nonexistent/font.ttf") {
		t.Errorf("missing font: %v", err)
	}
	// The font goes into the private folder given, and pdfcpu reads
	// user fonts from there, not from a shared one.
	dir := filepath.Join(t.TempDir(), "fonts")
	newTestStamper(t, Options{Dir: dir})
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("font folder: %v, %v; want mode 0700", fi.Mode(), err)
	}
	if font.UserFontDir != dir {
		t.Errorf("pdfcpu's font folder is %q, want %q", font.UserFontDir, dir)
	}
}

// FuzzPDF: stamping any document ends, within the budget, in a stamped
// PDF or an error of this package; never a panic or a hang.
func FuzzPDF(f *testing.F) {
	f.Add(testdocs.PDF(1, "doc", testdocs.A4))
	f.Add(testdocs.PDF(2, "doc", testdocs.Letter))
	f.Add(testdocs.PDFBomb(2, 1<<20))
	f.Add([]byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"))
	s := newTestStamper(f, Options{MaxSize: 4 << 20, Budget: Budget{DecodedBytes: 4 << 20, Objects: 10_000, Time: 2 * time.Second}})
	st := testStamp(Layout{Position: TopLeft, FontSize: 7})
	f.Fuzz(func(t *testing.T, doc []byte) {
		out, err := s.PDF(context.Background(), bytes.NewReader(doc), int64(len(doc)), st)
		switch {
		case err == nil && !bytes.HasPrefix(out, []byte("%PDF-")):
			t.Fatalf("stamped output is not a PDF: %.40q", out)
		case err != nil && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrOverBudget) &&
			!errors.Is(err, ErrEncrypted) && !errors.Is(err, ErrUnreadable):
			t.Fatalf("error outside the package's: %v", err)
		}
	})
}

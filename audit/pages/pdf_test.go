package pages

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// buildPDF assembles a PDF whose object n is objects[n-1], with a correct
// cross-reference table; object 1 is the catalog.
func buildPDF(objects ...string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objects)+1)
	for i, o := range objects {
		offsets[i+1] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	writeXRef(&b, offsets)
	return b.Bytes()
}

func writeXRef(b *bytes.Buffer, offsets []int) {
	xref := b.Len()
	fmt.Fprintf(b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets))
	for _, off := range offsets[1:] {
		fmt.Fprintf(b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets), xref)
}

// pageTreePDF returns a PDF whose root page tree node (object 2) has the
// given /Kids and /Count, followed by the given extra objects (3 and on).
func pageTreePDF(kids string, count int, extra ...string) []byte {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d /MediaBox [0 0 595 842] >>", kids, count),
	}
	return buildPDF(append(objs, extra...)...)
}

// chainPDF returns a page tree that is a chain of depth intermediate nodes
// above one page.
func chainPDF(depth int) []byte {
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>"}
	for i := range depth {
		objs = append(objs, fmt.Sprintf("<< /Type /Pages /Kids [%d 0 R] /Count 1 >>", i+3))
	}
	objs = append(objs, "<< /Type /Page /Parent 2 0 R >>")
	return buildPDF(objs...)
}

func replaceSameLength(t *testing.T, doc []byte, old, new string) []byte {
	t.Helper()
	if len(old) != len(new) || !bytes.Contains(doc, []byte(old)) {
		t.Fatalf("cannot replace %q with %q", old, new)
	}
	return bytes.Replace(doc, []byte(old), []byte(new), 1)
}

// pdfCounters are the two ways of counting a PDF: the tables of the tests
// below hold for both.
var pdfCounters = []struct {
	name  string
	count func(c Counter, doc []byte) (Result, error)
}{
	{"Count", func(c Counter, doc []byte) (Result, error) {
		return c.Count(context.Background(), FormatPDF, bytes.NewReader(doc))
	}},
	{"Stream", func(c Counter, doc []byte) (Result, error) {
		return streamCount(c, FormatPDF, doc, randomSplit(uint64(len(doc)), 64))
	}},
}

func TestCountPDFPageTree(t *testing.T) {
	three := fixture(t, "docs/pdf-3pages.pdf")
	page := "<< /Type /Page /Parent 2 0 R >>"
	tests := []struct {
		name      string
		doc       []byte
		wantPages int
		wantWhy   string // the reason when the count is unknown
	}{
		{"a false /Count does not hide pages", replaceSameLength(t, three, "/Count 3", "/Count 1"), 3, ""},
		{"a false /Count does not add pages", replaceSameLength(t, three, "/Count 3", "/Count 9"), 3, ""},
		{"nested nodes", pageTreePDF("3 0 R 4 0 R", 3,
			"<< /Type /Pages /Kids [5 0 R 6 0 R] /Count 2 >>", page,
			page, page), 3, ""},
		{"page without /Type", pageTreePDF("3 0 R", 1, "<< /Parent 2 0 R >>"), 1, ""},
		{"empty intermediate node", pageTreePDF("3 0 R 4 0 R", 1, "<< /Type /Pages /Count 0 >>", page), 1, ""},
		{"no pages: unknown, as readers print one page or none", pageTreePDF("", 0), 0, "holds no page"},
		{"a depth of 60", chainPDF(60), 1, ""},
		{"cycle", replaceSameLength(t, three, "7 0 R 9 0 R]", "2 0 R 9 0 R]"), 0, "cycle"},
		{"shared page", replaceSameLength(t, three, "7 0 R 9 0 R]", "5 0 R 9 0 R]"), 0, "shared"},
		{"too deep", chainPDF(80), 0, "too deep"},
		{"no page tree", replaceSameLength(t, three, "/Pages 2 0 R", "/Pagez 2 0 R"), 0, "no page tree"},
		{"kids not an array", pageTreePDF("", 0, "<< /Type /Page >>"), 0, ""},
		{"kid is not a dictionary", pageTreePDF("3 0 R", 1, "42"), 0, "not a dictionary"},
	}
	// Built by hand: /Kids is a name, so pageTreePDF cannot make it.
	tests[11].doc = buildPDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids /Oops /Count 1 >>")
	tests[11].wantWhy = "invalid /Kids"
	for _, tt := range tests {
		for _, c := range pdfCounters {
			t.Run(c.name+"/"+tt.name, func(t *testing.T) {
				got, err := c.count(Counter{}, tt.doc)
				if err != nil {
					t.Fatal(err)
				}
				if tt.wantWhy == "" {
					if !got.Known || got.Pages != tt.wantPages {
						t.Errorf("%s = %+v, want %d pages", c.name, got, tt.wantPages)
					}
					return
				}
				if got.Known || !strings.Contains(got.Reason, tt.wantWhy) {
					t.Errorf("%s = %+v, want unknown because of %q", c.name, got, tt.wantWhy)
				}
			})
		}
	}
}

func TestCountPDFMalformed(t *testing.T) {
	three := fixture(t, "docs/pdf-3pages.pdf")
	secret := "topsecret-content"
	tests := []struct {
		name string
		doc  []byte
	}{
		{"empty", nil},
		{"header only", []byte("%PDF-1.7\n")},
		{"garbage", bytes.Repeat([]byte("%PDF-garbage \x00\xff"), 100)},
		{"first half", three[:len(three)/2]},
		{"without the trailer", three[:bytes.LastIndex(three, []byte("trailer"))]},
		{"last byte cut", three[:len(three)-1]},
		{"startxref points nowhere", replaceSameLength(t, three, "startxref\n1", "startxref\n9")},
		{"xref offsets shifted", append([]byte("%PDF-1.4\n% shifted by this line\n"), three[9:]...)},
		{"secret in a broken object", []byte("%PDF-1.4\n1 0 obj << /Title (" + secret + ") /Pages <<<< >> endobj\nxref\n0 2\n0000000000 65535 f \n0000000009 00000 n \ntrailer << /Root 1 0 R /Size 2 >>\nstartxref\n60\n%%EOF\n")},
		{"secret as the root", buildPDF("(" + secret + ")")},
		{"secret in a name", buildPDF("<< /Type /Catalog /Pages /" + secret + " >>")},
		{"huge claimed stream length", buildPDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Length 99999999999 >>\nstream\nabc\nendstream")},
		{"negative object numbers", []byte("%PDF-1.4\nxref\n0 1\n0000000000 65535 f \ntrailer << /Root -1 0 R /Size -5 /Prev -3 >>\nstartxref\n9\n%%EOF\n")},
	}
	for _, tt := range tests {
		for _, c := range pdfCounters {
			t.Run(c.name+"/"+tt.name, func(t *testing.T) {
				got, err := c.count(Counter{}, tt.doc)
				if err != nil {
					t.Fatalf("%s = %v; a malformed document is not an error", c.name, err)
				}
				switch {
				case got.Known && got.Pages != 3:
					t.Errorf("%s = %+v; a repaired document must count its 3 pages or be unknown", c.name, got)
				case !got.Known && got.Reason == "":
					t.Errorf("%s = %+v, unknown without a reason", c.name, got)
				case strings.Contains(got.Reason, secret):
					t.Errorf("the reason %q quotes the document", got.Reason)
				}
			})
		}
	}
}

func TestCountPDFSizeLimit(t *testing.T) {
	doc := fixture(t, "docs/pdf-1page.pdf")
	tests := []struct {
		name      string
		max       int64
		wantKnown bool
	}{
		{"default", 0, true},
		{"just enough", int64(len(doc)), true},
		{"one byte short", int64(len(doc)) - 1, false},
		{"no limit", -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Counter{MaxPDFSize: tt.max}.Count(context.Background(), FormatPDF, bytes.NewReader(doc))
			if err != nil {
				t.Fatal(err)
			}
			if got.Known != tt.wantKnown || (!got.Known && !strings.Contains(got.Reason, "limit")) {
				t.Errorf("Count = %+v, want known=%v", got, tt.wantKnown)
			}
		})
	}
}

// farEndPDF makes pdfcpu's reader work hard: groups of small objects share
// one "endobj" far behind them, so that pdfcpu buffers (and keeps) that
// distance for every object. Without the read budget, 300 objects and
// 4 MiB of filler cost pdfcpu 2.7 GB of heap.
func farEndPDF(groups, perGroup, filler int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := []int{0, b.Len()}
	b.WriteString("1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n")
	offsets = append(offsets, b.Len())
	b.WriteString("2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n")
	for range groups {
		for range perGroup {
			n := len(offsets)
			offsets = append(offsets, b.Len())
			fmt.Fprintf(&b, "%d 0 obj << /A /B%d >>\n", n, n)
		}
		b.Write(bytes.Repeat([]byte("x"), filler))
		b.WriteString("\nendobj\n")
	}
	writeXRef(&b, offsets)
	return b.Bytes()
}

func TestCountPDFReadBudget(t *testing.T) {
	tests := []struct {
		name string
		doc  []byte
	}{
		{"one far end", farEndPDF(1, 300, 4<<20)},
		{"many groups", farEndPDF(1000, 100, 5000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			got, err := Count(context.Background(), FormatPDF, bytes.NewReader(tt.doc))
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if got.Known || got.Reason != pdfBudgetExceeded {
				t.Errorf("Count = %+v, want unknown: %s", got, pdfBudgetExceeded)
			}
			// Measured: about 120 MB for either document (2.7 GB live
			// heap for the first without the budget).
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<30 {
				t.Errorf("counting allocated %d MB", alloc>>20)
			}
		})
	}
}

func TestCountPDFEncrypted(t *testing.T) {
	doc := fixture(t, "docs/pdf-3pages.pdf")
	tests := []struct {
		name      string
		userPW    string
		wantKnown bool
	}{
		// Only the owner password set: anyone may open and print it.
		{"owner password only", "", true},
		{"user password", "user", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := pdfConfig(DefaultBudget)
			conf.Cmd = model.ENCRYPT
			conf.UserPW, conf.OwnerPW = tt.userPW, "owner"
			conf.EncryptUsingAES, conf.EncryptKeyLength = true, 256
			conf.Permissions = model.PermissionsPrint
			var enc bytes.Buffer
			if err := api.Encrypt(bytes.NewReader(doc), &enc, conf); err != nil {
				t.Fatalf("pdfcpu encrypt: %v", err)
			}
			got, err := Count(context.Background(), FormatPDF, bytes.NewReader(enc.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if got.Known != tt.wantKnown || (got.Known && got.Pages != 3) || (!got.Known && !strings.Contains(got.Reason, "encrypted")) {
				t.Errorf("Count = %+v, want known=%v", got, tt.wantKnown)
			}
		})
	}
}

func TestCountPDFLeavesHomeAlone(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", home)
	if _, err := Count(context.Background(), FormatPDF, bytes.NewReader(fixture(t, "docs/pdf-3pages.pdf"))); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(home)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("counting created %s in the home folder", e.Name())
	}
}

// panickyReader panics, standing in for a bug deep in pdfcpu.
type panickyReader struct{ io.ReadSeeker }

func (panickyReader) Read([]byte) (int, error) { panic("parser bug") }

func TestCountPDFRecoversFromPanics(t *testing.T) {
	got, err := Count(context.Background(), FormatPDF, panickyReader{bytes.NewReader(fixture(t, "docs/pdf-1page.pdf"))})
	if err != nil || got.Known || got.Reason != errPDFPanic.Error() {
		t.Errorf("Count = %+v, %v; want unknown: %v", got, err, errPDFPanic)
	}
}

package pages

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/printgate/printgate/internal/testdocs"
)

// corpusPDF is one document of the differential test.
type corpusPDF struct {
	name string
	doc  []byte
}

// pdfCorpus returns every PDF the tests can find: the testdocs fixtures,
// the PDF files of this repository, the documents of this package's
// tests, each rewritten by pdfcpu with object and cross-reference streams
// and encrypted, and (without -short) the real-world PDFs that pdfcpu's
// module ships, some 500 of them.
func pdfCorpus(t *testing.T) []corpusPDF {
	t.Helper()
	var corpus []corpusPDF
	add := func(name string, doc []byte) { corpus = append(corpus, corpusPDF{name, doc}) }
	for _, f := range testdocs.Files() {
		if strings.HasSuffix(f.Path, ".pdf") {
			add("testdocs/"+f.Path, f.Data)
		}
	}
	root := filepath.Join("..", "..")
	addFiles(t, root, add)

	many := 2000
	if testing.Short() {
		many = 200 // pdfcpu takes seconds to rewrite 2000 pages
	}
	generated := []corpusPDF{
		{fmt.Sprintf("testdocs %d pages", many), testdocs.PDF(many, "differential", testdocs.Letter)},
		{"chain of 60", chainPDF(60)},
		{"nested nodes", pageTreePDF("3 0 R 4 0 R", 3, "<< /Type /Pages /Kids [5 0 R 6 0 R] /Count 2 >>",
			"<< /Type /Page /Parent 2 0 R >>", "<< /Type /Page >>", "<< /Type /Page >>")},
		{"inline pages", pageTreePDF(strings.Repeat("<< /Type /Page >> ", 7), 7)},
		{"big streams", bigStreamPDF(3, 1<<20)},
		{"far ends", farEndPDF(3, 10, 100)},
		{"small bomb", testdocs.PDFBomb(3, 100)},
		{"bomb", testdocs.PDFBomb(2, 33<<20)}, // over the 32 MiB budget
		{"image page", imagePDF(64 << 10)},
	}
	for _, g := range generated {
		add(g.name, g.doc)
	}
	for _, c := range streamPDFCases() {
		add(c.name, c.doc)
	}
	for _, g := range append(generated[:5:5], corpusPDF{"testdocs 3 pages", testdocs.PDF(3, "x", testdocs.A4)}) {
		for _, v := range pdfcpuVariants(t, g.doc) {
			add(g.name+", "+v.name, v.doc)
		}
	}
	switch dir := pdfcpuModuleDir(); {
	case testing.Short():
	case dir == "":
		t.Log("pdfcpu's module folder not found: its PDFs are left out")
	default:
		addFiles(t, filepath.Join(dir, "pkg", "testdata"), add)
		addFiles(t, filepath.Join(dir, "pkg", "samples"), add)
	}
	return corpus
}

// addFiles adds the PDF files under root, leaving out hidden folders.
func addFiles(t *testing.T, root string, add func(string, []byte)) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.EqualFold(filepath.Ext(path), ".pdf") {
			return nil
		}
		doc, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		add(path, doc)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// pdfcpuModuleDir finds pdfcpu's module folder from where its code was
// compiled (empty when built with -trimpath).
func pdfcpuModuleDir() string {
	fn := runtime.FuncForPC(reflect.ValueOf(api.Optimize).Pointer())
	if fn == nil {
		return ""
	}
	file, _ := fn.FileLine(fn.Entry())
	dir := filepath.Dir(filepath.Dir(filepath.Dir(file))) // from pkg/api/x.go
	if _, err := os.Stat(filepath.Join(dir, "pkg", "testdata")); err != nil {
		return ""
	}
	return dir
}

// pdfcpuVariants rewrites doc with pdfcpu: with object streams and a
// cross-reference stream, and encrypted in three ways. It returns none for
// a document that pdfcpu finds invalid.
func pdfcpuVariants(t *testing.T, doc []byte) []corpusPDF {
	t.Helper()
	var out []corpusPDF
	optimize := pdfConfig(DefaultBudget)
	optimize.Cmd = model.OPTIMIZE
	optimize.WriteObjectStream, optimize.WriteXRefStream = true, true
	var b bytes.Buffer
	if err := api.Optimize(bytes.NewReader(doc), &b, optimize); err != nil {
		t.Logf("pdfcpu does not rewrite a document: %v", err)
		return nil // it validates: not every test document passes
	}
	out = append(out, corpusPDF{"object streams", b.Bytes()})
	for _, e := range []struct {
		name    string
		userPW  string
		aes     bool
		key     int
		streams bool
	}{
		{"owner password, AES-256", "", true, 256, false},
		{"owner password, RC4-128", "", false, 128, false},
		{"user password, AES-128", "user", true, 128, false},
		{"owner password, AES-128, object streams", "", true, 128, true},
	} {
		conf := pdfConfig(DefaultBudget)
		conf.Cmd = model.ENCRYPT
		conf.UserPW, conf.OwnerPW = e.userPW, "owner"
		conf.EncryptUsingAES, conf.EncryptKeyLength = e.aes, e.key
		conf.Permissions = model.PermissionsPrint
		conf.WriteObjectStream, conf.WriteXRefStream = e.streams, e.streams
		src := doc
		if e.streams {
			src = b.Bytes() // pdfcpu keeps them when the source has them
		}
		var enc bytes.Buffer
		if err := api.Encrypt(bytes.NewReader(src), &enc, conf); err != nil {
			t.Fatalf("pdfcpu encrypt: %v", err)
		}
		out = append(out, corpusPDF{e.name, enc.Bytes()})
	}
	return out
}

// streamCannot reports whether a Stream gave up on a PDF for a reason that
// Count, which follows the cross-reference table, may not have: it could
// not check its count against the table, or the page tree is in an object
// stream it cannot read (encrypted: it cannot decrypt in one pass; or
// corrupt).
func streamCannot(r Result) bool {
	return !r.Known && r.Unverified
}

// TestStreamAgreesWithCount counts every PDF of the corpus both ways, the
// Stream in pieces of random sizes: where Count knows the pages, Stream
// must know the same number, or say why it cannot (streamCannot).
func TestStreamAgreesWithCount(t *testing.T) {
	corpus := pdfCorpus(t)
	var known, unreadable, streamOnly, neither int
	for i, c := range corpus {
		want, err := Count(context.Background(), FormatPDF, bytes.NewReader(c.doc))
		if err != nil {
			t.Fatal(err)
		}
		got, err := streamCount(Counter{}, FormatPDF, c.doc, randomSplit(uint64(i), 3*pdfReadBuffer))
		if err != nil {
			t.Fatalf("%s: Stream: %v", c.name, err)
		}
		switch {
		case want.Known && streamCannot(got):
			unreadable++
			t.Logf("%s: Count counts %d pages, Stream cannot: %s", c.name, want.Pages, got.Reason)
		case want.Known && got != want:
			t.Errorf("%s: Stream = %+v, Count = %+v", c.name, got, want)
		case want.Known:
			known++
		case got.Known:
			streamOnly++
			t.Logf("%s: Stream counts %d pages, Count cannot: %s", c.name, got.Pages, want.Reason)
		default:
			neither++
			t.Logf("%s: unknown; Stream: %s; Count: %s", c.name, got.Reason, want.Reason)
		}
	}
	t.Logf("%d PDFs: %d counted alike, %d by Count alone (streamCannot), %d by Stream alone, %d by neither",
		len(corpus), known, unreadable, streamOnly, neither)
	if known < len(corpus)/2 {
		t.Errorf("only %d of %d documents counted alike: the corpus is broken", known, len(corpus))
	}
}

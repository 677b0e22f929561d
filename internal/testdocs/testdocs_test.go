package testdocs

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"github.com/printgate/printgate/internal/testenv"
)

func TestMain(m *testing.M) {
	// pdfcpu would otherwise create a configuration folder in $HOME.
	api.DisableConfigDir()
	os.Exit(m.Run())
}

// TestCommittedFilesAreCurrent keeps the fixtures in testdata from drifting
// away from the generators.
func TestCommittedFilesAreCurrent(t *testing.T) {
	for _, f := range Files() {
		t.Run(f.Path, func(t *testing.T) {
			got, err := os.ReadFile(filepath.Join("..", "..", "testdata", filepath.FromSlash(f.Path)))
			if err != nil {
				t.Fatalf("%v (run: go generate ./internal/testdocs)", err)
			}
			if !bytes.Equal(got, f.Data) {
				t.Errorf("testdata/%s differs from the generator's output (run: go generate ./internal/testdocs)", f.Path)
			}
		})
	}
}

func TestFilesAreDeterministic(t *testing.T) {
	a, b := Files(), Files()
	for i := range a {
		if !bytes.Equal(a[i].Data, b[i].Data) {
			t.Errorf("%s: two runs made different bytes", a[i].Path)
		}
	}
}

func TestIpptoolNamesAreCovered(t *testing.T) {
	// The stock ipptool tests that name a document (ipp-1.1.test, which
	// ipp-2.x.test include) and the files people pass with -f.
	want := []string{
		"document-a4.pdf", "document-letter.pdf", "onepage-a4.pdf", "onepage-letter.pdf", "testfile.pdf",
		"document-a4.ps", "document-letter.ps", "onepage-a4.ps", "onepage-letter.ps", "testfile.ps",
		"color.jpg", "gray.jpg", "testfile.jpg",
	}
	have := map[string]bool{}
	for _, f := range Files() {
		have[f.Path] = true
	}
	for _, name := range want {
		if !have["ipptool/"+name] {
			t.Errorf("no fixture ipptool/%s", name)
		}
	}
}

func strictPDFConfig() *model.Configuration {
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationStrict
	return conf
}

func TestPDFPassesPdfcpuStrictValidation(t *testing.T) {
	for _, f := range Files() {
		if !strings.HasSuffix(f.Path, ".pdf") {
			continue
		}
		t.Run(f.Path, func(t *testing.T) {
			ctx, err := api.ReadAndValidate(bytes.NewReader(f.Data), strictPDFConfig())
			if err != nil {
				t.Fatalf("pdfcpu: %v", err)
			}
			if ctx.PageCount != f.Pages {
				t.Errorf("pdfcpu counts %d pages, want %d", ctx.PageCount, f.Pages)
			}
		})
	}
}

func TestPDFOpensInPoppler(t *testing.T) {
	pdfinfo := testenv.Tool(t, "pdfinfo")
	pdftotext := testenv.Tool(t, "pdftotext")
	tests := []struct {
		name  string
		pages int
		text  string
		size  PageSize
		want  string // in pdfinfo's "Page size:" line
	}{
		{"one A4 page", 1, "hello", A4, "595 x 842 pts (A4)"},
		{"three Letter pages", 3, "hello letter", Letter, "612 x 792 pts (letter)"},
		{"escaped text", 2, `a (paren) \ back, caf` + "\u00e9 \u4e16", A4, "595 x 842 pts (A4)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "doc.pdf")
			if err := os.WriteFile(path, PDF(tt.pages, tt.text, tt.size), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(pdfinfo, path).CombinedOutput()
			if err != nil {
				t.Fatalf("pdfinfo: %v\n%s", err, out)
			}
			info := string(out)
			if !strings.Contains(info, fmt.Sprintf("Pages:           %d\n", tt.pages)) {
				t.Errorf("pdfinfo does not report %d pages:\n%s", tt.pages, info)
			}
			if !strings.Contains(info, tt.want) {
				t.Errorf("pdfinfo does not report %q:\n%s", tt.want, info)
			}
			// Poppler warns on stderr about xref or syntax trouble it repairs.
			if strings.Contains(info, "Syntax Error") || strings.Contains(info, "Syntax Warning") {
				t.Errorf("pdfinfo complains:\n%s", info)
			}
			wantText := strings.ReplaceAll(tt.text, "\u4e16", "?")
			for page := 1; page <= tt.pages; page++ {
				out, err := exec.Command(pdftotext, "-f", fmt.Sprint(page), "-l", fmt.Sprint(page), path, "-").Output()
				if err != nil {
					t.Fatalf("pdftotext: %v", err)
				}
				for _, want := range []string{wantText, pageLabel(page, tt.pages)} {
					if !strings.Contains(string(out), want) {
						t.Errorf("page %d text %q lacks %q", page, out, want)
					}
				}
			}
		})
	}
}

func TestPDFTextIsPlain(t *testing.T) {
	doc := PDF(2, "findable secret", A4)
	if got := bytes.Count(doc, []byte("(findable secret) Tj")); got != 2 {
		t.Errorf("the text appears %d times in content streams, want 2", got)
	}
}

func TestPostScriptIsDSC(t *testing.T) {
	doc := DSC(3, "hello", Letter)
	if !bytes.HasPrefix(doc, []byte("%!PS-Adobe-3.0\n")) {
		t.Errorf("no PS-Adobe-3.0 header: %q", doc[:20])
	}
	sc := bufio.NewScanner(bytes.NewReader(doc))
	var pages, markers int
	for sc.Scan() {
		line := sc.Text()
		if n, err := fmt.Sscanf(line, "%%%%Pages: %d", &pages); n == 1 && err == nil {
			continue
		}
		if strings.HasPrefix(line, "%%Page: ") {
			markers++
		}
	}
	if pages != 3 || markers != 3 {
		t.Errorf("%%%%Pages: %d and %d %%%%Page: markers, want 3 and 3", pages, markers)
	}
}

func TestPostScriptRendersInGhostscript(t *testing.T) {
	gs := testenv.Tool(t, "gs")
	path := filepath.Join(t.TempDir(), "doc.ps")
	if err := os.WriteFile(path, DSC(2, "ghost text", Letter), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=txtwrite", "-sOutputFile=-", path).CombinedOutput()
	if err != nil {
		t.Fatalf("gs: %v\n%s", err, out)
	}
	for _, want := range []string{"ghost text", "Page 1 of 2", "Page 2 of 2"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("ghostscript text %q lacks %q", out, want)
		}
	}
}

func TestJPEG(t *testing.T) {
	tests := []struct {
		name string
		doc  []byte
		gray bool
	}{
		{"colour", JPEG(30, 20), false},
		{"gray", GrayJPEG(30, 20), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := jpeg.Decode(bytes.NewReader(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if got := img.Bounds().Size(); got != image.Pt(30, 20) {
				t.Errorf("size %v, want 30x20", got)
			}
			if _, isGray := img.(*image.Gray); isGray != tt.gray {
				t.Errorf("decoded as %T, want gray=%v", img, tt.gray)
			}
		})
	}
}

// TestRasterDecodes decodes the PWG and Apple raster streams the way CUPS
// does (cups/raster-stream.c) and compares every pixel with the source.
func TestRasterDecodes(t *testing.T) {
	tests := []struct {
		name       string
		doc        []byte
		magic      string
		headerSize int
		fileHeader int
	}{
		{"pwg", PWGRaster(3), "RaS2", pwgHeaderSize, 4},
		{"urf", URF(3), "UNIRAST\x00", 32, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !bytes.HasPrefix(tt.doc, []byte(tt.magic)) {
				t.Fatalf("no %q sync word", tt.magic)
			}
			r := bytes.NewReader(tt.doc[tt.fileHeader:])
			for page := 1; ; page++ {
				hdr := make([]byte, tt.headerSize)
				if _, err := io.ReadFull(r, hdr); err == io.EOF {
					if page != 4 {
						t.Errorf("%d pages, want 3", page-1)
					}
					return
				} else if err != nil {
					t.Fatalf("page %d header: %v", page, err)
				}
				w, h := rasterWidth, rasterHeight
				if tt.name == "pwg" {
					be := binary.BigEndian
					if got := be.Uint32(hdr[pwgBytesPerLine:]); got != uint32(w) {
						t.Fatalf("bytes per line %d, want %d", got, w)
					}
				}
				img, err := decodeRaster(r, w, h)
				if err != nil {
					t.Fatalf("page %d: %v", page, err)
				}
				for y := range h {
					for x := range w {
						if got, want := img[y*w+x], pagePixel(x, y, page); got != want {
							t.Fatalf("page %d pixel %d,%d = %#x, want %#x", page, x, y, got, want)
						}
					}
				}
			}
		})
	}
}

func decodeRaster(r io.ByteReader, w, h int) ([]byte, error) {
	img := make([]byte, 0, w*h)
	for len(img) < w*h {
		rep, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		line := make([]byte, 0, w)
		for len(line) < w {
			c, err := r.ReadByte()
			if err != nil {
				return nil, err
			}
			switch {
			case c == 128:
				return nil, errors.New("unexpected clear-to-end-of-line")
			case c > 128:
				for range 257 - int(c) {
					p, err := r.ReadByte()
					if err != nil {
						return nil, err
					}
					line = append(line, p)
				}
			default:
				p, err := r.ReadByte()
				if err != nil {
					return nil, err
				}
				line = append(line, bytes.Repeat([]byte{p}, int(c)+1)...)
			}
		}
		if len(line) != w {
			return nil, fmt.Errorf("line of %d pixels, want %d", len(line), w)
		}
		for range int(rep) + 1 {
			img = append(img, line...)
		}
	}
	if len(img) != w*h {
		return nil, fmt.Errorf("%d pixels, want %d", len(img), w*h)
	}
	return img, nil
}

// TestRasterOpensInCUPS has CUPS's own raster reader (rastertopdf, from
// cups-filters) convert the streams and counts the pages of the result.
func TestRasterOpensInCUPS(t *testing.T) {
	const rastertopdf = "/usr/lib/cups/filter/rastertopdf"
	_, err := os.Stat(rastertopdf)
	testenv.Need(t, "CUPS filter rastertopdf", err)
	pdfinfo := testenv.Tool(t, "pdfinfo")
	tests := []struct {
		name, contentType string
		doc               []byte
	}{
		{"pwg", "image/pwg-raster", PWGRaster(2)},
		{"urf", "image/urf", URF(2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out.pdf")
			if err := os.WriteFile(in, tt.doc, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(rastertopdf, "1", "user", "title", "1", "", in)
			cmd.Env = append(os.Environ(), "CONTENT_TYPE="+tt.contentType)
			pdf, err := cmd.Output()
			if err != nil {
				t.Fatalf("rastertopdf: %v", err)
			}
			if err := os.WriteFile(out, pdf, 0o600); err != nil {
				t.Fatal(err)
			}
			info, err := exec.Command(pdfinfo, out).CombinedOutput()
			if err != nil {
				t.Fatalf("pdfinfo: %v\n%s", err, info)
			}
			if !strings.Contains(string(info), "Pages:           2\n") {
				t.Errorf("rastertopdf made a PDF of other than 2 pages:\n%s", info)
			}
		})
	}
}

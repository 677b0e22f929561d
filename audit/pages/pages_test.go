package pages

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixture reads a committed sample document (made by internal/testdocs).
func fixture(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var fixtures = []struct {
	path   string
	format string
	pages  int
}{
	{"docs/pdf-1page.pdf", FormatPDF, 1},
	{"docs/pdf-3pages.pdf", FormatPDF, 3},
	{"docs/pdf-120pages.pdf", FormatPDF, 120},
	{"docs/raster-2pages.pwg", FormatPWGRaster, 2},
	{"docs/urf-2pages.urf", FormatURF, 2},
	{"docs/photo.jpg", FormatJPEG, 1},
	{"docs/dsc-3pages.ps", FormatPostScript, 3},
	{"ipptool/document-a4.pdf", FormatPDF, 2},
	{"ipptool/document-letter.ps", FormatPostScript, 2},
	{"ipptool/onepage-letter.pdf", FormatPDF, 1},
	{"ipptool/gray.jpg", FormatJPEG, 1},
}

func TestCountFixtures(t *testing.T) {
	for _, f := range fixtures {
		data := fixture(t, f.path)
		for _, declared := range []string{f.format, FormatOctetStream, "", strings.ToUpper(f.format) + "; x=y"} {
			t.Run(f.path+" as "+declared, func(t *testing.T) {
				got, err := Count(context.Background(), declared, bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				want := Result{Pages: f.pages, Known: true, Format: f.format}
				if got != want {
					t.Errorf("Count = %+v, want %+v", got, want)
				}
			})
		}
	}
}

func TestCountReadsFromStart(t *testing.T) {
	r := bytes.NewReader(fixture(t, "docs/dsc-3pages.ps"))
	if _, err := r.Seek(100, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, err := Count(context.Background(), FormatPostScript, r)
	if err != nil || got.Pages != 3 {
		t.Errorf("Count after a seek = %+v, %v; want 3 pages", got, err)
	}
}

func TestCountUnknownFormats(t *testing.T) {
	tests := []struct {
		name, format, doc string
		wantFormat        string
		wantReason        string
	}{
		{"plain text", "text/plain", "hello", "text/plain", `format "text/plain" is not countable`},
		{"PCL", "application/vnd.hp-pcl", "\x1bE", "application/vnd.hp-pcl", "not countable"},
		{"long format name", strings.Repeat("x", 500), "", strings.Repeat("x", 500), `"` + strings.Repeat("x", 64) + `..."`},
		{"undetectable", FormatOctetStream, "just some text", "", "unrecognized document format"},
		{"empty and undetectable", "", "", "", "unrecognized document format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Count(context.Background(), tt.format, strings.NewReader(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if got.Known || got.Pages != 0 || got.Format != tt.wantFormat || !strings.Contains(got.Reason, tt.wantReason) {
				t.Errorf("Count = %+v, want unknown %q with reason containing %q", got, tt.wantFormat, tt.wantReason)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		want   string
	}{
		{"pdf", "%PDF-1.7\n", FormatPDF},
		{"pwg", "RaS2PwgRaster", FormatPWGRaster},
		{"urf", "UNIRAST\x00\x00\x00\x00\x01", FormatURF},
		{"jpeg", "\xff\xd8\xff\xe0", FormatJPEG},
		{"png", "\x89PNG\r\n\x1a\n", FormatPNG},
		{"postscript", "%!PS-Adobe-3.0", FormatPostScript},
		{"postscript after ctrl-d", "\x04%!PS", FormatPostScript},
		{"cups raster v1 is not pwg", "RaSt", ""},
		{"urf without nul", "UNIRAST!", ""},
		{"short", "%P", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Detect([]byte(tt.prefix)); got != tt.want {
				t.Errorf("Detect(%q) = %q, want %q", tt.prefix, got, tt.want)
			}
		})
	}
}

func TestCountImages(t *testing.T) {
	jpeg := fixture(t, "docs/photo.jpg")
	tests := []struct {
		name, format string
		doc          []byte
		wantKnown    bool
	}{
		{"jpeg", FormatJPEG, jpeg, true},
		{"jpeg cut after SOI", FormatJPEG, jpeg[:4], false},
		{"jpeg declared, pdf sent", FormatJPEG, fixture(t, "docs/pdf-1page.pdf"), false},
		{"png header", FormatPNG, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00\x3a\x7e\x9b\x55"), true},
		{"png garbage", FormatPNG, []byte("\x89PNG\r\n\x1a\ngarbage"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Count(context.Background(), tt.format, bytes.NewReader(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if got.Known != tt.wantKnown || (tt.wantKnown && got.Pages != 1) || (!tt.wantKnown && got.Reason == "") {
				t.Errorf("Count = %+v, want known=%v", got, tt.wantKnown)
			}
		})
	}
}

var errBoom = errors.New("boom")

// failingReader fails every Read after the first limit bytes, as a spool
// file on a failing disk would.
type failingReader struct {
	r     *bytes.Reader
	limit int64
}

func (f *failingReader) Read(p []byte) (int, error) {
	pos, _ := f.r.Seek(0, io.SeekCurrent)
	if pos >= f.limit {
		return 0, errBoom
	}
	p = p[:min(int64(len(p)), f.limit-pos)]
	return f.r.Read(p)
}

func (f *failingReader) Seek(offset int64, whence int) (int64, error) {
	return f.r.Seek(offset, whence)
}

type failingSeeker struct{ io.Reader }

func (failingSeeker) Seek(int64, int) (int64, error) { return 0, errBoom }

func TestCountReaderErrorsAreErrors(t *testing.T) {
	for _, f := range fixtures {
		data := fixture(t, f.path)
		for _, limit := range []int64{0, 10, int64(len(data)) / 2, int64(len(data)) - 1} {
			if f.format == FormatJPEG && limit > 10 {
				continue // only the header is read
			}
			t.Run(f.path, func(t *testing.T) {
				r := &failingReader{r: bytes.NewReader(data), limit: limit}
				got, err := Count(context.Background(), f.format, r)
				if !errors.Is(err, errBoom) {
					t.Errorf("Count with a reader failing after %d bytes = %+v, %v; want %v", limit, got, err, errBoom)
				}
			})
		}
	}
	t.Run("seek fails", func(t *testing.T) {
		_, err := Count(context.Background(), FormatPostScript, failingSeeker{strings.NewReader("%!PS")})
		if !errors.Is(err, errBoom) {
			t.Errorf("Count with a failing Seek: %v, want %v", err, errBoom)
		}
	})
}

// cancelingReader cancels the context on its first Read.
type cancelingReader struct {
	*bytes.Reader
	cancel context.CancelFunc
}

func (c cancelingReader) Read(p []byte) (int, error) {
	c.cancel()
	return c.Reader.Read(p)
}

func TestCountStopsWhenContextDone(t *testing.T) {
	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Count(ctx, FormatPDF, bytes.NewReader(fixture(t, "docs/pdf-1page.pdf"))); !errors.Is(err, context.Canceled) {
			t.Errorf("Count = %v, want %v", err, context.Canceled)
		}
	})
	for _, f := range fixtures {
		t.Run("during "+f.path, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := cancelingReader{bytes.NewReader(fixture(t, f.path)), cancel}
			if got, err := Count(ctx, f.format, r); !errors.Is(err, context.Canceled) {
				t.Errorf("Count = %+v, %v; want %v", got, err, context.Canceled)
			}
		})
	}
}

func TestImpressions(t *testing.T) {
	const maxInt = int(^uint(0) >> 1)
	tests := []struct {
		name                        string
		pages, copies               int
		sides                       string
		wantImpressions, wantSheets int
	}{
		{"one page", 1, 1, "one-sided", 1, 1},
		{"one-sided copies", 3, 2, "one-sided", 6, 6},
		{"long edge even", 4, 1, "two-sided-long-edge", 4, 2},
		{"long edge odd", 3, 1, "two-sided-long-edge", 3, 2},
		{"short edge odd copies", 5, 3, "two-sided-short-edge", 15, 9},
		{"unknown sides is one-sided", 3, 1, "three-sided", 3, 3},
		{"empty sides is one-sided", 2, 1, "", 2, 2},
		{"zero copies is one", 2, 0, "one-sided", 2, 2},
		{"negative pages", -4, 2, "one-sided", 0, 0},
		{"zero pages", 0, 5, "two-sided-long-edge", 0, 0},
		{"overflow saturates", maxInt / 2, 3, "one-sided", maxInt, maxInt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imp, sheets := Impressions(tt.pages, tt.copies, tt.sides)
			if imp != tt.wantImpressions || sheets != tt.wantSheets {
				t.Errorf("Impressions(%d, %d, %q) = %d, %d; want %d, %d",
					tt.pages, tt.copies, tt.sides, imp, sheets, tt.wantImpressions, tt.wantSheets)
			}
		})
	}
}

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/printgate/printgate/audit/pages"
	"github.com/printgate/printgate/internal/testenv"
)

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
	}{
		{"4096", 4096},
		{"4096B", 4096},
		{"10KB", 10000},
		{"10kb", 10000},
		{"10K", 10000},
		{"10KiB", 10240},
		{"10 MB", 10_000_000},
		{"10MiB", 10 << 20},
		{"1.5MiB", 3 << 19},
		{"1GB", 1_000_000_000},
		{"2GiB", 2 << 30},
		{"", 0},
		{"MB", 0},
		{"-1KB", 0},
		{"0", 0},
		{"10XB", 0},
		{"2TiB", 0},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSize(tt.in)
			if tt.want == 0 {
				if err == nil {
					t.Errorf("parseSize(%q) = %d, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestWritePDF checks that a generated document has exactly the asked
// size and is a one-page PDF to the page counter printgate itself uses.
func TestWritePDF(t *testing.T) {
	sizes := []int64{0, minPDFSize, minPDFSize + 1, minPDFSize + 2, minPDFSize + imageWidth + 1, 10_000, 10 << 10,
		1 << 20, 10_000_000}
	for _, size := range sizes {
		t.Run(strconv.FormatInt(size, 10), func(t *testing.T) {
			var b bytes.Buffer
			n, err := writePDF(&b, size)
			if err != nil {
				t.Fatalf("writePDF: %v", err)
			}
			if n != int64(b.Len()) || (size > 0 && n != size) {
				t.Fatalf("wrote %d bytes (reported %d), want %d", b.Len(), n, size)
			}
			res, err := pages.Count(context.Background(), pages.FormatPDF, bytes.NewReader(b.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if !res.Known || res.Pages != 1 {
				t.Errorf("page count %+v, want 1 known page", res)
			}
			again := new(bytes.Buffer)
			writePDF(again, size)
			if !bytes.Equal(again.Bytes(), b.Bytes()) {
				t.Error("the same size gave two different documents")
			}
		})
	}
	if _, err := writePDF(new(bytes.Buffer), minPDFSize-1); err == nil {
		t.Error("a PDF below the smallest size was made")
	}
}

// TestWritePDFQPDF has qpdf, an independent parser, check the structure
// (cross-reference offsets, stream lengths) of a generated document.
func TestWritePDFQPDF(t *testing.T) {
	qpdf := testenv.Tool(t, "qpdf")
	path := filepath.Join(t.TempDir(), "doc.pdf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writePDF(f, 123_457); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(qpdf, "--check", path).CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("WARNING")) {
		t.Errorf("qpdf --check: %v\n%s", err, out)
	}
}

// TestSavePDF checks that --save-pdf writes the very document a run with
// --generate-pdf sends, and never replaces an existing file.
func TestSavePDF(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doc.pdf")
	var out, errb bytes.Buffer
	args := []string{"--save-pdf=" + path, "--generate-pdf=20KB"}
	if code := run(context.Background(), args, &out, &errb, func(string) string { return "" }); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if _, err := writePDF(&want, 20_000); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("saved %d bytes, not the %d-byte generated document", len(got), want.Len())
	}
	if code := run(context.Background(), args, &out, &errb, func(string) string { return "" }); code != 1 {
		t.Errorf("second save over the same file: exit %d, want 1", code)
	}
}

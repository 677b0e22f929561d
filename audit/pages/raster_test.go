package pages

import (
	"bytes"
	"context"
	"encoding/binary"
	"runtime"
	"strings"
	"testing"

	"github.com/printgate/printgate/internal/testdocs"
)

// pwgHeader returns a PWG page header with the fields that counting reads.
func pwgHeader(width, height, bitsPerColor, bitsPerPixel, bytesPerLine, colorOrder, numColors uint32) []byte {
	h := make([]byte, pwgHeaderSize)
	copy(h, "PwgRaster")
	be := binary.BigEndian
	be.PutUint32(h[pwgWidth:], width)
	be.PutUint32(h[pwgHeight:], height)
	be.PutUint32(h[pwgBitsPerColor:], bitsPerColor)
	be.PutUint32(h[pwgBitsPerPixel:], bitsPerPixel)
	be.PutUint32(h[pwgBytesPerLine:], bytesPerLine)
	be.PutUint32(h[pwgColorOrder:], colorOrder)
	be.PutUint32(h[pwgNumColors:], numColors)
	return h
}

// gray8 is the header of an 8-bit gray page of width × height pixels.
func gray8(width, height uint32) []byte { return pwgHeader(width, height, 8, 8, width, 0, 1) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestCountPWGRaster(t *testing.T) {
	two := fixture(t, "docs/raster-2pages.pwg")
	sync := []byte("RaS2")
	// A 4×3 gray page: one line record standing for all 3 lines, cleared
	// to white at once.
	clearPage := cat(gray8(4, 3), []byte{2, 0x80})
	tests := []struct {
		name      string
		doc       []byte
		wantPages int
		wantWhy   string // the reason when the count is unknown
	}{
		{"fixture", two, 2, ""},
		{"fifty pages", testdocs.PWGRaster(50), 50, ""},
		{"no pages", sync, 0, ""},
		{"clear to end of line", cat(sync, clearPage, clearPage), 2, ""},
		{"line repeats past the page end are ignored", cat(sync, gray8(4, 3), []byte{255, 0x80}, clearPage), 2, ""},
		{"literal run longer than the line", cat(sync, gray8(4, 1), []byte{0, 0x81, 1, 2, 3, 4}), 1, ""},
		{"repeat run longer than the line", cat(sync, gray8(4, 1), []byte{0, 127, 9}), 1, ""},
		{"16-bit RGB", cat(sync, pwgHeader(3, 1, 16, 48, 18, 0, 3), []byte{0, 2, 1, 2, 3, 4, 5, 6}), 1, ""},
		{"1-bit black", cat(sync, pwgHeader(10, 2, 1, 1, 2, 0, 1), []byte{1, 1, 0xff}), 1, ""},
		{"wrong sync word", cat([]byte("RaS3"), clearPage), 0, "sync word"},
		{"empty", nil, 0, "sync word"},
		{"cut in the second header", two[:len(two)/2+100], 0, "truncated"},
		{"cut in the first page's lines", two[:4+pwgHeaderSize+50], 0, "page 1: truncated page data"},
		{"last byte cut", two[:len(two)-1], 0, "page 2: truncated"},
		{"trailing bytes", cat(two, []byte{0}), 0, "page 3: truncated header"},
		{"huge height, little data", cat(sync, gray8(4, 0xffffff), []byte{255, 0x80}), 0, "truncated"},
		{"zero width", cat(sync, gray8(0, 3), []byte{2, 0x80}), 0, "invalid width"},
		{"zero height", cat(sync, gray8(4, 0), []byte{2, 0x80}), 0, "invalid height"},
		{"height over the CUPS limit", cat(sync, gray8(4, 0x1000000)), 0, "invalid height"},
		{"bytes per line mismatch", cat(sync, pwgHeader(4, 3, 8, 8, 5, 0, 1)), 0, "does not match"},
		{"bytes per line over 16 MiB", cat(sync, pwgHeader(0xffffff, 1, 8, 24, 3*0xffffff, 0, 3)), 0, "invalid bytes per line"},
		{"banded", cat(sync, pwgHeader(4, 3, 8, 8, 4, 1, 1)), 0, "chunky"},
		{"bits per color 3", cat(sync, pwgHeader(4, 3, 3, 3, 2, 0, 1)), 0, "bits per color"},
		{"bits per pixel 0", cat(sync, pwgHeader(4, 3, 8, 0, 0, 0, 1)), 0, "bits per pixel"},
		{"bits per pixel beyond colors", cat(sync, pwgHeader(4, 3, 8, 16, 8, 0, 1)), 0, "bits per pixel"},
		{"bits per pixel over 240", cat(sync, pwgHeader(1, 3, 16, 256, 32, 0, 16)), 0, "bits per pixel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertCount(t, FormatPWGRaster, tt.doc, tt.wantPages, tt.wantWhy)
		})
	}
}

func urfHeader(bitsPerPixel byte, width, height uint32) []byte {
	h := make([]byte, urfHeaderSize)
	h[0] = bitsPerPixel
	binary.BigEndian.PutUint32(h[12:], width)
	binary.BigEndian.PutUint32(h[16:], height)
	binary.BigEndian.PutUint32(h[20:], 300)
	return h
}

func TestCountURF(t *testing.T) {
	two := fixture(t, "docs/urf-2pages.urf")
	fileHeader := func(pages uint32) []byte {
		return binary.BigEndian.AppendUint32([]byte("UNIRAST\x00"), pages)
	}
	page := cat(urfHeader(24, 2, 2), []byte{1, 1, 0xff, 0xff, 0xff})
	tests := []struct {
		name      string
		doc       []byte
		wantPages int
		wantWhy   string
	}{
		{"fixture", two, 2, ""},
		{"thirty pages", testdocs.URF(30), 30, ""},
		{"no pages", fileHeader(0), 0, ""},
		{"a false page count in the header", cat(fileHeader(7), page, page), 2, ""},
		{"clear to end of line", cat(fileHeader(1), urfHeader(8, 5, 5), []byte{4, 0x80}), 1, ""},
		{"wrong magic", cat([]byte("UNIRAST!"), []byte{0, 0, 0, 1}, page), 0, "UNIRAST"},
		{"short file header", []byte("UNIRAST\x00\x00"), 0, "UNIRAST"},
		{"cut in a header", cat(fileHeader(2), page, page[:10]), 0, "page 2: truncated header"},
		{"cut in the lines", two[:len(two)-1], 0, "page 2: truncated page data"},
		{"zero bits per pixel", cat(fileHeader(1), urfHeader(0, 2, 2)), 0, "bits per pixel"},
		{"12 bits per pixel", cat(fileHeader(1), urfHeader(12, 2, 2)), 0, "bits per pixel"},
		{"zero width", cat(fileHeader(1), urfHeader(8, 0, 2)), 0, "invalid width"},
		{"line over 16 MiB", cat(fileHeader(1), urfHeader(64, 0xffffff, 1)), 0, "bytes per line"},
		{"huge height, little data", cat(fileHeader(1), urfHeader(8, 2, 0xffffff), []byte{255, 0x80}), 0, "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertCount(t, FormatURF, tt.doc, tt.wantPages, tt.wantWhy)
		})
	}
}

// assertCount checks the page count of doc, or with a wantWhy, that it is
// unknown for a reason containing wantWhy.
func assertCount(t *testing.T, format string, doc []byte, wantPages int, wantWhy string) {
	t.Helper()
	got, err := Count(context.Background(), format, bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("Count = %v; a malformed document is not an error", err)
	}
	if wantWhy == "" {
		if !got.Known || got.Pages != wantPages {
			t.Errorf("Count = %+v, want %d pages", got, wantPages)
		}
		return
	}
	if got.Known || got.Pages != 0 || !strings.Contains(got.Reason, wantWhy) {
		t.Errorf("Count = %+v, want unknown because of %q", got, wantWhy)
	}
}

// TestCountRasterMemoryIsConstant checks that counting streams: the memory
// it allocates does not grow with the document.
func TestCountRasterMemoryIsConstant(t *testing.T) {
	tests := []struct {
		name, format string
		small, large []byte
	}{
		{"pwg", FormatPWGRaster, testdocs.PWGRaster(2), testdocs.PWGRaster(200)},
		{"urf", FormatURF, testdocs.URF(2), testdocs.URF(200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			small := allocated(t, tt.format, tt.small)
			large := allocated(t, tt.format, tt.large)
			const slack = 16 << 10
			if large > small+slack || large > 256<<10 {
				t.Errorf("counting 2 pages allocates %d bytes, 200 pages %d", small, large)
			}
		})
	}
}

func allocated(t *testing.T, format string, doc []byte) uint64 {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := Count(context.Background(), format, bytes.NewReader(doc))
	runtime.ReadMemStats(&after)
	if err != nil || !res.Known {
		t.Fatalf("Count = %+v, %v", res, err)
	}
	return after.TotalAlloc - before.TotalAlloc
}

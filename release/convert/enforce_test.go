package convert

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/printgate/printgate/audit/pages"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// rasterHeader returns, for each page of PWG raster doc, its header's
// Duplex and cupsColorSpace.
func rasterHeader(t *testing.T, doc []byte) (duplex, space uint32) {
	t.Helper()
	if len(doc) < 4+1796 || !bytes.HasPrefix(doc, []byte("RaS2")) {
		t.Fatalf("not PWG raster: %q", doc[:min(len(doc), 8)])
	}
	h := doc[4:]
	return binary.BigEndian.Uint32(h[272:]), binary.BigEndian.Uint32(h[400:])
}

// TestEnforce: a PostScript document that sets its own device (one-sided,
// RGB, pages in saturated colour) converts with the job's settings when
// Enforce says so: grey, and two-sided in PWG raster's page header. Not
// enforced, its own setpagedevice reaches the header.
func TestEnforce(t *testing.T) {
	c := newConverter(t, DefaultLimits())
	doc := testdocs.DefiantPS(3)
	two := "two-sided-long-edge"
	for _, tc := range []struct {
		name    string
		t       Target
		duplex  uint32
		enforce bool
	}{
		{"enforced", Target{Format: PWGRaster, Resolution: 72, Sides: two, Enforce: true}, 1, true},
		{"document's own setting", Target{Format: PWGRaster, Resolution: 72, Sides: two}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := convert(t, c, doc, PostScript, tc.t)
			if err != nil {
				t.Fatal(err)
			}
			duplex, space := rasterHeader(t, out)
			if duplex != tc.duplex || space != 18 {
				t.Errorf("header Duplex %d, cupsColorSpace %d; want %d, 18 (sGray)", duplex, space, tc.duplex)
			}
			res, err := pages.Count(context.Background(), pages.FormatPWGRaster, bytes.NewReader(out))
			if err != nil || res.Pages != 3 {
				t.Errorf("%d pages (%v); want 3", res.Pages, err)
			}
		})
	}
	// Rewritten as PDF or PostScript in grey, the pages carry no colour.
	if cov := testenv.InkCoverage(t, doc); len(cov) != 3 || cov[0][1] == 0 {
		t.Fatalf("the document itself: coverage %v; want colour on 3 pages", cov)
	}
	for _, to := range []string{PDF, PostScript} {
		out, err := convert(t, c, doc, PostScript, Target{Format: to, Enforce: true})
		if err != nil {
			t.Fatal(err)
		}
		cov := testenv.InkCoverage(t, out)
		if len(cov) != 3 {
			t.Fatalf("%s: %d pages; want 3", to, len(cov))
		}
		for i, p := range cov {
			if p[0]+p[1]+p[2] != 0 || p[3] == 0 {
				t.Errorf("%s page %d: CMYK coverage %v; want black only", to, i+1, p)
			}
		}
		if bytes.Contains(out, []byte("/Duplex")) {
			t.Errorf("%s: the document's /Duplex reached the output", to)
		}
	}
}

// TestPageSelection converts only the pages asked for, from PDF and from
// PostScript, to raster and to PDF; a list that is not one is refused.
func TestPageSelection(t *testing.T) {
	c := newConverter(t, DefaultLimits())
	pdf := testdocs.PDF(5, "five pages", testdocs.A4)
	ps := testdocs.DSC(5, "five pages", testdocs.A4)
	for _, tc := range []struct {
		name, from string
		doc        []byte
		t          Target
		count      string
		want       int
	}{
		{"pdf to raster", PDF, pdf, Target{Format: PWGRaster, Resolution: 72, Pages: "2-3"}, pages.FormatPWGRaster, 2},
		{"pdf to pdf", PDF, pdf, Target{Format: PDF, Pages: "2-3,5"}, pages.FormatPDF, 3},
		{"postscript to raster, enforced", PostScript, ps, Target{Format: PWGRaster, Resolution: 72, Pages: "4", Enforce: true}, pages.FormatPWGRaster, 1},
		{"postscript to pdf", PostScript, ps, Target{Format: PDF, Pages: "1-2"}, pages.FormatPDF, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := convert(t, c, tc.doc, tc.from, tc.t)
			if err != nil {
				t.Fatal(err)
			}
			res, err := pages.Count(context.Background(), tc.count, bytes.NewReader(out))
			if err != nil || res.Pages != tc.want {
				t.Errorf("%d pages (%v); want %d", res.Pages, err, tc.want)
			}
		})
	}
	for _, bad := range []string{"2-x", "0-3", "-sDEVICE=x", "1,,2", "3-"} {
		if _, err := convert(t, c, pdf, PDF, Target{Format: PDF, Pages: bad}); err == nil {
			t.Errorf("pages %q accepted", bad)
		}
	}
}

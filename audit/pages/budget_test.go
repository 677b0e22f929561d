package pages

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/testdocs"
)

func TestCountPDFDecodeBudget(t *testing.T) {
	tests := []struct {
		name    string
		doc     []byte
		budget  Budget
		pages   int // 0: over budget
		maxHeap uint64
	}{
		// The bomb of issue 10: 0.98 MB, 960 MiB decoded; it took 1.3 GB
		// of heap and 20 s before the budget.
		{"bomb", testdocs.PDFBomb(16, 60<<20), Budget{}, 0, 16 << 20},
		// Each stream is under the budget, all of them together are not.
		{"many small streams", testdocs.PDFBomb(64, 1<<20), Budget{DecodedBytes: 16 << 20}, 0, 48 << 20},
		{"within budget", testdocs.PDFBomb(4, 1<<20), Budget{DecodedBytes: 16 << 20}, 4, 48 << 20},
		{"tiny", testdocs.PDFBomb(3, 100), Budget{}, 3, 16 << 20},
	}
	for _, tt := range tests {
		for _, c := range pdfCounters {
			t.Run(c.name+"/"+tt.name, func(t *testing.T) {
				peak := samplePeakHeap()
				got, err := c.count(Counter{Budget: tt.budget}, tt.doc)
				if heap := peak(); heap > tt.maxHeap {
					t.Errorf("peak heap %d MiB, want under %d MiB", heap>>20, tt.maxHeap>>20)
				}
				if err != nil {
					t.Fatal(err)
				}
				if tt.pages > 0 {
					if !got.Known || got.Pages != tt.pages {
						t.Errorf("%s = %+v, want %d pages", c.name, got, tt.pages)
					}
					return
				}
				if got.Known || !strings.Contains(got.Reason, "decompresses to more than") {
					t.Errorf("%s = %+v, want unknown over the decoded budget", c.name, got)
				}
			})
		}
	}
}

func TestCountPDFObjectBudget(t *testing.T) {
	var kids strings.Builder
	pages := make([]string, 40)
	for i := range pages {
		pages[i] = "<< /Type /Page /Parent 2 0 R >>"
		fmt.Fprintf(&kids, "%d 0 R ", i+3)
	}
	indirect := pageTreePDF(kids.String(), len(pages), pages...)
	// Pages written inside /Kids are nodes without being objects.
	direct := pageTreePDF(strings.Repeat("<< /Type /Page >> ", len(pages)), len(pages))
	tests := []struct {
		doc     []byte
		objects int
		reason  string // "": counted
	}{
		{indirect, 1000, ""},
		{indirect, 43, ""}, // object 0 is in the table too
		{indirect, 42, "43 objects is over the budget of 42"},
		{direct, 41, ""},
		{direct, 30, "page tree has more than the budget of 30 objects"},
	}
	for _, tt := range tests {
		got, err := Counter{Budget: Budget{Objects: tt.objects}}.Count(context.Background(), FormatPDF, bytes.NewReader(tt.doc))
		if err != nil {
			t.Fatal(err)
		}
		if tt.reason == "" && (!got.Known || got.Pages != len(pages)) ||
			tt.reason != "" && (got.Known || !strings.Contains(got.Reason, tt.reason)) {
			t.Errorf("objects %d: Count = %+v, want reason %q", tt.objects, got, tt.reason)
		}
	}
}

// TestCountTimeBudget puts the clock an hour back, so that every count is
// over its time budget before it starts: each format must answer unknown
// with the reason, and a caller that gave up must still get an error.
func TestCountTimeBudget(t *testing.T) {
	hourAgo := func() time.Time { return time.Now().Add(-time.Hour) }
	docs := []struct {
		format string
		doc    []byte
	}{
		{FormatPDF, testdocs.PDF(3, "x", testdocs.A4)},
		{FormatPostScript, testdocs.PostScript(3)},
		{FormatPWGRaster, testdocs.PWGRaster(2)},
		{FormatURF, testdocs.URF(2)},
	}
	for _, d := range docs {
		t.Run(d.format, func(t *testing.T) {
			got, err := Counter{Now: hourAgo}.Count(context.Background(), d.format, bytes.NewReader(d.doc))
			if err != nil {
				t.Fatal(err)
			}
			if got.Known || !strings.Contains(got.Reason, "took longer than the 10s budget") {
				t.Errorf("Count = %+v, want unknown over time", got)
			}
			got, err = Counter{}.Count(context.Background(), d.format, bytes.NewReader(d.doc))
			if err != nil || !got.Known {
				t.Errorf("with the right clock: Count = %+v, %v", got, err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, err := (Counter{Now: hourAgo}).Count(ctx, d.format, bytes.NewReader(d.doc)); !errors.Is(err, context.Canceled) {
				t.Errorf("canceled: err = %v, want context.Canceled", err)
			}
		})
	}
}

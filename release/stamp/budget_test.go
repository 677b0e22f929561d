package stamp

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// TestPDFPageLimit: a document of 20,000 tiny pages, which pdfcpu would
// stamp for minutes, is refused at once for its pages; one at the limit
// is stamped.
func TestPDFPageLimit(t *testing.T) {
	s := newTestStamper(t, Options{MaxPages: 100, Budget: Budget{Time: 2 * time.Minute}})
	st := testStamp(Layout{Position: BottomRight, FontSize: 7})
	many := testdocs.PDF(20_000, "x", testdocs.A4)
	start := time.Now()
	out, err := stampBytes(t, s, many, st)
	if !errors.Is(err, ErrTooManyPages) || out != nil {
		t.Fatalf("20,000 pages: %d bytes, %v; want %v", len(out), err, ErrTooManyPages)
	}
	// Reading takes a few seconds (more under -race); stamping, minutes.
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("refused after %v", d)
	}
	t.Logf("refused after %v: %v", time.Since(start), err)
	if _, err := stampBytes(t, s, testdocs.PDF(100, "x", testdocs.A4), st); err != nil {
		t.Errorf("100 pages: %v", err)
	}
}

// TestPDFTimeBudget: stamping that outlasts its budget in pdfcpu's steps
// that take no context is abandoned at the budget, not waited for.
func TestPDFTimeBudget(t *testing.T) {
	const budget = 300 * time.Millisecond
	s := newTestStamper(t, Options{MaxPages: 10_000, Budget: Budget{Time: budget}})
	st := testStamp(Layout{Position: BottomRight, FontSize: 7})
	// Read in a fraction of a second; stamped in several.
	doc := testdocs.PDF(2500, "x", testdocs.A4)
	start := time.Now()
	out, err := stampBytes(t, s, doc, st)
	if !errors.Is(err, ErrOverBudget) || out != nil {
		t.Fatalf("%d bytes, %v; want %v", len(out), err, ErrOverBudget)
	}
	if d := time.Since(start); d > budget+1500*time.Millisecond {
		t.Errorf("abandoned after %v; the budget is %v", d, budget)
	}
}

// TestPDFAbandonedKeepsPlace: an abandoned stamping keeps its place until
// its work ends, so that a stamper with one place is busy meanwhile, and
// free again afterwards.
func TestPDFAbandonedKeepsPlace(t *testing.T) {
	const budget = time.Second
	s := newTestStamper(t, Options{Parallel: 1, Budget: Budget{Time: budget}})
	st := testStamp(Layout{Position: BottomRight, FontSize: 7})
	doc := testdocs.PDF(1, "x", testdocs.A4)
	slow := make(chan struct{})
	s.hold = func() { <-slow }
	if _, err := stampBytes(t, s, doc, st); !errors.Is(err, ErrOverBudget) {
		t.Fatalf("held stamping: %v; want %v", err, ErrOverBudget)
	}
	if _, err := stampBytes(t, s, doc, st); !errors.Is(err, ErrBusy) {
		t.Errorf("while the abandoned stamping runs: %v; want %v", err, ErrBusy)
	}
	close(slow)
	testenv.WaitFor(t, "the abandoned stamping to end", func() bool { return len(s.running) == 0 })
	if _, err := stampBytes(t, s, doc, st); errors.Is(err, ErrBusy) {
		t.Errorf("after the abandoned stamping ended: %v", err)
	}
}

// TestPDFContentBudget: stamping rewrites each page's content, which
// pdfcpu decoded with a limit of its own (512 MiB a stream) whatever the
// budget, and could not be stopped from doing: a page whose content
// inflates past the budget of one stream, or pages that do together past
// the document's, are refused within the budget, having allocated little.
func TestPDFContentBudget(t *testing.T) {
	s := newTestStamper(t, Options{Budget: Budget{DecodedBytes: 1 << 20, ContentBytes: 4 << 20, Time: time.Minute}})
	st := testStamp(Layout{Position: BottomRight, FontSize: 7})
	tests := []struct {
		name string
		doc  []byte
		want error
	}{
		{"one page past a stream's budget", testdocs.PDFContentBomb(1, 64<<20), ErrOverBudget},
		{"pages past the document's budget together", testdocs.PDFContentBomb(8, 900<<10), ErrOverBudget},
		{"within both", testdocs.PDFContentBomb(3, 900<<10), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			out, err := stampBytes(t, s, tt.doc, st)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("%d bytes, %v; want %v", len(out), err, tt.want)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; tt.want != nil && grew > 32<<20 {
				t.Errorf("allocated %d MiB before refusing a %d KB document", grew>>20, len(tt.doc)>>10)
			}
		})
	}
}

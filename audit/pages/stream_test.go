package pages

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// streamCount counts doc with a Stream, writing it in pieces of the sizes
// that split returns (nil: all at once).
func streamCount(c Counter, format string, doc []byte, split func() int) (Result, error) {
	s := c.Stream(context.Background(), format)
	for len(doc) > 0 {
		n := len(doc)
		if split != nil {
			n = min(max(split(), 1), n)
		}
		if k, err := s.Write(doc[:n]); k != n || err != nil {
			s.Abort()
			return Result{}, errors.Join(errors.New("short write"), err)
		}
		doc = doc[n:]
	}
	return s.Close()
}

// fixedSplit writes n bytes at a time.
func fixedSplit(n int) func() int { return func() int { return n } }

// randomSplit writes pieces of 1 to max bytes, from a fixed seed.
func randomSplit(seed uint64, max int) func() int {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return func() int { return 1 + r.IntN(max) }
}

func TestStreamFixtures(t *testing.T) {
	for _, f := range fixtures {
		data := fixture(t, f.path)
		for _, declared := range []string{f.format, FormatOctetStream, "", strings.ToUpper(f.format) + "; x=y"} {
			for _, piece := range []int{1, 5, 4096, len(data)} {
				got, err := streamCount(Counter{}, declared, data, fixedSplit(piece))
				if err != nil {
					t.Fatal(err)
				}
				want := Result{Pages: f.pages, Known: true, Format: f.format}
				if got != want {
					t.Errorf("%s as %q in pieces of %d: Stream = %+v, want %+v", f.path, declared, piece, got, want)
				}
			}
		}
	}
}

// TestStreamGivesCountsAnswers checks that Stream answers as Count does,
// reason included, for documents of every format that are not PDF (PDF has
// TestStreamAgreesWithCount): the counters are the same code.
func TestStreamGivesCountsAnswers(t *testing.T) {
	jpeg := fixture(t, "docs/photo.jpg")
	tests := []struct {
		name, format, doc string
	}{
		{"plain text", "text/plain", "hello"},
		{"long format name", strings.Repeat("x", 500), ""},
		{"undetectable", FormatOctetStream, "just some text"},
		{"empty and undetectable", "", ""},
		{"shorter than detection", "", "%!PS\n%%Page: 1 1\n"},
		{"empty postscript", FormatPostScript, ""},
		{"jpeg cut after SOI", FormatJPEG, string(jpeg[:4])},
		{"jpeg declared, pdf sent", FormatJPEG, string(fixture(t, "docs/pdf-1page.pdf"))},
		{"png garbage", FormatPNG, "\x89PNG\r\n\x1a\ngarbage"},
		{"pwg cut", FormatPWGRaster, string(testdocs.PWGRaster(2)[:3000])},
		{"urf without header", FormatURF, "UNIRAS"},
		{"dsc atend", FormatPostScript, "%!PS-Adobe-3.0\n%%Pages: (atend)\n%%EndComments\n%%Trailer\n%%Pages: 6\n"},
		{"big postscript", FormatPostScript, string(testdocs.DSC(500, "x", testdocs.A4))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := Count(context.Background(), tt.format, strings.NewReader(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			for _, piece := range []int{1, 3, 1000, len(tt.doc) + 1} {
				got, err := streamCount(Counter{}, tt.format, []byte(tt.doc), fixedSplit(piece))
				if err != nil || got != want {
					t.Errorf("in pieces of %d: Stream = %+v, %v; Count = %+v", piece, got, err, want)
				}
			}
		})
	}
}

// TestStreamDrainsAfterAnswer writes a large document whose format
// needs only its first bytes: once the counter has its answer, the rest
// must pass without the counting goroutine.
func TestStreamDrainsAfterAnswer(t *testing.T) {
	tests := []struct {
		name, format string
		head         []byte
		wantKnown    bool
	}{
		{"jpeg", FormatJPEG, fixture(t, "docs/photo.jpg"), true},
		{"not countable", "text/plain", []byte("hello"), false},
		{"unrecognized", FormatOctetStream, []byte("0123456789abcdefghij"), false},
	}
	junk := bytes.Repeat([]byte("x"), 64<<10)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Counter{}.Stream(context.Background(), tt.format)
			if _, err := s.Write(tt.head); err != nil {
				t.Fatal(err)
			}
			// A Write returns once the counter has taken its bytes; the
			// answer may follow a moment later.
			s.Write(junk)
			testenv.WaitFor(t, "the counter's answer after the header", s.ended.Load)
			for range 1000 { // 64 MiB
				if n, err := s.Write(junk); n != len(junk) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			got, err := s.Close()
			if err != nil || got.Known != tt.wantKnown {
				t.Errorf("Close = %+v, %v; want known %v", got, err, tt.wantKnown)
			}
		})
	}
}

func TestStreamCloseAndAbort(t *testing.T) {
	doc := fixture(t, "docs/pdf-3pages.pdf")
	before := runtime.NumGoroutine()

	t.Run("close twice", func(t *testing.T) {
		s := Counter{}.Stream(context.Background(), FormatPDF)
		s.Write(doc)
		first, err1 := s.Close()
		second, err2 := s.Close()
		if err1 != nil || err2 != nil || first != second || first.Pages != 3 {
			t.Errorf("Close = %+v, %v then %+v, %v", first, err1, second, err2)
		}
		s.Abort() // after Close: nothing changes
		if again, err := s.Close(); again != first || err != nil {
			t.Errorf("Close after Abort after Close = %+v, %v", again, err)
		}
	})
	t.Run("abort midway", func(t *testing.T) {
		s := Counter{}.Stream(context.Background(), FormatPDF)
		s.Write(doc[:len(doc)/2])
		s.Abort()
		s.Abort()
		if _, err := s.Close(); !errors.Is(err, errAborted) {
			t.Errorf("Close after Abort = %v, want %v", err, errAborted)
		}
		if n, err := s.Write(doc); n != len(doc) || err != nil {
			t.Errorf("Write after Abort = %d, %v; want the bytes dropped", n, err)
		}
	})
	t.Run("abort while detecting", func(t *testing.T) {
		s := Counter{}.Stream(context.Background(), "")
		s.Write(doc[:3])
		s.Abort()
		if _, err := s.Close(); !errors.Is(err, errAborted) {
			t.Errorf("Close after Abort = %v, want %v", err, errAborted)
		}
	})
	t.Run("nothing written", func(t *testing.T) {
		got, err := Counter{}.Stream(context.Background(), FormatPDF).Close()
		if err != nil || got.Known || got.Reason != errEmptyPDF.Error() {
			t.Errorf("Close = %+v, %v; want unknown: %v", got, err, errEmptyPDF)
		}
	})
	// Every Stream above has ended its goroutine.
	if !testenv.Eventually(func() bool { return runtime.NumGoroutine() <= before }) {
		t.Errorf("%d goroutines left behind", runtime.NumGoroutine()-before)
	}
}

func TestStreamContextDone(t *testing.T) {
	doc := fixture(t, "docs/pdf-3pages.pdf")
	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		s := Counter{}.Stream(ctx, FormatPDF)
		if _, err := s.Write(doc); !errors.Is(err, context.Canceled) {
			t.Errorf("Write = %v, want %v", err, context.Canceled)
		}
		if _, err := s.Close(); !errors.Is(err, context.Canceled) {
			t.Errorf("Close = %v, want %v", err, context.Canceled)
		}
	})
	t.Run("during", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		s := Counter{}.Stream(ctx, FormatPDF)
		s.Write(doc[:100])
		cancel()
		if _, err := s.Write(doc[100:]); !errors.Is(err, context.Canceled) {
			t.Errorf("Write = %v, want %v", err, context.Canceled)
		}
		if _, err := s.Close(); !errors.Is(err, context.Canceled) {
			t.Errorf("Close = %v, want %v", err, context.Canceled)
		}
	})
	t.Run("abandoned", func(t *testing.T) {
		// Neither Close nor Abort: the done context ends the goroutine.
		ctx, cancel := context.WithCancel(context.Background())
		s := Counter{}.Stream(ctx, FormatPDF)
		s.Write(doc[:100])
		cancel()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Fatal("the counting goroutine outlived its context")
		}
	})
}

// steppingClock advances by step at every reading.
type steppingClock struct {
	now  atomic.Int64
	step time.Duration
}

func (c *steppingClock) Now() time.Time {
	return time.Unix(0, c.now.Add(int64(c.step)))
}

// TestStreamTimeBudget runs a clock that jumps a second at every reading:
// the counters must notice that they are over their (10 s) time budget.
// The time spent waiting for the writer does not count.
func TestStreamTimeBudget(t *testing.T) {
	docs := []struct {
		format string
		doc    []byte
	}{
		{FormatPDF, testdocs.PDF(200, "x", testdocs.A4)},
		{FormatPostScript, testdocs.DSC(2000, "x", testdocs.A4)},
		{FormatPWGRaster, testdocs.PWGRaster(20)},
		{FormatURF, testdocs.URF(20)},
	}
	for _, d := range docs {
		t.Run(d.format, func(t *testing.T) {
			clock := &steppingClock{step: time.Second}
			got, err := streamCount(Counter{Now: clock.Now}, d.format, d.doc, fixedSplit(1000))
			if err != nil {
				t.Fatal(err)
			}
			if got.Known || !strings.Contains(got.Reason, "took longer than the 10s budget") {
				t.Errorf("Stream = %+v, want unknown over time", got)
			}
		})
	}
}

// slowReader stands for a slow client: every Read waits an hour on clock.
type slowReader struct {
	r     *bytes.Reader
	clock *steppingClock
}

func (s slowReader) Read(p []byte) (int, error) {
	s.clock.now.Add(int64(time.Hour))
	return s.r.Read(p[:min(len(p), 100)])
}

// TestStreamClockSkipsWaiting checks the clock of Stream's counters: the
// time spent waiting for the document is not counted.
func TestStreamClockSkipsWaiting(t *testing.T) {
	for _, step := range []time.Duration{0, time.Second} {
		clock := &steppingClock{step: step}
		ctx, cancel := context.WithCancelCause(context.Background())
		busy := &busyClock{now: clock.Now, limit: 10 * time.Second, cancel: cancel}
		busy.resume()
		r := &clockedReader{r: slowReader{bytes.NewReader(testdocs.PDF(200, "x", testdocs.A4)), clock}, clock: busy}
		pages, err := countPDFStream(r, DefaultBudget, func() bool { busy.check(); return ctx.Err() != nil })
		if step == 0 && (err != nil || pages != 200) {
			t.Errorf("a slow writer: %d pages, %v; want 200", pages, err)
		}
		// Reading the clock costs a second: the counter is over time.
		if step > 0 && (!errors.Is(err, errStopped) || !overTime(ctx)) {
			t.Errorf("a slow counter: %d pages, %v (cause %v); want over time", pages, err, context.Cause(ctx))
		}
		cancel(nil)
	}
}

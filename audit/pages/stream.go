package pages

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/jpeg"
	"image/png"
	"io"
	"sync/atomic"
	"time"
)

// Stream counts the pages of a document that is written to it, in one
// pass, while the document streams in: the caller tees the upload into it
// and asks Close for the result after the last byte. Within the same
// Budget, it gives the answers Count gives, and its memory does not grow
// with the document: a few buffers (16 to 64 KiB, and an inflater for PDF
// object streams) plus, for PDF, some bytes per object, which
// Budget.Objects bounds.
//
// PDF is read as it comes, and its cross-reference sections as they pass;
// at the end, the page tree is counted only if every object it uses is
// the definition that the table the last "startxref" leads to names (by
// offset, or by object stream and index), and from that table's /Root.
// So a Stream counts what a printer, which follows the table, prints, or
// does not count at all: where the table is missing, broken, or names
// other definitions (a page tree hidden in a comment or a stream's data,
// an update the table leaves out), and where the page tree is in object
// streams it cannot read in one pass (encrypted or corrupt), the pages
// are unknown and the Result is Unverified: Count on the stored document
// may know them. It counts some that Count cannot: encrypted with a user
// password (from the page tree, which is not encrypted).
//
// A Stream is used by one goroutine. It counts in a goroutine of its own,
// which Write hands the bytes to; Close or Abort must be called to end it
// (it also ends when the context is done).
type Stream struct {
	ctx    context.Context // the caller's
	budget Budget
	now    func() time.Time

	// While the format is detected, the first bytes wait in head.
	detecting bool
	head      [detectSize]byte
	nhead     int

	pw     *io.PipeWriter // to the counting goroutine; nil when there is none
	ended  atomic.Bool    // the counter has its answer: later bytes are dropped
	done   chan struct{}  // closed when the counting goroutine has returned
	res    Result         // written by the counting goroutine before done
	err    error
	closed bool
}

// detectSize is how many bytes Detect is given.
const detectSize = 16

var (
	errAborted = errors.New("pages: the document's upload was aborted")
	errCounted = errors.New("pages: counted") // the pipe's end once the counter has returned
)

// countFunc counts the pages of the document r yields. It gives up when
// stop reports true or ctx is done (ctx is done whenever stop is true).
type countFunc func(ctx context.Context, r io.Reader, stop func() bool) (int, error)

// Stream returns a Stream that counts the pages of a document of the given
// format (an IPP document-format value; "" and application/octet-stream are
// detected from the first bytes, as Count does).
//
// Budget.Time bounds the time spent counting, not the time the document
// takes to arrive: the clock (Counter.Now) runs only while the counter
// works. Counter.MaxPDFSize does not apply, as counting a PDF in one pass
// needs no memory in proportion to it.
func (c Counter) Stream(ctx context.Context, format string) *Stream {
	s := &Stream{ctx: ctx, budget: c.Budget.withDefaults(), now: c.Now}
	if s.now == nil {
		s.now = time.Now
	}
	format = normalizeFormat(format)
	if format == "" || format == FormatOctetStream {
		s.detecting = true
		return s
	}
	s.start(format)
	return s
}

// Write passes p to the counter. It always consumes all of p and fails only
// when the context is done: a document that cannot be counted is reported
// by Close, and once the counter has its answer the rest is dropped.
func (s *Stream) Write(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, fmt.Errorf("pages: %w", err)
	}
	n := len(p)
	if s.detecting && !s.closed {
		k := copy(s.head[s.nhead:], p)
		s.nhead += k
		p = p[k:]
		if s.nhead < detectSize {
			return n, nil
		}
		s.detect()
	}
	s.feed(p)
	return n, nil
}

// Close tells the counter that the document is complete and returns the
// result, as Count would for the same bytes. The error is non-nil only when
// the context is done or the Stream was aborted.
func (s *Stream) Close() (Result, error) {
	if s.closed {
		return s.res, s.err
	}
	if s.detecting {
		s.detect() // a document shorter than detectSize
	}
	s.closed = true
	if s.pw != nil {
		s.pw.Close()
		<-s.done
	}
	if s.err == nil {
		if err := s.ctx.Err(); err != nil {
			s.err = fmt.Errorf("pages: %w", err)
		}
	}
	if s.err != nil {
		s.res = Result{}
	}
	return s.res, s.err
}

// Abort ends the count of a document whose upload failed, and frees what it
// holds. It may be called after Close, and more than once.
func (s *Stream) Abort() {
	if s.closed {
		return
	}
	s.closed = true
	if s.pw != nil {
		s.pw.CloseWithError(errAborted)
		<-s.done
	}
	s.res, s.err = Result{}, errAborted
}

// detect takes the format from the first bytes and starts its counter.
func (s *Stream) detect() {
	s.detecting = false
	format := Detect(s.head[:s.nhead])
	if format == "" {
		s.res.Reason = "unrecognized document format"
		s.ended.Store(true)
		return
	}
	s.start(format)
	s.feed(s.head[:s.nhead])
}

// feed hands p to the counting goroutine, unless it has its answer.
func (s *Stream) feed(p []byte) {
	if len(p) == 0 || s.pw == nil || s.ended.Load() {
		return
	}
	// It fails only once the counter has returned: the rest is not needed.
	s.pw.Write(p)
}

// start starts counting a document of the given format.
func (s *Stream) start(format string) {
	s.res.Format = format
	count := s.counter(format)
	if count == nil {
		s.res.Reason = fmt.Sprintf("format %s is not countable", quoteFormat(format))
		s.ended.Store(true)
		return
	}
	pr, pw := io.Pipe()
	s.pw = pw
	s.done = make(chan struct{})
	go s.run(pr, count)
}

// counter returns the counter of a format, or nil.
func (s *Stream) counter(format string) countFunc {
	switch format {
	case FormatPDF:
		return func(_ context.Context, r io.Reader, stop func() bool) (int, error) {
			return countPDFStream(r, s.budget, stop)
		}
	case FormatPostScript:
		return func(ctx context.Context, r io.Reader, _ func() bool) (int, error) {
			return countPostScript(ctx, r)
		}
	case FormatPWGRaster:
		return func(ctx context.Context, r io.Reader, _ func() bool) (int, error) {
			return countPWGRaster(ctx, bufio.NewReaderSize(r, readBufferSize))
		}
	case FormatURF:
		return func(ctx context.Context, r io.Reader, _ func() bool) (int, error) {
			return countURF(ctx, bufio.NewReaderSize(r, readBufferSize))
		}
	case FormatJPEG:
		return func(_ context.Context, r io.Reader, _ func() bool) (int, error) {
			return countImage(r, "jpeg", func(r io.Reader) error { _, err := jpeg.DecodeConfig(r); return err })
		}
	case FormatPNG:
		return func(_ context.Context, r io.Reader, _ func() bool) (int, error) {
			return countImage(r, "png", func(r io.Reader) error { _, err := png.DecodeConfig(r); return err })
		}
	}
	return nil
}

// run is the counting goroutine: it counts what comes through the pipe and
// sets the result.
func (s *Stream) run(pr *io.PipeReader, count countFunc) {
	defer close(s.done)
	ctx, cancel := context.WithCancelCause(s.ctx)
	defer cancel(nil)
	// A caller that goes away without Close or Abort still ends the count.
	defer context.AfterFunc(ctx, func() { pr.CloseWithError(ctx.Err()) })()

	clock := &busyClock{now: s.now, limit: s.budget.Time, cancel: cancel}
	clock.resume()
	r := &clockedReader{r: pr, clock: clock}
	stop := func() bool {
		clock.check()
		return ctx.Err() != nil
	}
	pages, err := count(ctx, r, stop)
	s.ended.Store(true)
	pr.CloseWithError(errCounted) // a Write in progress returns

	format := s.res.Format
	switch {
	case errors.Is(r.err, errAborted):
	case ctx.Err() != nil && overTime(ctx):
		s.res.Reason = s.budget.overTimeReason(format)
	case ctx.Err() != nil:
		s.err = fmt.Errorf("pages: count %s document: %w", format, ctx.Err())
	case err != nil:
		s.res.Reason, s.res.Unverified = err.Error(), unverifiable(err)
	default:
		s.res.Pages, s.res.Known = pages, true
	}
}

// unverifiable reports whether the one-pass PDF counter gave up for a
// reason that a reader of the cross-reference table may not have.
func unverifiable(err error) bool {
	for _, e := range []error{errNotVerified, errEncryptedObjs, errBadObjStm, errObjStmFilter} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// CountBytes counts the pages of doc, a whole document in memory, as a
// Stream written doc would, without the Stream's goroutine and pipe: for
// PDF, the one-pass scanner checked against the cross-reference table
// (its Result may be Unverified); for other formats, Count's counters,
// which are the Stream's. As for a Stream, Counter.MaxPDFSize does not
// apply.
func (c Counter) CountBytes(ctx context.Context, format string, doc []byte) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("pages: %w", err)
	}
	res := Result{Format: normalizeFormat(format)}
	if res.Format == "" || res.Format == FormatOctetStream {
		res.Format = Detect(doc[:min(len(doc), detectSize)])
	}
	if res.Format != FormatPDF {
		return c.Count(ctx, format, bytes.NewReader(doc))
	}
	budget := c.Budget.withDefaults()
	now := c.Now
	if now == nil {
		now = time.Now
	}
	ctx, cancel := budget.withDeadline(ctx, now())
	defer cancel()
	stop := func() bool { return ctx.Err() != nil }
	// A buffer of the document's size, up to the Stream's, is all it needs.
	size := min(max(len(doc)+1, 4096), pdfReadBuffer)
	br := c.Readers.get()
	defer c.Readers.put(br)
	pages, err := countPDFStreamBuffer(bytes.NewReader(doc), budget, stop, size, br)
	switch {
	case ctx.Err() != nil && overTime(ctx):
		res.Reason = budget.overTimeReason(res.Format)
	case ctx.Err() != nil:
		return Result{}, fmt.Errorf("pages: count %s document: %w", res.Format, ctx.Err())
	case err != nil:
		res.Reason, res.Unverified = err.Error(), unverifiable(err)
	default:
		res.Pages, res.Known = pages, true
	}
	return res, nil
}

// clockedReader reads the pipe, keeping the counter's clock stopped while
// it waits for the writer.
type clockedReader struct {
	r     io.Reader
	clock *busyClock
	err   error // the first error other than io.EOF
}

func (r *clockedReader) Read(p []byte) (int, error) {
	r.clock.pause()
	n, err := r.r.Read(p)
	r.clock.resume()
	r.clock.check()
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

// busyClock measures the time a counter works, without the time it waits
// for the document, and cancels its context (with errOverTime as the cause)
// once that is over the limit.
type busyClock struct {
	now    func() time.Time
	limit  time.Duration
	spent  time.Duration // before since
	since  time.Time     // when the counter last resumed work
	cancel context.CancelCauseFunc
}

func (c *busyClock) pause()  { c.spent += c.now().Sub(c.since) }
func (c *busyClock) resume() { c.since = c.now() }

func (c *busyClock) check() {
	if c.spent+c.now().Sub(c.since) > c.limit {
		c.cancel(errOverTime)
	}
}

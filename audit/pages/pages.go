// Package pages counts the pages of a print document by reading the
// document itself, for the audit record. It knows PDF, PostScript (DSC), PWG
// raster, Apple raster (URF), JPEG and PNG, and recognises them by their
// first bytes when a client declares application/octet-stream. Sniff
// identifies a document from its first bytes for the submission, which
// refuses content that is not what the client declared: the formats above,
// PCL and plain text.
//
// A document that cannot be counted (malformed, encrypted, too large, of
// another format) is not an error: Count reports it as unknown, with the
// reason. Only a failing reader or a done context is an error. Reasons never
// quote the document's content.
//
// Every count runs within a Budget: bytes decompressed, objects and time
// (see docs/LIMITS.md). Over budget, the pages are unknown and the Reason
// says which limit was reached; a small document that decompresses hugely
// (a "PDF bomb") costs at most the budget.
//
// Counter.Stream counts a document while it is written, in one pass and
// in constant memory: this is how a document that arrives over the network
// is counted, with no second read; Counter.CountBytes does the same for a
// document in memory. PDF is read there by a scanner of its own
// (countPDFStream), which checks the page tree it finds against the
// cross-reference table, as a printer reads the document, and where it
// cannot, reports the Result Unverified so that the caller may ask Count.
// It agrees with Count on every PDF of the test corpora that it verifies.
//
// Count reads a document that is already stored. It streams through raster
// and PostScript documents in constant memory. PDF is parsed with pdfcpu,
// which holds all of the document's objects and raw (still compressed)
// streams in memory while it counts: Counter.MaxPDFSize bounds the
// document, a read budget stops pdfcpu from buffering far more than a
// well-formed document of that size needs, and the object streams that the
// page tree needs are charged against Budget.DecodedBytes before pdfcpu
// decompresses them. Expect the heap to reach about the PDF's size plus the
// decoded budget, or more for uncompressed documents of many small objects
// (a 6 MB PDF of 20000 pages takes about 160 MB), and limit how many
// documents are counted at once.
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
	"strings"
	"sync"
	"time"

	"github.com/printgate/printgate/internal/bufpool"
)

// The document formats (IPP document-format values) that Count knows.
const (
	FormatPDF         = "application/pdf"
	FormatPostScript  = "application/postscript"
	FormatPWGRaster   = "image/pwg-raster"
	FormatURF         = "image/urf"
	FormatJPEG        = "image/jpeg"
	FormatPNG         = "image/png"
	FormatOctetStream = "application/octet-stream" // detect the format from the content
)

// DefaultMaxPDFSize is the largest PDF that a zero Counter parses.
const DefaultMaxPDFSize = 256 << 20

// Result is the page count of one document.
type Result struct {
	// Pages is the number of pages; it is meaningful only when Known.
	Pages int
	// Known reports whether the document could be counted.
	Known bool
	// Format is the format that was counted: the declared one, or for
	// application/octet-stream the detected one ("" when none was).
	Format string
	// Reason says why the count is unknown; it is empty when Known.
	Reason string
	// Unverified is set, with Known false, by Stream and CountBytes on a
	// PDF whose pages they could not count the way a reader of its
	// cross-reference table (a printer, Count) does: the table is
	// missing, broken or names definitions other than those read in
	// file order, or the page tree is in object streams that cannot be
	// read in one pass. Count, on the stored document, may know the
	// pages. Count never sets it.
	Unverified bool
}

// Counter counts pages within resource limits. The zero Counter uses the
// defaults.
type Counter struct {
	// MaxPDFSize is the size in bytes above which a PDF is reported as
	// unknown instead of parsed, as pdfcpu needs memory in proportion to
	// the document. Zero means DefaultMaxPDFSize, a negative value no limit.
	MaxPDFSize int64
	// Budget bounds each count; its zero fields take DefaultBudget's.
	Budget Budget
	// Now returns the time from which the time budget runs (nil:
	// time.Now).
	Now func() time.Time
	// Readers, when set, keeps the read buffers of CountBytes for the
	// next count: a server counting every small document it receives
	// would otherwise allocate one for each.
	Readers *Readers
}

// Readers keeps read buffers for Counter.CountBytes; the zero value is
// ready to use.
type Readers struct{ pool sync.Pool }

func (rs *Readers) get() *bufio.Reader {
	if rs == nil {
		return nil
	}
	if br, ok := rs.pool.Get().(*bufio.Reader); ok {
		return br
	}
	return bufio.NewReaderSize(nil, pdfReadBuffer)
}

// put keeps br, cleared: it held a document's plaintext.
func (rs *Readers) put(br *bufio.Reader) {
	if rs == nil || br == nil {
		return
	}
	bufpool.ClearReader(br)
	rs.pool.Put(br)
}

// Count reports the pages of doc, a document of the given format, with a
// zero Counter.
func Count(ctx context.Context, format string, doc io.ReadSeeker) (Result, error) {
	return Counter{}.Count(ctx, format, doc)
}

// Count reports the pages of doc, a document of the given format (an IPP
// document-format value; "" is taken as application/octet-stream). It reads
// doc from its start; PDF needs the random access, the other formats are
// read once from start to end.
//
// The returned error is non-nil only when doc's Read or Seek fails or ctx is
// done; a document that cannot be counted yields Known false and a Reason.
func (c Counter) Count(ctx context.Context, format string, doc io.ReadSeeker) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("pages: %w", err)
	}
	budget := c.Budget.withDefaults()
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	ctx, cancel := budget.withDeadline(ctx, now())
	defer cancel()
	src := &source{rs: doc}
	res := Result{Format: normalizeFormat(format)}
	if res.Format == "" || res.Format == FormatOctetStream {
		var head [16]byte
		n, _ := io.ReadFull(src, head[:])
		if src.err != nil {
			return Result{}, fmt.Errorf("pages: read document: %w", src.err)
		}
		res.Format = Detect(head[:n])
		if res.Format == "" {
			res.Reason = "unrecognized document format"
			return res, nil
		}
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return Result{}, fmt.Errorf("pages: read %s document: %w", res.Format, err)
	}

	var pages int
	var err error
	switch res.Format {
	case FormatPDF:
		pages, err = c.countPDF(ctx, src, budget)
	case FormatPostScript:
		pages, err = countPostScript(ctx, src)
	case FormatPWGRaster:
		pages, err = countPWGRaster(ctx, bufio.NewReaderSize(src, readBufferSize))
	case FormatURF:
		pages, err = countURF(ctx, bufio.NewReaderSize(src, readBufferSize))
	case FormatJPEG:
		pages, err = countImage(src, "jpeg", func(r io.Reader) error { _, err := jpeg.DecodeConfig(r); return err })
	case FormatPNG:
		pages, err = countImage(src, "png", func(r io.Reader) error { _, err := png.DecodeConfig(r); return err })
	default:
		res.Reason = fmt.Sprintf("format %s is not countable", quoteFormat(res.Format))
		return res, nil
	}
	if src.err != nil {
		return Result{}, fmt.Errorf("pages: read %s document: %w", res.Format, src.err)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		if overTime(ctx) {
			res.Reason = budget.overTimeReason(res.Format)
			return res, nil
		}
		return Result{}, fmt.Errorf("pages: count %s document: %w", res.Format, ctxErr)
	}
	if err != nil {
		res.Reason = err.Error()
		return res, nil
	}
	res.Pages, res.Known = pages, true
	return res, nil
}

// readBufferSize is the buffer for the streaming parsers: large enough to
// make few calls into a decrypting reader.
const readBufferSize = 64 << 10

// Detect returns the format of a document from its first bytes (16 are
// enough), or "" when it recognises none.
func Detect(prefix []byte) string {
	switch {
	case bytes.HasPrefix(prefix, []byte("%PDF-")):
		return FormatPDF
	case bytes.HasPrefix(prefix, []byte("RaS2")):
		return FormatPWGRaster
	case bytes.HasPrefix(prefix, []byte("UNIRAST\x00")):
		return FormatURF
	case bytes.HasPrefix(prefix, []byte{0xff, 0xd8, 0xff}):
		return FormatJPEG
	case bytes.HasPrefix(prefix, []byte("\x89PNG\r\n\x1a\n")):
		return FormatPNG
	case bytes.HasPrefix(prefix, []byte("%!")), bytes.HasPrefix(prefix, []byte("\x04%!")):
		// A leading Ctrl-D is a common leftover of PostScript printer drivers.
		return FormatPostScript
	}
	return ""
}

// normalizeFormat lower-cases a MIME media type and drops its parameters.
func normalizeFormat(format string) string {
	format, _, _ = strings.Cut(format, ";")
	return strings.ToLower(strings.TrimSpace(format))
}

// quoteFormat quotes a client-supplied format for a Reason, shortened so
// that a hostile value cannot bloat the audit record.
func quoteFormat(format string) string {
	const max = 64
	if len(format) > max {
		format = format[:max] + "..."
	}
	return fmt.Sprintf("%q", format)
}

// countImage counts a single-image format, checking its header.
func countImage(r io.Reader, name string, decodeConfig func(io.Reader) error) (int, error) {
	if err := decodeConfig(r); err != nil {
		return 0, fmt.Errorf("%s: invalid image header", name)
	}
	return 1, nil
}

// source wraps the caller's reader and keeps its first failure other than
// io.EOF, so that Count reports a failing reader as an error and not as a
// malformed document, whichever parser (pdfcpu included) saw it first.
type source struct {
	rs  io.ReadSeeker
	err error
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.rs.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && s.err == nil {
		s.err = err
	}
	return n, err
}

func (s *source) Seek(offset int64, whence int) (int64, error) {
	n, err := s.rs.Seek(offset, whence)
	if err != nil && s.err == nil {
		s.err = err
	}
	return n, err
}

// Impressions returns the impressions (printed sides) and the sheets that
// copies copies of a document of the given pages take with the IPP sides
// value ("one-sided", "two-sided-long-edge", "two-sided-short-edge"; other
// values count as one-sided). Every copy starts on a new sheet, so a
// two-sided copy of an odd page count leaves its last back side blank.
// Negative pages count as 0 and copies below 1 as 1.
func Impressions(pages, copies int, sides string) (impressions, sheets int) {
	pages = max(pages, 0)
	copies = max(copies, 1)
	sheetsPerCopy := pages
	if sides == "two-sided-long-edge" || sides == "two-sided-short-edge" {
		sheetsPerCopy = (pages + 1) / 2
	}
	return mulSat(pages, copies), mulSat(sheetsPerCopy, copies)
}

// mulSat multiplies non-negative a and b, saturating instead of overflowing:
// copies come from the client.
func mulSat(a, b int) int {
	const maxInt = int(^uint(0) >> 1)
	if a != 0 && b > maxInt/a {
		return maxInt
	}
	return a * b
}

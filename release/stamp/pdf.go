package stamp

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/filter"
	"github.com/pdfcpu/pdfcpu/pkg/font"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Errors of PDF. Their messages never quote the document.
var (
	// ErrTooLarge means the document is larger than Options.MaxSize.
	ErrTooLarge = errors.New("stamp: the document is too large to stamp")
	// ErrOverBudget means stamping needed more time or memory than the
	// budget allows.
	ErrOverBudget = errors.New("stamp: the document needs more time or memory to stamp than the budget allows")
	// ErrEncrypted means the document is protected with a password.
	ErrEncrypted = errors.New("stamp: the document is encrypted with a password")
	// ErrUnreadable means the document is not a PDF pdfcpu can stamp.
	ErrUnreadable = errors.New("stamp: the document is not a PDF that can be stamped")
	// ErrTooManyPages means the document has more than Options.MaxPages
	// pages.
	ErrTooManyPages = errors.New("stamp: the document has too many pages to stamp")
	// ErrBusy means stampings abandoned at their time budget still run
	// and leave no room for another one yet.
	ErrBusy = errors.New("stamp: the stamper is busy")
)

// DefaultMaxPages is the most pages stamped when Options.MaxPages is 0:
// pdfcpu's work grows with the square of the pages (a few seconds for
// 2,000 simple pages, half a minute for 4,000).
const DefaultMaxPages = 2000

// Budget bounds the work of stamping one document; zero fields take
// DefaultBudget's.
type Budget struct {
	// DecodedBytes caps the bytes one stream decompresses to.
	DecodedBytes int64
	// ContentBytes caps the bytes the pages' content that stamping
	// rewrites decompresses to, all pages together.
	ContentBytes int64
	// Objects caps the document's objects.
	Objects int
	// Time caps the time one stamping takes.
	Time time.Duration
}

// DefaultBudget is the budget of page counting (audit/pages), which
// every document on a stamping queue passed at submission.
var DefaultBudget = Budget{DecodedBytes: 32 << 20, ContentBytes: 64 << 20, Objects: 250_000, Time: 10 * time.Second}

// Options configure a Stamper.
type Options struct {
	// FontFile is the TrueType font to stamp with; "" looks for
	// DefaultFonts.
	FontFile string
	// Dir is where pdfcpu keeps the installed font: a private folder of
	// printgate's (its data dir's fonts/); created 0700.
	Dir string
	// MaxSize is the largest document stamped, in bytes: pdfcpu holds a
	// PDF whole, at many times its size. 0 means 32 MiB.
	MaxSize int64
	// MaxPages is the most pages a stamped document may have; 0 means
	// DefaultMaxPages.
	MaxPages int
	// Parallel is how many stampings may run at once, those abandoned at
	// their time budget included; 0 means 2.
	Parallel int
	// Budget bounds each stamping.
	Budget Budget
}

// Stamper stamps PDFs with one installed font.
type Stamper struct {
	font     string // pdfcpu's name of the font
	chars    map[uint32]uint16
	maxSize  int64
	maxPages int
	budget   Budget
	// running holds a token for each stamping whose pdfcpu work has not
	// ended, whether its caller still waits for it or not.
	running chan struct{}
	// hold, when set, runs where pdfcpu's steps after reading begin:
	// tests hold a stamping there as a slow document would.
	hold func()
}

// mustHave are the characters a stamp needs besides the owner's name.
const mustHave = "0123456789ABCDEFGHJKMNPQRSTVWXYZ JobCde|/:"

// New installs the font and returns a Stamper that uses it.
func New(o Options) (*Stamper, error) {
	path, err := FindFont(o.FontFile)
	if err != nil {
		return nil, err
	}
	if o.Dir == "" {
		return nil, errors.New("stamp: no font directory")
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("stamp: font directory: %w", err)
	}
	rep, err := font.InstallTrueTypeFont(o.Dir, path)
	if err != nil {
		return nil, fmt.Errorf("stamp: install font %s: %w", path, err)
	}
	if len(rep.Fonts) != 1 {
		return nil, fmt.Errorf("stamp: %s holds %d fonts; name a single TrueType font", path, len(rep.Fonts))
	}
	name := rep.Fonts[0].PostScriptName
	// pdfcpu writes the installed font readable by all; the folder is
	// private, and so are the files printgate keeps in its data dir.
	if err := os.Chmod(filepath.Join(o.Dir, name+".gob"), 0o600); err != nil {
		return nil, fmt.Errorf("stamp: installed font: %w", err)
	}
	font.UserFontDir = o.Dir
	if err := font.ReloadUserFonts(); err != nil {
		return nil, fmt.Errorf("stamp: load font %s: %w", path, err)
	}
	ttf, ok, err := font.UserFont(name)
	if err != nil || !ok {
		return nil, fmt.Errorf("stamp: font %s did not load: %v", path, err)
	}
	for _, r := range mustHave {
		if _, ok := ttf.Chars[uint32(r)]; !ok {
			return nil, fmt.Errorf("stamp: font %s has no %q: it cannot print a stamp", path, r)
		}
	}
	s := &Stamper{font: name, chars: ttf.Chars, maxSize: cmp.Or(o.MaxSize, 32<<20), budget: o.Budget,
		maxPages: cmp.Or(o.MaxPages, DefaultMaxPages), running: make(chan struct{}, cmp.Or(o.Parallel, 2))}
	d := DefaultBudget
	s.budget.DecodedBytes = cmp.Or(s.budget.DecodedBytes, d.DecodedBytes)
	s.budget.ContentBytes = cmp.Or(s.budget.ContentBytes, d.ContentBytes)
	s.budget.Objects = cmp.Or(s.budget.Objects, d.Objects)
	s.budget.Time = cmp.Or(s.budget.Time, d.Time)
	return s, nil
}

// MaxSize is the largest document the Stamper stamps.
func (s *Stamper) MaxSize() int64 { return s.maxSize }

// MaxPages is the most pages of a document the Stamper stamps.
func (s *Stamper) MaxPages() int { return s.maxPages }

// Text is the line s prints, as the font prints it: a character the font
// lacks shows as "?", so that what is recorded is what is on the page.
func (s *Stamper) Text(st Stamp) string {
	return strings.Map(func(r rune) rune {
		if _, ok := s.chars[uint32(r)]; !ok {
			return '?'
		}
		return r
	}, st.Text())
}

// PDF returns the PDF of size bytes that in reads with st on every page,
// in memory. It refuses a document over the size or page limit or the
// budget, or that it cannot read, rather than return it unstamped.
//
// Reading the document heeds the time budget; pdfcpu's later steps
// (validation, the stamps, writing) take no context and cannot be
// stopped. They run in a goroutine of their own that PDF abandons at the
// budget: it then ends by itself, its work bounded by the page limit and
// the budget of objects and bytes, and holds one of Options.Parallel
// places until it does, so that abandoned work cannot pile up. in is not
// read once PDF has returned.
func (s *Stamper) PDF(ctx context.Context, in io.ReaderAt, size int64, st Stamp) ([]byte, error) {
	if err := st.Layout.Check(); err != nil {
		return nil, fmt.Errorf("stamp: %w", err)
	}
	if size > s.maxSize {
		return nil, fmt.Errorf("%w: %d bytes is over the %d-byte limit", ErrTooLarge, size, s.maxSize)
	}
	ctx, cancel := context.WithTimeout(ctx, s.budget.Time)
	defer cancel()
	if !s.acquire(ctx) {
		return nil, fmt.Errorf("%w: %d stampings still run", ErrBusy, cap(s.running))
	}
	pdf, err := s.read(ctx, in, size)
	if err != nil {
		<-s.running
		return nil, err
	}
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() { <-s.running }()
		if s.hold != nil {
			s.hold()
		}
		out, err := s.stamp(ctx, pdf, size, st)
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		return r.out, r.err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w: it took longer than %v", ErrOverBudget, s.budget.Time)
		}
		return nil, ctx.Err()
	}
}

// acquire takes a place among the running stampings, waiting for one
// while ctx lasts; it reports whether it got one.
func (s *Stamper) acquire(ctx context.Context) bool {
	select {
	case s.running <- struct{}{}:
		return true
	default:
	}
	select {
	case s.running <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// read parses the document within the budget and refuses one with too
// many pages before any of the work that grows with them.
func (s *Stamper) read(ctx context.Context, in io.ReaderAt, size int64) (pdf *model.Context, err error) {
	r := &budgetReader{ctx: ctx, rs: io.NewSectionReader(in, 0, size), size: size}
	// pdfcpu is a large parser of hostile input: a panic in it must cost
	// the print of one document, not the server.
	defer func() {
		if recover() != nil {
			pdf, err = nil, ErrUnreadable
		}
	}()
	// pdfcpu holds the objects it read; what would read in later, after
	// PDF may have returned, gets an error instead.
	defer func() { r.closed = true }()
	pdf, err = pdfcpu.ReadWithContext(ctx, r, s.config())
	switch {
	case r.exceeded || ctx.Err() != nil:
		return nil, ErrOverBudget
	case err != nil:
		return nil, reason(err)
	case len(pdf.XRefTable.Table) > s.budget.Objects:
		return nil, ErrOverBudget
	}
	// The page tree's own count, checked against the pages themselves by
	// validation (stamp).
	if err := pdf.EnsurePageCount(); err != nil {
		return nil, ErrUnreadable
	}
	if err := s.checkPages(pdf.PageCount); err != nil {
		return nil, err
	}
	return pdf, nil
}

func (s *Stamper) checkPages(n int) error {
	if n > s.maxPages {
		return fmt.Errorf("%w: %d pages is over the limit of %d", ErrTooManyPages, n, s.maxPages)
	}
	return nil
}

// stamp validates pdf, stamps every page and writes the result.
func (s *Stamper) stamp(ctx context.Context, pdf *model.Context, size int64, st Stamp) (out []byte, err error) {
	defer func() {
		if recover() != nil {
			out, err = nil, ErrUnreadable
		}
	}()
	err = api.ValidateContext(pdf)
	if err == nil {
		err = s.checkPages(pdf.PageCount)
	}
	if err == nil {
		err = api.OptimizeContext(pdf)
	}
	var wm *model.Watermark
	if err == nil {
		wm, err = pdfcpu.ParseTextWatermarkDetails(s.Text(st), st.Layout.desc(s.font), true, types.POINTS)
	}
	if err == nil {
		err = showAllLayers(pdf)
	}
	if err == nil {
		err = s.decodeContents(ctx, pdf)
	}
	if err == nil && ctx.Err() == nil {
		err = pdfcpu.AddWatermarks(pdf, nil, wm)
	}
	var buf bytes.Buffer
	if err == nil && ctx.Err() == nil {
		buf.Grow(int(size) + 64<<10)
		err = api.WriteContext(pdf, &buf)
	}
	switch {
	case ctx.Err() != nil:
		return nil, ErrOverBudget
	case err != nil:
		return nil, reason(err)
	}
	return buf.Bytes(), nil
}

// config is pdfcpu's configuration for stamping, built here rather than
// with model.NewDefaultConfiguration, which creates a configuration folder
// under the user's home. Its limits are page counting's.
func (s *Stamper) config() *model.Configuration {
	limits := model.DefaultResourceLimits()
	limits.MaxStreamBytes = 64 << 20
	limits.MaxDecodeBytes = s.budget.DecodedBytes
	limits.MaxObjectCount = s.budget.Objects
	limits.MaxObjectStreamCount = min(s.budget.Objects, 100_000)
	limits.MaxObjectStreamFirst = 1 << 20
	limits.MaxXRefEntries = s.budget.Objects
	limits.MaxRecursionDepth = 64
	return &model.Configuration{
		Version:           model.VersionStr,
		Reader15:          true,
		ValidationMode:    model.ValidationRelaxed,
		Eol:               types.EolLF,
		Offline:           true,
		Cmd:               model.ADDWATERMARKS,
		Limits:            limits,
		WriteObjectStream: true,
		WriteXRefStream:   true,
		TimestampFormat:   "2006-01-02 15:04",
	}
}

// reason turns a pdfcpu error into one of ours: its messages may quote the
// document, which must stay out of logs and the audit trail.
func reason(err error) error {
	switch {
	case errors.Is(err, ErrTooManyPages):
		return err
	case errors.Is(err, ErrOverBudget), errors.Is(err, filter.ErrDecodeLimitExceeded):
		return ErrOverBudget
	case errors.Is(err, pdfcpu.ErrWrongPassword), errors.Is(err, pdfcpu.ErrEncrypted):
		return ErrEncrypted
	}
	return ErrUnreadable
}

// budgetReader is the reader pdfcpu gets. pdfcpu buffers, for every object
// it parses, what it read to find the object's end, so that a few
// kilobytes of objects whose ends lie far away cost gigabytes; the reads
// are therefore budgeted as page counting budgets them (audit/pages): a
// well-formed document is read about once, plus one buffer per seek.
type budgetReader struct {
	ctx         context.Context
	rs          io.ReadSeeker
	size, pos   int64
	read, seeks int64
	exceeded    bool
	closed      bool
}

const (
	maxSeeks     = 150_000
	readsPerSeek = 4608
	readsBase    = 1 << 20
	readsPerByte = 2
)

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.closed {
		return 0, os.ErrClosed
	}
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	allowed := readsBase + readsPerByte*b.size + readsPerSeek*b.seeks
	if b.exceeded || b.read >= allowed {
		b.exceeded = true
		return 0, ErrOverBudget
	}
	p = p[:min(int64(len(p)), allowed-b.read)]
	n, err := b.rs.Read(p)
	b.read += int64(n)
	b.pos += int64(n)
	return n, err
}

func (b *budgetReader) Seek(offset int64, whence int) (int64, error) {
	if b.closed {
		return 0, os.ErrClosed
	}
	if b.exceeded || b.seeks >= maxSeeks {
		b.exceeded = true
		return 0, ErrOverBudget
	}
	b.seeks++
	switch whence {
	case io.SeekCurrent:
		offset = b.pos + offset
	case io.SeekEnd:
		offset = b.size + offset
	}
	if offset < 0 {
		return 0, ErrUnreadable
	}
	pos, err := b.rs.Seek(offset, io.SeekStart)
	if err == nil {
		b.pos = pos
	}
	return pos, err
}

// showAllLayers drops the document's optional content configuration.
// pdfcpu puts a stamp into the document's first layer when it has
// layers, and a document whose first layer is off, or not for printing,
// would hide the stamp; without the configuration every layer, the
// stamp's included, shows and prints.
func showAllLayers(pdf *model.Context) error {
	root, err := pdf.Catalog()
	if err != nil {
		return err
	}
	root.Delete("OCProperties")
	return nil
}

package convert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"
)

// TextLimits are the limits of a text extraction: lighter than a
// conversion's, as extraction runs while the client waits for its job to
// be accepted.
func TextLimits() Limits {
	return Limits{Memory: 512 << 20, CPU: 20 * time.Second, Wall: 30 * time.Second,
		Input: 256 << 20, Output: 64 << 20, Parallel: 2}
}

// TextExtractor reads the text of PDF and PostScript documents, for
// content inspection (audit/mynumber), in the sandbox conversions run in:
// poppler's pdftotext for PDF, Ghostscript's txtwrite device for
// PostScript. The document reaches it through an anonymous memory file
// and the text comes back through a pipe: neither touches a disk.
type TextExtractor struct {
	pdftotext, gs string
	// tesseract and sh, when set, let OCR recognise image-only pages.
	tesseract, sh string
	box           sandbox
	private       error
	slots         chan struct{}
}

// NewTextExtractor finds pdftotext (Debian's poppler-utils), Ghostscript,
// prlimit and bubblewrap, as New does for conversions.
func NewTextExtractor(limits Limits) (*TextExtractor, error) {
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		return nil, fmt.Errorf("convert: pdftotext: %w", err)
	}
	gs, box, private, err := findSandbox(limits, "text extraction")
	if err != nil {
		return nil, err
	}
	x := &TextExtractor{pdftotext: pdftotext, gs: gs, box: box, private: private,
		slots: make(chan struct{}, max(limits.Parallel, 1))}
	if sh, err := exec.LookPath("sh"); err == nil {
		x.tesseract, x.sh = findOCR(), sh
	}
	return x, nil
}

// Background returns an extractor that shares x's limits and places and
// runs its tools at the lowest processor priority (nice 19), for
// searches nobody waits for: they then take little from submissions on a
// busy machine. Without nice(1) it is x.
func (x *TextExtractor) Background() *TextExtractor {
	nice, err := exec.LookPath("nice")
	if x == nil || err != nil {
		return x
	}
	bg := *x
	bg.box.nice = nice
	return &bg
}

// PrivateFS returns nil when the extractor sees only what it needs of the
// file system, or why it sees all that printgate's user can read.
func (x *TextExtractor) PrivateFS() error { return x.private }

// Reads reports whether the extractor reads documents of format.
func (x *TextExtractor) Reads(format string) bool { return format == PDF || format == PostScript }

// pageBreak marks each page of PostScript text: txtwrite writes no page
// break of its own, so an EndPage procedure prints a form feed as each
// page is output (showpage, copypage), before txtwrite writes the page's
// text. BeginPage would also run when a device is set up
// (setpagedevice) and after the last page, making pages that do not
// print. The text of a PDF (pdftotext) ends each page with one.
const pageBreak = "<< /EndPage { exch pop dup 2 ne { (\\f) print flush } if 2 ne } bind >> setpagedevice"

// Text writes the text of doc, of format PDF or PostScript, to w, UTF-8
// with a form feed between pages: after each page for PDF, before each
// for PostScript. It stops at the extractor's limits with ErrLimit. The
// tools' own messages, which may quote the document, are not kept.
func (x *TextExtractor) Text(ctx context.Context, doc io.Reader, format string, w io.Writer) error {
	return x.Texts(ctx, doc, format, w, nil)
}

// Texts is Text that also writes to raw, for a PDF, the text in the order
// the pages draw it (pdftotext -raw), pages ended as in w. Text reads in
// the order a person would, in columns, and may part what stands on one
// line: digits spaced by ideographic spaces become a column each. Both
// readings run within the limits of one extraction: one memory copy of
// the document, one time limit and one output limit for the two.
func (x *TextExtractor) Texts(ctx context.Context, doc io.Reader, format string, w, raw io.Writer) error {
	var passes []pass
	switch format {
	case PDF:
		passes = []pass{{w: w, path: x.pdftotext, args: []string{"-q", "-enc", "UTF-8", "/dev/fd/3", "-"}}}
		if raw != nil {
			passes = append(passes, pass{w: raw, path: x.pdftotext, args: []string{"-q", "-raw", "-enc", "UTF-8", "/dev/fd/3", "-"}})
		}
	case PostScript:
		passes = []pass{{w: w, path: x.gs, args: []string{"-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=txtwrite",
			"-sOutputFile=-", "-c", pageBreak, "-f", "/dev/fd/3"}}}
	default:
		return fmt.Errorf("convert: cannot read the text of %s", format)
	}
	return x.run(ctx, doc, passes...)
}

// pass is one run of a tool over the document: path with args, its
// output to w. status maps exit statuses that mean something of their own
// to the error they mean.
type pass struct {
	w      io.Writer
	path   string
	args   []string
	status map[int]error
}

// run runs each pass in turn in the sandbox, doc on its descriptor 3,
// and copies what it writes to its writer, all within the extractor's
// limits: the time and output limits bound the passes together.
func (x *TextExtractor) run(ctx context.Context, doc io.Reader, passes ...pass) error {
	select {
	case x.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-x.slots }()
	in, err := memFile(doc, x.box.limits.Input)
	if err != nil {
		return err
	}
	defer in.Close()
	ctx, cancel := context.WithTimeout(ctx, x.box.limits.Wall)
	defer cancel()
	tmp := scratchTmp
	if x.box.bwrap == "" {
		scratch, err := scratchDir()
		if err != nil {
			return err
		}
		defer os.RemoveAll(scratch)
		tmp = scratch
	}
	left := x.box.limits.Output
	for _, p := range passes {
		// The child shares the file's offset: each pass reads from the
		// start.
		if _, err := in.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("convert: rewind the document: %w", err)
		}
		if err := x.runPass(ctx, in, tmp, p, &left); err != nil {
			return err
		}
	}
	return nil
}

// runPass runs p with in on descriptor 3 and tmp its scratch folder, and
// copies at most left bytes of its output, taking them from left.
func (x *TextExtractor) runPass(ctx context.Context, in *os.File, tmp string, p pass, left *int64) error {
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	cmd := x.box.command(pctx, in, p.path, p.args...)
	// One thread: Tesseract would otherwise take every processor.
	cmd.Env = append(cmd.Env, "TMPDIR="+tmp, "OMP_THREAD_LIMIT=1")
	out, err := cmd.StdoutPipe()
	var r *run
	if err == nil {
		r, err = start(cmd)
	}
	if err != nil {
		return fmt.Errorf("convert: start text extraction in its sandbox: %w", err)
	}
	n, cerr := io.Copy(p.w, io.LimitReader(out, *left+1))
	if *left -= n; *left < 0 {
		stop()
		_ = r.Wait()
		return fmt.Errorf("%w: more than %d bytes of text", ErrLimit, x.box.limits.Output)
	}
	werr := r.Wait()
	var ee *exec.ExitError
	if errors.As(werr, &ee) && ctx.Err() == nil && p.status[ee.ExitCode()] != nil {
		return p.status[ee.ExitCode()]
	}
	if werr != nil {
		return exitError(werr, ctx.Err(), x.box.bwrap != "")
	}
	if cerr != nil && !errors.Is(cerr, io.EOF) {
		return fmt.Errorf("convert: read text: %w", cerr)
	}
	return nil
}

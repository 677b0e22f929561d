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

// pageBreak is what ends each page of PostScript text: txtwrite writes
// none of its own, so a BeginPage procedure prints a form feed where each
// page begins. The text of a PDF (pdftotext) ends each page with one.
const pageBreak = "<< /BeginPage { pop (\\f) print flush } bind >> setpagedevice"

// Text writes the text of doc, of format PDF or PostScript, to w, UTF-8
// with a form feed between pages: after each page for PDF, before each
// for PostScript. It stops at the extractor's limits with ErrLimit. The
// tools' own messages, which may quote the document, are not kept.
func (x *TextExtractor) Text(ctx context.Context, doc io.Reader, format string, w io.Writer) error {
	var path string
	var args []string
	switch format {
	case PDF:
		path, args = x.pdftotext, []string{"-q", "-enc", "UTF-8", "/dev/fd/3", "-"}
	case PostScript:
		path, args = x.gs, []string{"-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=txtwrite",
			"-sOutputFile=-", "-c", pageBreak, "-f", "/dev/fd/3"}
	default:
		return fmt.Errorf("convert: cannot read the text of %s", format)
	}
	return x.run(ctx, doc, w, path, args...)
}

// run runs path with args in the sandbox, doc on its descriptor 3, and
// copies what it writes to w, within the extractor's limits.
func (x *TextExtractor) run(ctx context.Context, doc io.Reader, w io.Writer, path string, args ...string) error {
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
	ctx, cancel := context.WithTimeout(ctx, x.box.limits.Wall)
	defer cancel()
	tmp := scratchTmp
	if x.box.bwrap == "" {
		scratch, err := scratchDir()
		if err != nil {
			in.Close()
			return err
		}
		defer os.RemoveAll(scratch)
		tmp = scratch
	}
	cmd := x.box.command(ctx, in, path, args...)
	// One thread: Tesseract would otherwise take every processor.
	cmd.Env = append(cmd.Env, "TMPDIR="+tmp, "OMP_THREAD_LIMIT=1")
	out, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	in.Close() // the child has its own copy of the descriptor
	if err != nil {
		return fmt.Errorf("convert: start text extraction in its sandbox: %w", err)
	}
	n, cerr := io.Copy(w, io.LimitReader(out, x.box.limits.Output+1))
	if n > x.box.limits.Output {
		cancel()
		_ = cmd.Wait()
		return fmt.Errorf("%w: more than %d bytes of text", ErrLimit, x.box.limits.Output)
	}
	werr := cmd.Wait()
	if werr != nil {
		return exitError(werr, ctx.Err(), x.box.bwrap != "")
	}
	if cerr != nil && !errors.Is(cerr, io.EOF) {
		return fmt.Errorf("convert: read text: %w", cerr)
	}
	return nil
}

// Package convert turns a held document into a format its printer takes:
// most office printers without a PDF option take only PWG raster, PCL or
// PostScript. Ghostscript does the work, as a separate process in a
// sandbox this package owns (sandbox.go): with bubblewrap, a root of its
// own that holds only /usr and Ghostscript's read-only settings, an empty
// /tmp in memory, its own processes, no network and no capabilities;
// limits on memory, processor time, wall time and output. The document
// reaches it through an anonymous memory file and the result comes back
// through a pipe, so no plaintext is written to a disk. Where bubblewrap
// is missing or cannot run, the sandbox has its own network and user
// namespaces only, and Ghostscript's -dSAFER alone keeps a document from
// reading the files printgate's user can read (Converter.PrivateFS).
package convert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Formats a Converter writes, in the order a printer's is preferred when
// it takes several: PWG raster, which every IPP Everywhere printer takes,
// first, then the page description languages. Apple's URF is not among
// them: Debian's Ghostscript 10.00 writes it with 1-bit pages, which the
// format does not define.
const (
	PWGRaster  = "image/pwg-raster"
	PCLm       = "application/PCLm"
	PCL        = "application/vnd.hp-pcl"
	PCLXL      = "application/vnd.hp-pclxl"
	PostScript = "application/postscript"
	PDF        = "application/pdf"
)

var targets = []string{PWGRaster, PCLm, PCLXL, PCL, PostScript, PDF}

// sources are the formats Ghostscript reads.
var sources = []string{PDF, PostScript}

// Target is what to convert to.
type Target struct {
	// Format is one of the formats above.
	Format string
	// Resolution in dots per inch, for raster formats; 0 means 300.
	Resolution int
	// Color asks for colour output; false gives grey, whatever colours
	// the document uses.
	Color bool
	// Sides is the job's IPP sides: a two-sided one is written into PWG
	// raster's page headers (Duplex, and Tumble for the short edge).
	Sides string
	// Pages selects the pages to convert, as IPP page-ranges writes them
	// ("2-3,7"); empty converts every page.
	Pages string
	// Enforce keeps settings the document makes itself from reaching the
	// output: a PostScript document's setpagedevice (/Duplex false, a
	// colour model) would otherwise reach the page headers of raster and
	// PCL. Such a document is rewritten as PDF first, which keeps its
	// pages and none of its settings, and the PDF is converted.
	Enforce bool
}

// Reads reports whether a Converter reads documents of format.
func Reads(format string) bool { return slices.Contains(sources, format) }

// Choose returns the format to send a document of format from to a
// printer that takes accepts: from itself when the printer takes it,
// otherwise the first of the Converter's formats the printer takes. ok is
// false when neither works.
func Choose(from string, accepts []string) (format string, convert bool, ok bool) {
	if slices.Contains(accepts, from) {
		return from, false, true
	}
	if !slices.Contains(sources, from) {
		return "", false, false
	}
	for _, t := range targets {
		if t != from && slices.Contains(accepts, t) {
			return t, true, true
		}
	}
	return "", false, false
}

// Converter runs conversions. Its zero value is not usable: use New.
type Converter struct {
	gs  string
	box sandbox
	// private says why the sandbox has no private file system, or is nil.
	private error
	// slots bounds the conversions running at once: each may take its
	// limits' memory.
	slots chan struct{}
}

// New finds Ghostscript, prlimit (util-linux) and bubblewrap and returns
// a Converter whose processes run within limits. When bubblewrap is
// missing, or cannot run Ghostscript here (user namespaces turned off),
// the Converter still works, with the lesser sandbox: PrivateFS says so.
func New(limits Limits) (*Converter, error) {
	gs, box, private, err := findSandbox(limits, "the converter")
	if err != nil {
		return nil, err
	}
	return &Converter{gs: gs, box: box, private: private, slots: make(chan struct{}, max(limits.Parallel, 1))}, nil
}

// findSandbox finds Ghostscript and prlimit (util-linux), and bubblewrap
// when it can run Ghostscript here, and returns the sandbox that runs
// processes within limits, with why it has no private file system for
// user (nil when it has one).
func findSandbox(limits Limits, user string) (gs string, box sandbox, private, err error) {
	if gs, err = exec.LookPath("gs"); err != nil {
		return "", box, nil, fmt.Errorf("convert: Ghostscript: %w", err)
	}
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		return "", box, nil, fmt.Errorf("convert: prlimit: %w", err)
	}
	box = sandbox{limits: limits, prlimit: prlimit}
	bwrap, err := exec.LookPath("bwrap")
	if err == nil {
		private := box
		private.bwrap = bwrap
		if err = private.check(context.Background(), gs); err == nil {
			return gs, private, nil, nil
		}
	}
	return gs, box, fmt.Errorf("convert: no private file system for %s (install bubblewrap): %w", user, err), nil
}

// PrivateFS returns nil when the converter sees only what it needs of the
// file system, or why it sees all that printgate's user can read.
func (c *Converter) PrivateFS() error { return c.private }

// Convert starts converting doc, of format from, to t and returns the
// result as it is written. Reading it to the end reports whether the
// conversion succeeded; Close stops it if it is still running.
func (c *Converter) Convert(ctx context.Context, doc io.Reader, from string, t Target) (io.ReadCloser, error) {
	if !slices.Contains(sources, from) {
		return nil, fmt.Errorf("convert: cannot read %s", from)
	}
	device, err := gsDevice(t)
	if err != nil {
		return nil, err
	}
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var out *output
	if t.Enforce && from == PostScript && t.Format != PDF && t.Format != PostScript {
		out, err = c.startViaPDF(ctx, doc, t)
	} else {
		out, err = c.start(ctx, doc, device)
	}
	if err != nil {
		<-c.slots
		return nil, err
	}
	out.done = func() { <-c.slots }
	return out, nil
}

// startViaPDF converts PostScript doc to t in two runs: to PDF, in grey
// and with only t's pages when t says so, then from that PDF, in memory
// between the two, to t's format with the job's settings alone. pdfwrite
// and ps2write keep none of the document's device settings, so a target
// of PDF or PostScript needs no second run.
func (c *Converter) startViaPDF(ctx context.Context, doc io.Reader, t Target) (*output, error) {
	first, err := gsDevice(Target{Format: PDF, Color: t.Color, Pages: t.Pages})
	if err != nil {
		return nil, err
	}
	pdf, err := c.start(ctx, doc, first)
	if err != nil {
		return nil, err
	}
	// start reads the first run's output to its end before it returns.
	defer pdf.Close()
	t.Pages = ""
	second, err := gsDevice(t)
	if err != nil {
		return nil, err
	}
	return c.start(ctx, pdf, second)
}

// start starts Ghostscript on doc, with device's arguments.
func (c *Converter) start(ctx context.Context, doc io.Reader, device []string) (*output, error) {
	in, err := memFile(doc, c.box.limits.Input)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.box.limits.Wall)
	// PDFSTOPONERROR: a PDF Ghostscript can read nothing of fails rather
	// than printing blank; one it can repair (a wrong xref) still prints.
	// stdout=%stderr: what a PostScript document prints itself goes
	// nowhere, not into the output the printer receives (PJL or PCL
	// commands of its author's). Band lists stay in memory, and the
	// scratch files Ghostscript still makes go to memory: bubblewrap's
	// /tmp, or a private folder (scratchDir), gone when the conversion
	// ends.
	args := append([]string{"-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dNOINTERPOLATE", "-dPDFSTOPONERROR",
		"-sstdout=%stderr", "-sBandListStorage=memory", "-sOutputFile=-"}, device...)
	tmp, scratch := scratchTmp, ""
	if c.box.bwrap == "" {
		if scratch, err = scratchDir(); err != nil {
			in.Close()
			cancel()
			return nil, err
		}
		tmp = scratch
	}
	cmd := c.box.command(ctx, in, c.gs, append(args, "/dev/fd/3")...)
	cmd.Env = append(cmd.Env, "TMPDIR="+tmp)
	out, err := cmd.StdoutPipe()
	var r *run
	if err == nil {
		r, err = start(cmd)
	}
	in.Close() // the child has its own copy of the descriptor
	if err != nil {
		cancel()
		os.RemoveAll(scratch)
		return nil, fmt.Errorf("convert: start the converter in its sandbox: %w", err)
	}
	return &output{run: r, r: out, ctx: ctx, cancel: cancel, limit: c.box.limits.Output, scratch: scratch,
		wrapped: c.box.bwrap != ""}, nil
}

// gsDevice returns Ghostscript's arguments for t.
func gsDevice(t Target) ([]string, error) {
	res := t.Resolution
	if res == 0 {
		res = 300
	}
	if res < 72 || res > 1200 {
		return nil, fmt.Errorf("convert: resolution %d dpi is out of range", res)
	}
	var sel []string
	if t.Pages != "" {
		if !pageList.MatchString(t.Pages) {
			return nil, fmt.Errorf("convert: %q is not a list of pages such as 2-3,7", t.Pages)
		}
		sel = []string{"-sPageList=" + t.Pages}
	}
	device, err := deviceArgs(t, res)
	return append(device, sel...), err
}

// pageList is IPP page-ranges as Ghostscript's -sPageList takes them.
var pageList = regexp.MustCompile(`^[1-9][0-9]{0,9}(-[1-9][0-9]{0,9})?(,[1-9][0-9]{0,9}(-[1-9][0-9]{0,9})?)*$`)

// deviceArgs returns the arguments that choose Ghostscript's device for
// t, at res dots per inch.
func deviceArgs(t Target, res int) ([]string, error) {
	r := "-r" + strconv.Itoa(res)
	// Grey for the page description languages that keep colour as
	// colour: any colour the document uses becomes grey.
	grey := []string{"-sColorConversionStrategy=Gray", "-dProcessColorModel=/DeviceGray"}
	if t.Color {
		grey = nil
	}
	switch t.Format {
	case PWGRaster:
		// cupsColorSpace 19 is sRGB, 18 sGray (CUPS raster's numbering).
		space := "18"
		if t.Color {
			space = "19"
		}
		args := []string{"-sDEVICE=pwgraster", r, "-dcupsBitsPerColor=8", "-dcupsColorSpace=" + space}
		if strings.HasPrefix(t.Sides, "two-sided-") {
			args = append(args, "-dDuplex=true", "-dTumble="+strconv.FormatBool(t.Sides == "two-sided-short-edge"))
		}
		return args, nil
	case PCLm:
		if t.Color {
			return []string{"-sDEVICE=pclm", r}, nil
		}
		return []string{"-sDEVICE=pclm8", r}, nil
	case PCLXL:
		if t.Color {
			return []string{"-sDEVICE=pxlcolor", r}, nil
		}
		return []string{"-sDEVICE=pxlmono", r}, nil
	case PCL:
		return []string{"-sDEVICE=ljet4", "-r" + strconv.Itoa(min(res, 600))}, nil
	case PostScript:
		return append([]string{"-sDEVICE=ps2write"}, grey...), nil
	case PDF:
		return append([]string{"-sDEVICE=pdfwrite"}, grey...), nil
	}
	return nil, fmt.Errorf("convert: cannot write %s", t.Format)
}

// output is a running conversion's result.
type output struct {
	run    *run
	r      io.Reader
	ctx    context.Context
	cancel context.CancelFunc
	limit  int64
	n      int64
	// scratch is the converter's folder for temporary files, "" when
	// it has a /tmp of its own.
	scratch string
	// wrapped says the converter runs under bubblewrap.
	wrapped bool
	// done gives the converter's slot back.
	done func()

	once sync.Once
	err  error // how the process ended, once it has
}

func (o *output) Read(p []byte) (int, error) {
	n, err := o.r.Read(p)
	o.n += int64(n)
	if o.n > o.limit {
		o.stop()
		return n, fmt.Errorf("%w: more than %d bytes of output", ErrLimit, o.limit)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
		if werr := o.wait(); werr != nil {
			return n, werr
		}
		if o.n == 0 {
			// Ghostscript ends well on a document it could make nothing
			// of; a printer would get an empty job.
			return n, errors.New("convert: the converter wrote nothing: the document has no page it could read")
		}
		return n, io.EOF
	}
	return n, err
}

// Close stops the converter if it still runs and releases what it held.
func (o *output) Close() error {
	o.stop()
	return nil
}

func (o *output) stop() {
	o.cancel()
	_ = o.wait()
}

func (o *output) wait() error {
	o.once.Do(func() {
		err := o.run.Wait()
		if err != nil {
			o.err = exitError(err, o.ctx.Err(), o.wrapped)
		}
		o.cancel()
		// Killed at a limit, the converter leaves its files behind.
		if o.scratch != "" {
			os.RemoveAll(o.scratch)
		}
		if o.done != nil {
			o.done()
		}
	})
	return o.err
}

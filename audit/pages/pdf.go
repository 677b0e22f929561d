package pages

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Limits for pdfcpu, tighter than its defaults: a print server parses
// documents from anyone on the network.
const (
	pdfMaxStreamBytes = 64 << 20 // one raw stream (a large scanned page fits)
	pdfMaxDecodeBytes = 64 << 20 // one decoded object or xref stream
	pdfMaxObjects     = 1_000_000
	pdfMaxDepth       = 64 // nesting of objects and of the page tree
)

// pdfcpu keeps, for every object it parses, a copy of the bytes it buffered
// to find the object's end (at least 1 KiB), and it buffers until it sees
// "endobj", up to 64 MiB. A few kilobytes of objects whose "endobj" lies far
// away thus cost gigabytes. The reads pdfcpu makes are therefore budgeted:
// a well-formed document is read about once, plus 4 KiB (one bufio buffer)
// per object, so the budget allows twice the size plus 4.5 KiB per seek, and
// at most pdfMaxSeeks seeks (an object costs about one and a half).
const (
	pdfMaxSeeks       = 150_000
	pdfReadsPerSeek   = 4608
	pdfReadsBase      = 1 << 20
	pdfReadsPerByte   = 2
	pdfBudgetExceeded = "pdf: the document needs too much memory to parse"
)

// errPDFPanic is the reason given when pdfcpu panics on a document.
var errPDFPanic = errors.New("pdf: the parser failed on the document")

// countPDF parses the PDF with pdfcpu and counts the leaves of its page tree.
func (c Counter) countPDF(ctx context.Context, src *source) (pages int, err error) {
	size, err := src.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	limit := c.MaxPDFSize
	if limit == 0 {
		limit = DefaultMaxPDFSize
	}
	if limit > 0 && size > limit {
		return 0, fmt.Errorf("pdf: %d bytes is over the %d-byte limit for counting PDF pages", size, limit)
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	budget := &pdfBudget{rs: src, size: size}

	// pdfcpu is a large parser of hostile input: a panic in it must cost
	// the count of one document, not the server.
	defer func() {
		if recover() != nil {
			pages, err = 0, errPDFPanic
		}
	}()
	pdf, err := pdfcpu.ReadWithContext(ctx, budget, pdfConfig())
	if budget.exceeded {
		return 0, errPDFBudget
	}
	if err != nil {
		return 0, pdfReason(err)
	}
	return countPageTree(ctx, pdf.XRefTable)
}

// pdfBudget is the reader pdfcpu gets: it fails once pdfcpu has read or
// seeked more than a well-formed document of the size needs. It also
// refuses seeks to before the start, which pdfcpu asks for on documents
// shorter than the tail it looks at, so that they do not count as failures
// of the caller's reader.
type pdfBudget struct {
	rs       io.ReadSeeker
	size     int64
	pos      int64
	read     int64
	seeks    int64
	exceeded bool
}

var (
	errPDFBudget = errors.New(pdfBudgetExceeded)
	errPDFSeek   = errors.New("pdf: invalid seek")
)

func (b *pdfBudget) Read(p []byte) (int, error) {
	allowed := pdfReadsBase + pdfReadsPerByte*b.size + pdfReadsPerSeek*b.seeks
	if b.exceeded || b.read >= allowed {
		b.exceeded = true
		return 0, errPDFBudget
	}
	p = p[:min(int64(len(p)), allowed-b.read)]
	n, err := b.rs.Read(p)
	b.read += int64(n)
	b.pos += int64(n)
	return n, err
}

func (b *pdfBudget) Seek(offset int64, whence int) (int64, error) {
	if b.exceeded || b.seeks >= pdfMaxSeeks {
		b.exceeded = true
		return 0, errPDFBudget
	}
	b.seeks++
	switch whence {
	case io.SeekCurrent:
		offset, whence = b.pos+offset, io.SeekStart
	case io.SeekEnd:
		offset, whence = b.size+offset, io.SeekStart
	}
	if whence != io.SeekStart || offset < 0 {
		return 0, errPDFSeek
	}
	pos, err := b.rs.Seek(offset, io.SeekStart)
	if err == nil {
		b.pos = pos
	}
	return pos, err
}

// pdfConfig returns the pdfcpu configuration for counting. It is built here
// rather than with model.NewDefaultConfiguration, which creates a
// configuration folder under the user's home unless a process-wide switch is
// flipped.
func pdfConfig() *model.Configuration {
	limits := model.DefaultResourceLimits()
	limits.MaxStreamBytes = pdfMaxStreamBytes
	limits.MaxDecodeBytes = pdfMaxDecodeBytes
	limits.MaxObjectCount = pdfMaxObjects
	limits.MaxObjectStreamCount = pdfMaxObjects
	limits.MaxXRefEntries = pdfMaxObjects
	limits.MaxRecursionDepth = pdfMaxDepth
	return &model.Configuration{
		Version:        model.VersionStr,
		Reader15:       true, // object and xref streams (PDF 1.5 and later)
		ValidationMode: model.ValidationRelaxed,
		Eol:            types.EolLF,
		Offline:        true,
		Cmd:            model.VALIDATE,
		Limits:         limits,
	}
}

// pdfReason turns a pdfcpu error into a Reason. pdfcpu's messages may quote
// the document, which must stay out of the audit record, so only the kind
// of failure is kept.
func pdfReason(err error) error {
	switch {
	case errors.Is(err, pdfcpu.ErrWrongPassword), errors.Is(err, pdfcpu.ErrEncrypted):
		return errors.New("pdf: the document is encrypted with a password")
	case errors.Is(err, pdfcpu.ErrEmptyInput):
		return errors.New("pdf: the document is empty")
	}
	return errors.New("pdf: invalid or unsupported document structure")
}

// countPageTree counts the pages (leaves) of the document's page tree. It
// walks the tree rather than trusting the root's /Count, which a document
// may state falsely, and refuses trees with cycles or shared nodes.
func countPageTree(ctx context.Context, xt *model.XRefTable) (int, error) {
	root, err := xt.Pages()
	if err != nil || root == nil {
		return 0, errors.New("pdf: no page tree")
	}

	type node struct {
		obj   types.Object
		depth int
	}
	stack := []node{{obj: *root}}
	seen := map[int]bool{}
	pages := 0
	for steps := 0; len(stack) > 0; steps++ {
		if steps%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n.depth > pdfMaxDepth {
			return 0, errors.New("pdf: page tree too deep")
		}
		if ref, ok := n.obj.(types.IndirectRef); ok {
			nr := ref.ObjectNumber.Value()
			if seen[nr] {
				return 0, errors.New("pdf: page tree has a cycle or a shared node")
			}
			seen[nr] = true
		}
		d, err := xt.DereferenceDict(n.obj)
		if err != nil || d == nil {
			return 0, errors.New("pdf: page tree node is not a dictionary")
		}
		kidsObj, hasKids := d.Find("Kids")
		typ := d.Type()
		if !hasKids && (typ == nil || *typ != "Pages") {
			pages++
			continue
		}
		if !hasKids {
			continue // an empty intermediate node
		}
		kids, err := xt.DereferenceArray(kidsObj)
		if err != nil {
			return 0, errors.New("pdf: page tree node has invalid /Kids")
		}
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, node{obj: kids[i], depth: n.depth + 1})
		}
	}
	return pages, nil
}

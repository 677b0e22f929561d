package pages

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pdfcpu/pdfcpu/pkg/filter"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Limits for pdfcpu, tighter than its defaults: a print server parses
// documents from anyone on the network. The decoded bytes and the objects
// come from the Budget.
const (
	pdfMaxStreamBytes = 64 << 20 // one raw stream (a large scanned page fits)
	pdfMaxDepth       = 64       // nesting of objects and of the page tree
	// An object stream's index (its prolog) is decoded while pdfcpu reads
	// the document, before the budget can be charged: keep it small. Real
	// object streams hold some hundreds of objects.
	pdfMaxStreamObjects = 100_000
	pdfMaxPrologBytes   = 1 << 20
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
func (c Counter) countPDF(ctx context.Context, src *source, b Budget) (pages int, err error) {
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
	budget := &pdfBudget{ctx: ctx, rs: src, size: size}

	// pdfcpu is a large parser of hostile input: a panic in it must cost
	// the count of one document, not the server.
	defer func() {
		if recover() != nil {
			pages, err = 0, errPDFPanic
		}
	}()
	pdf, err := pdfcpu.ReadWithContext(ctx, budget, pdfConfig(b))
	if budget.exceeded {
		return 0, errPDFBudget
	}
	if err != nil {
		return 0, pdfReason(err, b)
	}
	if n := len(pdf.XRefTable.Table); n > b.Objects {
		return 0, fmt.Errorf("pdf: %d objects is over the budget of %d", n, b.Objects)
	}
	return countPageTree(ctx, pdf.XRefTable, b)
}

// pdfBudget is the reader pdfcpu gets: it fails once pdfcpu has read or
// seeked more than a well-formed document of the size needs. It also
// refuses seeks to before the start, which pdfcpu asks for on documents
// shorter than the tail it looks at, so that they do not count as failures
// of the caller's reader.
type pdfBudget struct {
	ctx      context.Context // a done context fails reads at once
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
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
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
func pdfConfig(b Budget) *model.Configuration {
	limits := model.DefaultResourceLimits()
	limits.MaxStreamBytes = pdfMaxStreamBytes
	// Per stream; the total is charged by decodeMeter.
	limits.MaxDecodeBytes = b.DecodedBytes
	limits.MaxObjectCount = b.Objects
	limits.MaxObjectStreamCount = min(b.Objects, pdfMaxStreamObjects)
	limits.MaxObjectStreamFirst = pdfMaxPrologBytes
	limits.MaxXRefEntries = b.Objects
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
func pdfReason(err error, b Budget) error {
	switch {
	case errors.Is(err, filter.ErrDecodeLimitExceeded):
		return overDecodeBudget(b)
	case errors.Is(err, pdfcpu.ErrWrongPassword), errors.Is(err, pdfcpu.ErrEncrypted):
		return errors.New("pdf: the document is encrypted with a password")
	case errors.Is(err, pdfcpu.ErrEmptyInput):
		return errors.New("pdf: the document is empty")
	}
	return errors.New("pdf: invalid or unsupported document structure")
}

// overDecodeBudget is the reason of a document whose streams decompress to
// more than the budget.
func overDecodeBudget(b Budget) error {
	return fmt.Errorf("pdf: the document decompresses to more than the %d MiB budget", b.DecodedBytes>>20)
}

// decodeMeter charges the bytes a count decompresses against the budget.
type decodeMeter struct {
	left    int64
	charged map[int]bool // object streams already charged, by number
}

func newDecodeMeter(b Budget) *decodeMeter {
	return &decodeMeter{left: b.DecodedBytes, charged: map[int]bool{}}
}

// charge charges the object stream holding the object that o refers to,
// once per stream, before pdfcpu decompresses and keeps it: it measures
// what the stream decodes to, stopping at what is left of the budget.
// Decoding twice costs time, but only within the budget.
func (m *decodeMeter) charge(xt *model.XRefTable, o types.Object, b Budget) error {
	ref, ok := o.(types.IndirectRef)
	if !ok {
		return nil
	}
	entry, ok := xt.FindTableEntryForIndRef(&ref)
	if !ok || entry.ObjectStream == nil || m.charged[*entry.ObjectStream] {
		return nil
	}
	nr := *entry.ObjectStream
	m.charged[nr] = true
	stm := xt.Table[nr]
	if stm == nil {
		return nil
	}
	osd, ok := stm.Object.(types.ObjectStreamDict)
	if !ok {
		return nil // pdfcpu reports the broken reference when it dereferences
	}
	n, err := decodedSize(osd.StreamDict, m.left)
	if errors.Is(err, filter.ErrDecodeLimitExceeded) || n > m.left {
		m.left = 0
		return overDecodeBudget(b)
	}
	// A stream that fails to decode is charged what it gave: pdfcpu
	// decides when it dereferences whether the document is usable.
	m.left -= n
	return nil
}

// decodedSize returns how many bytes sd decodes to, failing with
// filter.ErrDecodeLimitExceeded past limit. Flate, the filter of nearly
// every object stream, is inflated into nothing, so that measuring costs no
// memory (a predictor only shortens the output, so the inflated size is an
// upper bound); other filters are decoded by pdfcpu into a copy.
func decodedSize(sd types.StreamDict, limit int64) (int64, error) {
	if len(sd.FilterPipeline) == 1 && sd.FilterPipeline[0].Name == filter.Flate {
		zr, err := zlib.NewReader(bytes.NewReader(sd.Raw))
		if err != nil {
			return 0, err
		}
		n, err := io.CopyN(io.Discard, zr, limit+1)
		if n > limit {
			return n, filter.ErrDecodeLimitExceeded
		}
		if errors.Is(err, io.EOF) {
			err = nil
		}
		return n, err
	}
	sd.Content = nil
	err := sd.DecodeWithLimit(limit)
	return int64(len(sd.Content)), err
}

// countPageTree counts the pages (leaves) of the document's page tree. It
// walks the tree rather than trusting the root's /Count, which a document
// may state falsely, and refuses trees with cycles or shared nodes.
func countPageTree(ctx context.Context, xt *model.XRefTable, b Budget) (int, error) {
	meter := newDecodeMeter(b)
	if xt.Root == nil {
		return 0, errors.New("pdf: no page tree")
	}
	if err := meter.charge(xt, *xt.Root, b); err != nil {
		return 0, err
	}
	catalog, err := xt.DereferenceDict(*xt.Root)
	if err != nil || catalog == nil {
		return 0, errors.New("pdf: no page tree")
	}
	root := catalog.IndirectRefEntry("Pages")
	if root == nil {
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
		if steps > b.Objects {
			return 0, fmt.Errorf("pdf: the page tree has more than the budget of %d objects", b.Objects)
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
		if err := meter.charge(xt, n.obj, b); err != nil {
			return 0, err
		}
		d, err := xt.DereferenceDict(n.obj)
		if err != nil || d == nil {
			return 0, errors.New("pdf: page tree node is not a dictionary")
		}
		kidsObj, hasKids := d.Find("Kids")
		typ := d.Type()
		switch {
		case typ != nil && *typ == "Page":
			// A page is a page, whatever /Kids it also has.
			pages++
			continue
		case !hasKids && typ != nil && *typ == "Pages":
			if _, ok := d.Find("Contents"); ok {
				return 0, errPagesWithContents
			}
			continue // an empty intermediate node
		case !hasKids:
			pages++ // a leaf without /Type
			continue
		}
		if err := meter.charge(xt, kidsObj, b); err != nil {
			return 0, err
		}
		kids, err := xt.DereferenceArray(kidsObj)
		if err != nil {
			return 0, errors.New("pdf: page tree node has invalid /Kids")
		}
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, node{obj: kids[i], depth: n.depth + 1})
		}
	}
	if pages == 0 {
		return 0, errNoPages
	}
	return pages, nil
}

package stamp

import (
	"context"
	"errors"
	"fmt"

	"github.com/pdfcpu/pdfcpu/pkg/filter"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// decodeContents decompresses the content that pdfcpu's stamping will
// decode, each page's first content stream, within the budget, first.
// pdfcpu decodes it with a limit of its own, 512 MiB a stream, not the one
// it read the document with, and cannot be stopped once begun: a page
// whose content inflates from a few kilobytes to hundreds of megabytes
// held that memory and a stamping's place long after Budget.Time. A
// stream decoded here keeps its content in the document's table, and
// pdfcpu's decoding then finds it done.
func (s *Stamper) decodeContents(ctx context.Context, pdf *model.Context) error {
	left := s.budget.ContentBytes
	for p := 1; p <= pdf.PageCount; p++ {
		if ctx.Err() != nil {
			return ErrOverBudget
		}
		d, _, _, err := pdf.PageDict(p, false)
		if err != nil || d == nil {
			return ErrUnreadable
		}
		if err := s.decodeFirstContent(pdf, d, &left); err != nil {
			return err
		}
	}
	return nil
}

// decodeFirstContent decodes page d's first content stream, found as
// pdfcpu's stamping finds it (updatePageContentsForWM), charging left.
// What it cannot find is left for pdfcpu to refuse.
func (s *Stamper) decodeFirstContent(pdf *model.Context, d types.Dict, left *int64) error {
	o, _ := d.Find("Contents")
	entry := func(o types.Object) *model.XRefTableEntry {
		ir, ok := o.(types.IndirectRef)
		if !ok {
			return nil
		}
		e, found := pdf.FindTableEntry(ir.ObjectNumber.Value(), ir.GenerationNumber.Value())
		if !found || e == nil || e.Object == nil {
			return nil
		}
		return e
	}
	e := entry(o)
	if e != nil {
		o = e.Object
	}
	if a, ok := o.(types.Array); ok && len(a) > 0 {
		if e = entry(a[0]); e == nil {
			return nil
		}
		o = e.Object
	}
	sd, ok := o.(types.StreamDict)
	if !ok {
		return nil
	}
	if err := s.decodeStream(&sd, left); err != nil {
		return err
	}
	if e != nil {
		e.Object = sd
	} else {
		d["Contents"] = sd
	}
	return nil
}

// decodeStream decodes sd unless it was already, within the budget of one
// stream and what is left of the document's.
func (s *Stamper) decodeStream(sd *types.StreamDict, left *int64) error {
	if sd.Content != nil {
		return nil // a stream shared by pages, counted once
	}
	limit := min(s.budget.DecodedBytes, *left)
	if limit <= 0 {
		return fmt.Errorf("%w: the pages' contents decompress to more than %d bytes", ErrOverBudget, s.budget.ContentBytes)
	}
	err := sd.DecodeWithLimit(limit)
	switch {
	case errors.Is(err, filter.ErrDecodeLimitExceeded):
		return fmt.Errorf("%w: a page's content decompresses to more than %d bytes", ErrOverBudget, limit)
	case err != nil:
		return ErrUnreadable
	}
	*left -= int64(len(sd.Content))
	return nil
}

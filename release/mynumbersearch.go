package release

import (
	"context"
	"io"
	"slices"

	"github.com/printgate/printgate/audit/mynumber"
	"github.com/printgate/printgate/release/convert"
)

// readText reads the text of doc, of format, with x and scans it for
// individual numbers. A PDF is read in both of pdftotext's orders
// (convert.TextExtractor.Texts): its reading order parts the columns of a
// line, and may part a number spaced out on it; the order the page draws
// it keeps them together. A number found in either counts. The returned
// counter has the characters of each page of the first reading, the one
// whose pages are compared and read by OCR.
func readText(ctx context.Context, x *convert.TextExtractor, format string, doc io.Reader) (mynumber.Finding, *textCounter, error) {
	sc, raw := mynumber.Scanner{FirstPage: 1}, mynumber.Scanner{FirstPage: 1}
	if format == convert.PostScript {
		sc.FirstPage = 0 // txtwrite's pages begin with a form feed
	}
	chars := &textCounter{leading: format == convert.PostScript}
	var rawText io.Writer
	if format == convert.PDF {
		rawText = &raw
	}
	err := x.Texts(ctx, doc, format, io.MultiWriter(&sc, chars), rawText)
	return either(sc.Finding(), raw.Finding()), chars, err
}

// either is what two readings of one text found: the same number is
// found by both, so the count is the larger, on the pages of either.
func either(a, b mynumber.Finding) mynumber.Finding {
	f := mynumber.Finding{Count: max(a.Count, b.Count)}
	if f.Count == 0 {
		return f
	}
	pages := append(slices.Clone(a.Pages), b.Pages...)
	slices.Sort(pages)
	f.Pages = slices.Compact(pages)
	if len(f.Pages) > mynumber.MaxPages {
		f.Pages = f.Pages[:mynumber.MaxPages]
	}
	return f
}

// pageView returns why the pages the text extraction of j's document
// read (chars) may not be all the pages that print, or "" when they are.
// A search trusts the extractor's view of the document: a PDF whose page
// tree poppler reads otherwise than printgate and Ghostscript (a forged
// /Count) would hide its other pages from it, and a PostScript program
// can keep its pages from being marked.
func (s *Service) pageView(ctx context.Context, j *Job, doc io.Reader, chars *textCounter) string {
	seen := chars.pages()
	switch j.Format {
	case convert.PDF:
		n, known := s.documentPages(ctx, j, doc)
		if !known {
			return "pages-unknown"
		}
		if seen != n {
			return "page-mismatch"
		}
	case convert.PostScript:
		if seen == 0 && !chars.empty() {
			// Text, but no page was marked as printed (pageBreak): the
			// document changed what marks them.
			return "page-mismatch"
		}
		if n, known := s.documentPages(ctx, j, doc); known && seen < n {
			return "page-mismatch"
		}
	}
	return ""
}

// documentPages returns the pages of j's whole document as printgate
// counted them (audit/pages) and whether they are known. j.Pages holds
// only those page-ranges print: a job with page-ranges has its document,
// doc, counted again (from its start) as its submission counted it, in
// one pass, checked by pages.Count where that could not check it.
func (s *Service) documentPages(ctx context.Context, j *Job, doc io.Reader) (int, bool) {
	if j.PageRanges == "" {
		return j.Pages, j.PagesReason == ""
	}
	rs, ok := doc.(io.ReadSeeker)
	if !ok {
		return 0, false
	}
	done, err := s.countSlot(ctx)
	if err != nil {
		return 0, false
	}
	defer done()
	st := s.pages.Stream(ctx, j.Format)
	defer st.Abort()
	_, err = rs.Seek(0, io.SeekStart)
	if err == nil {
		_, err = io.Copy(st, rs)
	}
	if err != nil {
		return 0, false
	}
	res, err := st.Close()
	if err == nil && res.Unverified {
		if _, err = rs.Seek(0, io.SeekStart); err == nil {
			res, err = s.pages.Count(ctx, j.Format, rs)
		}
	}
	return res.Pages, err == nil && res.Known
}

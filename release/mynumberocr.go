package release

import (
	"context"
	"errors"
	"io"

	"github.com/printgate/printgate/audit/mynumber"
	"github.com/printgate/printgate/release/convert"
)

// thinPage is the fewest characters of text a page needs to be searched
// by its text alone: a page without any is a scan, and is read by OCR.
// (A page of a PDF with some text and a number drawn as an image is not:
// README, "My Number", says what the search cannot see.)
const thinPage = 1

// textCounter counts, page by page (pdftotext ends each with a form
// feed), the bytes written to it that are not spaces or control
// characters.
type textCounter struct {
	// leading says each page begins with a form feed (Ghostscript's
	// txtwrite) rather than ends with one (pdftotext).
	leading bool
	started bool  // a leading form feed has begun the first page
	counts  []int // the characters of each page ended so far
	cur     int
	feeds   int // form feeds: one for each page
}

func (c *textCounter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\f' {
			c.feeds++
		}
		switch {
		case b == '\f' && c.leading && !c.started:
			c.started = true // the first page begins
		case b == '\f':
			c.counts = append(c.counts, c.cur)
			c.cur = 0
		case b > ' ':
			c.cur++
		}
	}
	return len(p), nil
}

// pageCounts are the characters of each page, the last one included
// when text followed the last form feed.
func (c *textCounter) pageCounts() []int {
	if c.cur > 0 || len(c.counts) == 0 || c.leading {
		return append(c.counts[:len(c.counts):len(c.counts)], c.cur)
	}
	return c.counts
}

// thinPages are the pages (from 1) with next to no text (thinPage).
func (c *textCounter) thinPages() []int {
	var out []int
	for i, n := range c.pageCounts() {
		if n < thinPage {
			out = append(out, i+1)
		}
	}
	return out
}

// pages is how many pages the text had: one form feed each, however
// much text they hold.
func (c *textCounter) pages() int { return c.feeds }

// empty reports whether the document had no text at all.
func (c *textCounter) empty() bool {
	for _, n := range c.pageCounts() {
		if n > 0 {
			return false
		}
	}
	return true
}

// recognise reads by OCR (convert.TextExtractor.OCRPages) the pages of
// j's document that have next to no text of their own, and returns what
// it found. doc is read again from its start. A PDF's thin pages are
// read wherever they are. A PostScript document's pages are not told
// apart reliably (the document can change what marks them), so one is
// read only when it has no text at all, all its pages, and only when its
// own count of its pages (DSC), its extraction's and Ghostscript's
// rendering all say OCR reads every one; one with text on some pages and
// none on others cannot be searched. A document OCR cannot read, or
// whose thin pages are more than OCR reads, is uncheckable: treated as
// holding a number.
func (s *Service) recognise(ctx context.Context, x *convert.TextExtractor, q Queue, j *Job, doc io.Reader, chars *textCounter) mynumber.Finding {
	pages := chars.thinPages()
	if j.Format == convert.PostScript {
		n, known := s.documentPages(ctx, j, doc)
		if !chars.empty() || !known || max(n, chars.pages()) > convert.OCRPages {
			uncheckable(j, "ocr-pages")
			return mynumber.Finding{}
		}
		pages = nil // all of them (OCR)
	}
	if len(pages) > convert.OCRPages {
		uncheckable(j, "ocr-pages")
		return mynumber.Finding{}
	}
	seeker, ok := doc.(io.Seeker)
	if !x.ReadsImages() || !ok {
		uncheckable(j, "no-ocr")
		return mynumber.Finding{}
	}
	sc := mynumber.Scanner{FirstPage: 1}
	var read textCounter
	_, err := seeker.Seek(0, io.SeekStart)
	if err == nil {
		err = x.OCRPages(ctx, doc, j.Format, pages, io.MultiWriter(&sc, &read))
	}
	f := sc.Finding()
	if f.Count > 0 {
		for i, p := range f.Pages {
			if p >= 1 && p <= len(pages) {
				f.Pages[i] = pages[p-1] // the OCR's page index, as the document's page
			}
		}
		return f
	}
	switch {
	case errors.Is(context.Cause(ctx), errGaveWay):
		// The search is thrown away and run again.
	case errors.Is(err, convert.ErrTooManyPages):
		uncheckable(j, "ocr-pages")
	case err != nil:
		// The error names a limit or an exit status, never the text.
		s.log.Warn("release: recognise a scanned document's text", "queue", q.Name, "err", err)
		uncheckable(j, "failed")
	case pages != nil && read.pages() != len(pages):
		// Ghostscript rendered other pages than pdftotext read.
		uncheckable(j, "page-mismatch")
	}
	return mynumber.Finding{}
}

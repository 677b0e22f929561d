package release

import (
	"context"
	"io"

	"github.com/printgate/printgate/audit/mynumber"
	"github.com/printgate/printgate/release/convert"
)

// textCounter counts the bytes written to it that are not spaces or
// control characters.
type textCounter int

func (c *textCounter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b > ' ' {
			*c++
		}
	}
	return len(p), nil
}

// recognise reads the first pages of j's document, a scan without any
// text of its own (not one character but spaces), by OCR (convert.TextExtractor.OCR) where the extractor can,
// and returns what it found. doc is read again from its start. A
// failure is recorded on j, like a failed extraction.
func (s *Service) recognise(ctx context.Context, x *convert.TextExtractor, q Queue, j *Job, doc io.Reader) mynumber.Finding {
	seeker, ok := doc.(io.Seeker)
	if !x.ReadsImages() || !ok {
		return mynumber.Finding{}
	}
	sc := mynumber.Scanner{FirstPage: 1}
	_, err := seeker.Seek(0, io.SeekStart)
	if err == nil {
		err = x.OCR(ctx, doc, j.Format, &sc)
	}
	if err != nil {
		// The error names a limit or an exit status, never the text.
		s.log.Warn("release: recognise a scanned document's text", "queue", q.Name, "err", err)
		j.sensitiveCheck = "failed"
		return mynumber.Finding{}
	}
	return sc.Finding()
}

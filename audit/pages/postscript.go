package pages

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
)

// dscMaxLine is how much of a line the PostScript counter looks at: DSC
// limits comment lines to 255 bytes, and the rest of a longer line is
// skipped without being buffered.
const dscMaxLine = 255

// countPostScript counts the pages of a PostScript document from its
// Document Structuring Conventions comments. It counts the %%Page: markers
// of the document itself (not of documents embedded between
// %%BeginDocument and %%EndDocument), as CUPS's pstops does: they delimit
// the pages actually present, where a %%Pages: n comment is only a claim.
// Without markers it takes %%Pages: n from the header, or from the trailer
// when the header says (atend).
func countPostScript(ctx context.Context, r io.Reader) (int, error) {
	sc := bufio.NewScanner(bufio.NewReaderSize(r, readBufferSize))
	sc.Buffer(make([]byte, 0, 4096), 4096)
	split := &lineSplitter{}
	sc.Split(split.split)

	const (
		unset = -1
		atend = -2
	)
	var (
		inHeader     = true
		inTrailer    = false
		depth        = 0 // of embedded documents and data sections
		markers      = 0
		headerPages  = unset
		trailerPages = unset
	)
	for lines := 0; sc.Scan(); lines++ {
		if lines%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		line := sc.Bytes()
		if inHeader {
			switch {
			case lines == 0 && (bytes.HasPrefix(line, []byte("%!")) || bytes.HasPrefix(line, []byte("\x04%!"))):
				continue
			case bytes.HasPrefix(line, []byte("%%EndComments")):
				inHeader = false
				continue
			case bytes.HasPrefix(line, []byte("%%Pages:")):
				if headerPages == unset {
					headerPages = dscPages(line, true)
				}
				continue
			case bytes.HasPrefix(line, []byte("%%")) && !endsHeader(line):
				continue
			}
			// The header ends at the first line that is not a header comment.
			inHeader = false
		}
		if !bytes.HasPrefix(line, []byte("%%")) {
			continue
		}
		switch {
		case bytes.HasPrefix(line, []byte("%%BeginDocument")),
			bytes.HasPrefix(line, []byte("%%BeginData")),
			bytes.HasPrefix(line, []byte("%%BeginBinary")):
			depth++
		case bytes.HasPrefix(line, []byte("%%EndDocument")),
			bytes.HasPrefix(line, []byte("%%EndData")),
			bytes.HasPrefix(line, []byte("%%EndBinary")):
			depth = max(depth-1, 0)
		case depth > 0:
		case bytes.HasPrefix(line, []byte("%%Page:")) && !inTrailer:
			markers++
		case bytes.HasPrefix(line, []byte("%%Trailer")):
			inTrailer = true
		case bytes.HasPrefix(line, []byte("%%Pages:")) && inTrailer:
			if n := dscPages(line, false); n >= 0 {
				trailerPages = n // the last one counts
			}
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}

	switch {
	case markers > 0:
		return markers, nil
	case headerPages == atend && trailerPages >= 0:
		return trailerPages, nil
	case headerPages >= 0:
		return headerPages, nil
	}
	return 0, errors.New("postscript: no DSC page comments")
}

// endsHeader reports whether a comment belongs to the body or trailer, and
// so ends a header that lacks %%EndComments.
func endsHeader(line []byte) bool {
	return bytes.HasPrefix(line, []byte("%%Page:")) ||
		bytes.HasPrefix(line, []byte("%%Trailer")) ||
		bytes.HasPrefix(line, []byte("%%Begin"))
}

// dscPages parses "%%Pages: n" (an optional page order may follow) and, in
// the header, "%%Pages: (atend)". It returns -1 for anything else, -2 for
// (atend).
func dscPages(line []byte, header bool) int {
	v := bytes.TrimSpace(line[len("%%Pages:"):])
	if header && bytes.HasPrefix(v, []byte("(atend)")) {
		return -2
	}
	if i := bytes.IndexAny(v, " \t"); i >= 0 {
		v = v[:i]
	}
	if len(v) == 0 || len(v) > 9 {
		return -1
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// lineSplitter splits PostScript into lines ending in CR, LF or CR LF. It
// returns at most dscMaxLine bytes of a line and skips the rest, so that a
// huge binary "line" neither grows the buffer nor yields a false comment
// from its middle.
type lineSplitter struct {
	skipping bool // inside the tail of an over-long line
	afterCR  bool // the last line ended in CR: a LF next belongs to it
}

func (s *lineSplitter) split(data []byte, atEOF bool) (advance int, token []byte, err error) {
	if s.afterCR && len(data) > 0 {
		s.afterCR = false
		if data[0] == '\n' {
			return 1, nil, nil
		}
	}
	i := bytes.IndexAny(data, "\r\n")
	if i < 0 {
		switch {
		case s.skipping:
			return len(data), nil, nil
		case len(data) > dscMaxLine:
			s.skipping = true
			return len(data), data[:dscMaxLine], nil
		case atEOF && len(data) > 0:
			return len(data), data, nil
		}
		return 0, nil, nil // more data
	}
	end := i + 1
	if data[i] == '\r' {
		if i+1 < len(data) {
			if data[i+1] == '\n' {
				end++
			}
		} else {
			s.afterCR = true
		}
	}
	if s.skipping {
		s.skipping = false
		return end, nil, nil
	}
	return end, data[:min(i, dscMaxLine)], nil
}

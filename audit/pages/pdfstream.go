package pages

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/zlib"
	"io"
	"slices"
)

// Stream data in the one-pass PDF counter: skipped, except for object
// streams, which are inflated as they pass (charged to the decoded budget)
// and whose objects are read like the document's.

// maxObjStmOffset bounds /First and the offsets of an object stream, so
// that adding them cannot overflow; no stream within the decoded budget
// comes near it.
const maxObjStmOffset = 1 << 40

// filterKind is what a stream's /Filter says.
type filterKind uint8

const (
	filterNone filterKind = iota
	filterFlate
	filterOther
)

// objStmEntry is one object of an object stream's index: its number, its
// offset from /First, and its place in the index (which a
// cross-reference stream names).
type objStmEntry struct {
	num, off int64
	idx      int32
}

// streamEOL consumes the end of line after the "stream" keyword.
func (s *pdfScanner) streamEOL() {
	if s.lex.peekIs('\r') {
		s.lex.peekIs('\n')
		return
	}
	s.lex.peekIs('\n')
}

// skipData skips a stream's data after the "stream" keyword: by its length
// when it is direct and "endstream" follows it, else to the next
// "endstream".
func (s *pdfScanner) skipData(length int64) {
	s.streamEOL()
	if length >= 0 && s.discard(length) && s.atEndstream() {
		return
	}
	s.scanEndstream()
}

// discard skips n bytes of the document, reporting false at its end or
// when counting stops.
func (s *pdfScanner) discard(n int64) bool {
	for n > 0 {
		d, err := s.lex.br.Discard(int(min(n, pdfReadBuffer)))
		n -= int64(d)
		if err != nil || s.lex.stop() {
			return false
		}
	}
	return true
}

// atEndstream reports whether "endstream" comes next, after white space.
func (s *pdfScanner) atEndstream() bool {
	br := s.lex.br
	for range 64 {
		b, err := br.Peek(1)
		if err != nil || !isSpace(b[0]) {
			break
		}
		br.Discard(1)
	}
	b, _ := br.Peek(len(endstreamKeyword))
	return bytes.Equal(b, endstreamKeyword)
}

// scanEndstream skips the document up to and including the next
// "endstream".
func (s *pdfScanner) scanEndstream() {
	for s.lex.skipPast('e') && !s.lex.tick() {
		if b, _ := s.lex.br.Peek(len(ndstreamAfterByte)); bytes.Equal(b, ndstreamAfterByte) {
			s.lex.br.Discard(len(ndstreamAfterByte))
			return
		}
	}
}

// objStm reads an object stream, whose header is at offset at, after its
// "stream" keyword, defining the objects it holds. A stream that cannot be
// read is remembered: a reader of the cross-reference table that finds an
// object there does not trust what the scanner found.
// maxBadStms bounds the unreadable object streams remembered one by one.
const maxBadStms = 64

func (s *pdfScanner) objStm(d *dictSummary, at int64) {
	s.streamEOL()
	data := &streamData{br: s.lex.br, left: d.length}
	err := s.readObjStm(d, data, at)
	if err == nil && d.length < 0 && d.filter != filterFlate {
		// Its data ends where pdfcpu's /Length says, which the scanner
		// does not know: where that differs from "endstream", so may
		// the objects.
		err = errBadObjStm
	}
	if err != nil {
		switch {
		case len(s.badStm) >= maxBadStms:
			// A document of many unreadable object streams costs no more
			// memory: past the bound, none of its object streams is trusted.
			s.badStmsOver = err
		case s.badStm == nil:
			s.badStm = map[int64]error{at: err}
		default:
			s.badStm[at] = err
		}
	}
	data.skip(s.lex.stop)
	if d.length >= 0 && !s.atEndstream() {
		s.scanEndstream()
	}
}

// readObjStm decodes an object stream's data, parses its objects and
// charges the decoded bytes against the budget. Like Count, it decodes and
// charges the whole stream, even past its last object.
func (s *pdfScanner) readObjStm(d *dictSummary, data *streamData, at int64) error {
	switch {
	case d.filter == filterOther || d.predictor:
		return errObjStmFilter
	case d.n < 0 || d.n > pdfMaxStreamObjects || d.first < 0 || d.first > maxObjStmOffset:
		return errBadObjStm
	}
	var dec io.Reader = data
	if d.filter == filterFlate {
		zr, err := s.zlibReader(data)
		if err != nil {
			return errBadObjStm
		}
		dec = zr
	}
	// One byte over what is left of the budget tells that it is over.
	s.sub.reset(&io.LimitedReader{R: dec, N: s.decodeLeft + 1}, 4096)
	s.sub.check = s.lex.check
	s.cur = &s.sub
	err := s.objStmObjects(d, at)
	s.cur = &s.lex
	s.sub.br.Discard(s.sub.br.Buffered())
	for !s.sub.stop() {
		if _, err := io.CopyN(io.Discard, &s.sub.cr, 1<<20); err != nil {
			break
		}
	}
	if s.sub.stopped {
		s.lex.stopped = true
		return nil
	}
	used := s.sub.cr.n
	if used > s.decodeLeft {
		s.decodeLeft = 0
		s.over = overDecodeBudget(s.budget)
		return nil
	}
	s.decodeLeft -= used
	if s.sub.cr.err != nil {
		return errBadObjStm // corrupt, cut short, or encrypted
	}
	return err
}

// objStmObjects reads an object stream's index (pairs of an object number
// and an offset from /First), then each object at its offset.
func (s *pdfScanner) objStmObjects(d *dictSummary, at int64) error {
	l := &s.sub
	s.pairs = s.pairs[:0]
	for i := range d.n {
		num, off := l.next(), l.next()
		if num.kind != tokInt || off.kind != tokInt || off.num < 0 || off.num > maxObjStmOffset {
			return errBadObjStm
		}
		s.pairs = append(s.pairs, objStmEntry{num: num.num, off: off.num, idx: int32(i)})
	}
	byOffset := func(a, b objStmEntry) int { return cmp.Compare(a.off, b.off) }
	if !slices.IsSortedFunc(s.pairs, byOffset) {
		slices.SortStableFunc(s.pairs, byOffset)
	}
	for _, e := range s.pairs {
		l.nback = 0
		to, pos := d.first+e.off, l.pos()
		if to < pos {
			return errBadObjStm // objects overlap: one may hide another
		}
		if n, err := l.br.Discard(int(min(to-pos, maxObjStmOffset))); int64(n) < to-pos || err != nil {
			return errBadObjStm // the stream ends before the object
		}
		var ds dictSummary
		fact := s.objectValue(&ds)
		fact.at, fact.idx = at, e.idx
		s.facts.define(e.num, fact)
		if l.stopped || s.facts.err != nil {
			return nil
		}
	}
	return nil
}

// streamData reads a stream's data from the document: left bytes, or when
// left is -1 (the length is not known) up to the next "endstream". It is an
// io.ByteReader so that the inflater reads no further than it needs.
type streamData struct {
	br   *bufio.Reader
	left int64
}

// atEnd reports whether the data is over.
func (d *streamData) atEnd() bool {
	if d.left >= 0 {
		return d.left == 0
	}
	if b, _ := d.br.Peek(len(endstreamKeyword)); bytes.Equal(b, endstreamKeyword) {
		d.left = 0
		return true
	}
	return false
}

func (d *streamData) ReadByte() (byte, error) {
	if d.left < 0 {
		if b, err := d.br.Peek(1); err == nil && b[0] == 'e' && d.atEnd() {
			return 0, io.EOF
		}
	} else if d.left == 0 {
		return 0, io.EOF
	}
	c, err := d.br.ReadByte()
	if err != nil {
		return 0, err
	}
	if d.left > 0 {
		d.left--
	}
	return c, nil
}

func (d *streamData) Read(p []byte) (int, error) {
	switch {
	case d.left == 0:
		return 0, io.EOF
	case d.left > 0:
		p = p[:min(int64(len(p)), d.left)]
		n, err := d.br.Read(p)
		d.left -= int64(n)
		return n, err
	}
	buf, err := d.br.Peek(d.br.Size())
	if i := bytes.Index(buf, endstreamKeyword); i >= 0 {
		if i == 0 {
			d.left = 0
			return 0, io.EOF
		}
		buf = buf[:i]
	} else if err == nil {
		// A match may start in the last bytes: keep them for the next read.
		buf = buf[:len(buf)-len(endstreamKeyword)+1]
	} else if len(buf) == 0 {
		return 0, err
	}
	n := copy(p, buf)
	d.br.Discard(n)
	return n, nil
}

// skip reads past the rest of the data.
func (d *streamData) skip(stop func() bool) {
	for !stop() {
		if _, err := io.CopyN(io.Discard, d, 1<<20); err != nil {
			return
		}
	}
}

// filter reads a /Filter value: one name, or an array of them.
func (s *pdfScanner) filter() filterKind {
	l := s.cur
	t := l.next()
	switch {
	case t.is(tokName, "FlateDecode"):
		return filterFlate
	case t.is(tokKeyword, "null"):
		return filterNone
	case t.kind != tokArrayOpen:
		l.unread(t)
		s.skipValue()
		return filterOther
	}
	kind, names := filterNone, 0
	for {
		t := l.next()
		switch {
		case t.kind == tokArrayClose || t.kind == tokEOF:
			if names > 1 {
				return filterOther
			}
			return kind
		case t.is(tokName, "FlateDecode"):
			kind = filterFlate
		default:
			l.unread(t)
			s.skipValue()
			kind = filterOther
		}
		names++
	}
}

// decodeParms is what the scanner takes from /DecodeParms: the predictor,
// which object streams do not use and cross-reference streams often do.
type decodeParms struct {
	predictor int64 // 2 when it is not a direct integer
	// -1 when not a direct integer that is not negative.
	columns, colors, bpc int64
}

// decodeParms reads a /DecodeParms value. It reports false for a value it
// does not understand (an array, say), which is then taken to ask for a
// predictor.
func (s *pdfScanner) decodeParms() (decodeParms, bool) {
	p := decodeParms{predictor: 1, columns: 1, colors: 1, bpc: 8}
	l := s.cur
	t := l.next()
	switch {
	case t.is(tokKeyword, "null"):
		return p, true
	case t.kind != tokDictOpen:
		l.unread(t)
		s.skipValue()
		return p, false
	}
	for {
		t := l.next()
		var field *int64
		switch {
		case t.kind == tokDictClose || t.kind == tokEOF:
			return p, true
		case t.is(tokName, "Predictor"):
			field = &p.predictor
		case t.is(tokName, "Columns"):
			field = &p.columns
		case t.is(tokName, "Colors"):
			field = &p.colors
		case t.is(tokName, "BitsPerComponent"):
			field = &p.bpc
		case t.kind == tokName:
			s.skipValue()
		case structural(&t):
			l.unread(t)
			return p, true
		}
		if field != nil {
			*field = -1
			if v, _, ok := s.value(); !ok && v.kind == tokInt && (v.num >= 0 || field == &p.predictor) {
				*field = v.num
			} else if field == &p.predictor {
				*field = 2 // unknown: taken for one the scanner does not undo
			}
		}
	}
}

// zlibReader returns a zlib reader of r, reusing the scanner's.
func (s *pdfScanner) zlibReader(r io.Reader) (io.Reader, error) {
	if s.zr == nil {
		zr, err := zlib.NewReader(r)
		if err != nil {
			return nil, err
		}
		s.zr = zr
		return zr, nil
	}
	if err := s.zr.(zlib.Resetter).Reset(r, nil); err != nil {
		return nil, err
	}
	return s.zr, nil
}

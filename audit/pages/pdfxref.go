package pages

import (
	"cmp"
	"fmt"
	"io"
	"math"
)

// The cross-reference sections, as the one-pass PDF counter reads them:
// tables ("xref" ... "trailer") and cross-reference streams, each kept as
// its entries and the trailer entries that lead on (/Prev, /XRefStm) until
// the end of the document shows which one the last "startxref" names
// (resolveXRef). What a section says is kept as pdfcpu reads it, where the
// scanner can tell; a section it reads otherwise, or cannot read, is
// broken, and a count that needs it is not verified.

// Kinds of cross-reference entry, in xrefEntry.idx.
const (
	xrefAtOffset int32 = -1 // in use at an offset: off
	xrefFree     int32 = -2 // free
	// An index of 0 or more: in object stream number off, at that index.
)

// xrefEntry is one entry of a cross-reference section.
type xrefEntry struct {
	off int64 // the offset of "n g obj", or the object stream's number
	num int32
	idx int32
}

// xrefSection is one cross-reference section.
type xrefSection struct {
	at       int64 // the offset of "xref", or of the stream's "n g obj"
	stream   bool
	broken   bool
	start, n int   // its entries in xrefIndex.entries
	prev     int64 // /Prev: -1 none
	xrefStm  int64 // /XRefStm (of a table): -1 none
	root     int32 // /Root: 0 none
}

// xrefIndex collects the cross-reference sections of a document.
type xrefIndex struct {
	sections []xrefSection
	entries  []xrefEntry
	// max bounds the entries and the sections together; past it, err.
	max int
	err error
	// The last "startxref" token: where it is, and the offset after it
	// (-1 when there is no integer).
	startxrefAt, startxref int64
	// resolved is, at the end, the entry of each object number that the
	// sections the last "startxref" leads to give, the first one found.
	resolved map[int32]xrefEntry
}

func (x *xrefIndex) init(b Budget) {
	// Updates list objects again, and a hybrid file twice: allow some
	// over the object budget, as for the references of arrays.
	x.max = 2 * b.Objects
	x.startxrefAt, x.startxref = -1, -1
}

// room reports whether n more entries fit the budget, and sets err when
// they do not.
func (x *xrefIndex) room(n int) bool {
	if len(x.entries)+len(x.sections)+n <= x.max {
		return true
	}
	if x.err == nil {
		x.err = fmt.Errorf("%w: the document has more than the budget of %d cross-reference entries", errNotVerified, x.max)
	}
	return false
}

// add appends an entry to the section being read.
func (x *xrefIndex) add(sec *xrefSection, e xrefEntry) bool {
	if !x.room(1) {
		sec.broken = true
		return false
	}
	x.entries = append(x.entries, e)
	sec.n++
	return true
}

// addSection keeps a section once its entries are in.
func (x *xrefIndex) addSection(sec xrefSection) {
	if x.room(1) {
		x.sections = append(x.sections, sec)
	}
}

// xrefTable reads a cross-reference table and its trailer after the
// "xref" keyword at offset at. An entry is "oooooooooo ggggg n" or "f";
// like pdfcpu, it skips in-use entries at an offset below 9, which an
// older section may then give.
func (s *pdfScanner) xrefTable(at int64) {
	l := &s.lex
	x := &s.xref
	sec := xrefSection{at: at, start: len(x.entries), prev: -1, xrefStm: -1}
	defer func() { x.addSection(sec) }()
	for !s.done() {
		t := l.next()
		if t.is(tokKeyword, "trailer") {
			v := l.next()
			if v.kind != tokDictOpen {
				l.unread(v)
				sec.broken = true
				return
			}
			var d dictSummary
			s.dict(&d, true)
			s.apply(&d)
			sec.root, sec.prev, sec.xrefStm = d.root, d.prev, d.xrefStm
			return
		}
		count := l.next()
		if t.kind != tokInt || count.kind != tokInt || t.num < 0 || count.num < 0 || t.num+count.num > math.MaxInt32 {
			l.unread(count)
			l.unread(t)
			sec.broken = true
			return
		}
		for i := range count.num {
			off, gen, typ := l.next(), l.next(), l.next()
			if off.kind != tokInt || gen.kind != tokInt || typ.kind != tokKeyword || typ.long || typ.n != 1 {
				l.unread(typ)
				sec.broken = true
				return
			}
			e := xrefEntry{num: int32(t.num + i), idx: xrefAtOffset, off: off.num}
			switch typ.text[0] {
			case 'f':
				e.idx, e.off = xrefFree, 0
			case 'n':
				if off.n == 1 || off.num < 9 {
					continue // not an entry to pdfcpu
				}
			default:
				l.unread(typ)
				sec.broken = true
				return
			}
			if !x.add(&sec, e) {
				return
			}
		}
	}
}

// xrefStream reads the data of a cross-reference stream, whose header is
// at offset at, after its "stream" keyword.
func (s *pdfScanner) xrefStream(d *dictSummary, at int64) {
	x := &s.xref
	sec := xrefSection{at: at, stream: true, start: len(x.entries), prev: d.prev, xrefStm: -1, root: d.root}
	s.streamEOL()
	data := &streamData{br: s.lex.br, left: d.length}
	if !s.readXRefStream(d, data, &sec) {
		sec.broken = true
	}
	data.skip(s.lex.stop)
	if d.length >= 0 && !s.atEndstream() {
		s.scanEndstream()
	}
	x.addSection(sec)
}

// readXRefStream decodes a cross-reference stream's entries into sec,
// charging the decoded bytes against the budget. It reports false for a
// stream it cannot read as pdfcpu does: an indirect /Length (pdfcpu reads
// that many bytes, the scanner does not know how many), a filter other
// than FlateDecode, a predictor other than PNG's on bytes, data that does
// not hold the entries.
func (s *pdfScanner) readXRefStream(d *dictSummary, data *streamData, sec *xrefSection) bool {
	p := d.parms
	switch {
	case d.length < 0, d.filter == filterOther, !d.wOK, d.index && !d.indexOK, !d.index && d.size < 0:
		return false
	case d.predictor && (p.predictor < 10 || p.predictor > 15 || p.bpc != 8 || p.colors < 1 || p.colors > 4 ||
		p.columns < 1 || p.colors*p.columns > 4096):
		return false
	}
	width := d.w[0] + d.w[1] + d.w[2]
	if width == 0 {
		return false
	}
	var dec io.Reader = data
	if d.filter == filterFlate {
		zr, err := s.zlibReader(data)
		if err != nil {
			return false
		}
		dec = zr
	}
	limited := &io.LimitedReader{R: dec, N: s.decodeLeft + 1}
	var r io.Reader = limited
	if d.predictor {
		r = newPNGRows(limited, int(p.colors), int(p.colors*p.columns))
	}
	index := s.index
	if !d.index {
		index = []int64{0, d.size}
	}
	ok := s.xrefStreamEntries(r, d.w, width, index, sec)
	// pdfcpu wants the data to be whole entries, at least one per object.
	var rest int64
	for !s.lex.stop() {
		n, err := io.CopyN(io.Discard, r, 1<<20)
		rest += n
		if err != nil {
			ok = ok && err == io.EOF
			break
		}
	}
	used := s.decodeLeft + 1 - limited.N
	if used > s.decodeLeft {
		s.decodeLeft = 0
		s.over = overDecodeBudget(s.budget)
		return false
	}
	s.decodeLeft -= used
	return ok && rest%width == 0
}

// xrefStreamEntries reads the entries of the objects that index names,
// each of width bytes in fields of the widths w.
func (s *pdfScanner) xrefStreamEntries(r io.Reader, w [3]int64, width int64, index []int64, sec *xrefSection) bool {
	var buf [24]byte
	field := func(b []byte) (v int64) {
		for _, c := range b {
			v = v<<8 | int64(c)
		}
		return v
	}
	for i := 0; i+1 < len(index); i += 2 {
		first, count := index[i], index[i+1]
		for k := range count {
			if s.lex.tick() {
				return false
			}
			if _, err := io.ReadFull(r, buf[:width]); err != nil {
				return false
			}
			typ := int64(1)
			if w[0] > 0 {
				typ = field(buf[:w[0]])
			}
			f2, f3 := field(buf[w[0]:][:w[1]]), field(buf[w[0]+w[1]:][:w[2]])
			e := xrefEntry{num: int32(first + k), off: f2}
			switch {
			case typ == 0:
				e.idx, e.off = xrefFree, 0
			case typ == 1:
				e.idx = xrefAtOffset
			case typ == 2 && f3 <= math.MaxInt32:
				e.idx = int32(f3)
			default:
				return false // pdfcpu keeps an entry with no offset
			}
			if !s.xref.add(sec, e) {
				return false
			}
		}
	}
	return true
}

// widths reads a cross-reference stream's /W: three integers of 0 to 8
// (bytes of one field). Any other value is skipped.
func (s *pdfScanner) widths() (w [3]int64, ok bool) {
	l := s.cur
	if t := l.next(); t.kind != tokArrayOpen {
		l.unread(t)
		s.skipValue()
		return w, false
	}
	n := 0
	ok = true
	for {
		t := l.next()
		switch {
		case t.kind == tokArrayClose || t.kind == tokEOF:
			return w, ok && n == 3
		case t.kind == tokInt && t.num >= 0 && t.num <= 8 && n < 3:
			w[n] = t.num
		default:
			l.unread(t)
			s.skipNested(1)
			return w, false
		}
		n++
	}
}

// readIndex reads a cross-reference stream's /Index into s.index: pairs
// of a first object number and a count, which together name at most as
// many objects as the entries' budget allows.
func (s *pdfScanner) readIndex() bool {
	l := s.cur
	s.index = s.index[:0]
	if t := l.next(); t.kind != tokArrayOpen {
		l.unread(t)
		s.skipValue()
		return false
	}
	var objects int64
	for {
		t := l.next()
		switch {
		case t.kind == tokArrayClose || t.kind == tokEOF:
			return len(s.index)%2 == 0
		case t.kind == tokInt && t.num >= 0 && t.num <= math.MaxInt32:
			if len(s.index) >= 2*maxIndexPairs {
				// Pairs of zero objects would pass the bound on objects.
				s.skipNested(1)
				return false
			}
			if len(s.index)%2 == 1 {
				objects += t.num
				if objects > int64(s.xref.max) || s.index[len(s.index)-1]+t.num > math.MaxInt32 {
					s.skipNested(1)
					return false
				}
			}
			s.index = append(s.index, t.num)
		default:
			l.unread(t)
			s.skipNested(1)
			return false
		}
	}
}

// maxIndexPairs bounds the subsections of an /Index.
const maxIndexPairs = 1024

// resolveXRef follows the last "startxref" through the sections, newest
// first as pdfcpu does (a table's entries, then those of its /XRefStm,
// then its /Prev), keeping the first entry of each object, and returns
// the newest section's /Root.
func (s *pdfScanner) resolveXRef() (int32, error) {
	x := &s.xref
	notVerified := func(why string) (int32, error) {
		return 0, fmt.Errorf("%w: %s", errNotVerified, why)
	}
	switch {
	case x.err != nil:
		return 0, x.err
	case !s.pdfAtZero:
		// pdfcpu takes offsets from where "%PDF-" is.
		return notVerified("the document does not start with %PDF-")
	case x.startxref < 0 || x.startxrefAt != s.lex.cr.last:
		return notVerified("no usable startxref at its end")
	}
	byAt := make(map[int64]int, len(x.sections))
	for i, sec := range x.sections {
		byAt[sec.at] = i
	}
	x.resolved = make(map[int32]xrefEntry)
	take := func(sec xrefSection) {
		for _, e := range x.entries[sec.start:][:sec.n] {
			if _, ok := x.resolved[e.num]; !ok {
				x.resolved[e.num] = e
			}
		}
	}
	var root int32
	seen := map[int64]bool{}
	for at := x.startxref; at >= 0; {
		i, ok := byAt[at]
		switch {
		case seen[at]:
			return notVerified("its sections make a loop")
		case !ok:
			return notVerified("a section is not where an offset puts it")
		case x.sections[i].broken:
			return notVerified("a section cannot be read")
		}
		seen[at] = true
		sec := x.sections[i]
		if len(seen) == 1 {
			root = sec.root
		}
		take(sec)
		if sec.xrefStm >= 0 {
			j, ok := byAt[sec.xrefStm]
			if !ok || !x.sections[j].stream || x.sections[j].broken {
				return notVerified("a section's /XRefStm cannot be read")
			}
			take(x.sections[j])
		}
		if sec.prev == 0 {
			return notVerified("a section's /Prev is 0") // pdfcpu searches
		}
		at = sec.prev
	}
	if root <= 0 {
		return notVerified("the trailer has no /Root")
	}
	return root, nil
}

// verifyObject checks that fact, what the scanner found of object num
// (ok: anything), is what a reader of the cross-reference table finds:
// the definition at the offset the table gives, or the object at the
// index it gives in the object stream at the offset it gives for that.
// An object that neither has is missing for both.
func (s *pdfScanner) verifyObject(num int32, fact objFact, ok bool) error {
	e, listed := s.xref.resolved[num]
	if !listed || e.idx == xrefFree {
		if ok {
			return fmt.Errorf("%w: an object of the page tree is not in the table", errNotVerified)
		}
		return nil
	}
	if e.idx >= 0 {
		stm, listed := s.xref.resolved[int32(min(e.off, math.MaxInt32))]
		if listed && stm.idx == xrefAtOffset {
			if err := cmp.Or(s.badStm[stm.off], s.badStmsOver); err != nil {
				if s.encrypted {
					return errEncryptedObjs
				}
				return err
			}
			if ok && s.encrypted && fact.idx >= 0 && fact.at == stm.off {
				// Only garbage can be read from an encrypted stream.
				return errEncryptedObjs
			}
			if ok && fact.idx == e.idx && fact.at == stm.off {
				return nil
			}
		}
	} else if ok && fact.idx < 0 && fact.at == e.off {
		return nil
	}
	return fmt.Errorf("%w: an object of the page tree is not where the table puts it", errNotVerified)
}

package pages

import (
	"bufio"
	"errors"
	"io"
	"math"
)

// The one-pass PDF counter. It reads the document once, start to end, as a
// sequence of tokens, without random access: every "n g obj" starts an
// object whose facts it keeps (pdfFacts) with the offset of its header,
// object streams are inflated as they pass and their objects parsed the
// same way (each remembered with its stream's offset and its index there),
// other streams are skipped by their /Length (or to "endstream"), and the
// cross-reference sections, tables and streams, are read as they pass
// (xrefIndex). At the end it walks the page tree from the facts, as
// countPageTree walks pdfcpu's objects. It never holds a dictionary, a
// string or stream data: its memory is a few buffers plus the facts and
// the cross-reference entries, which the object budget bounds.
//
// A reader that prints the document (pdfcpu, a printer) does not read it
// in file order: it follows the last "startxref" to the cross-reference
// table, and the table to each object's one definition. The scanner keeps
// the last definition of each object in file order, and trusts it only
// where the table agrees: the page tree is walked from the /Root of the
// table's trailer, and every object it uses must be, by its offset (or
// its object stream and index), the definition that the table names
// (verifyObject). Where the table is missing, broken, or names another
// definition (hidden in a comment or in a stream's data, or left out of an
// update), the count is not verified (errNotVerified): pages.Count, which
// reads the stored document through its table, may know it.

// pdfReadBuffer is the buffer of the document's reader.
const pdfReadBuffer = 16 << 10

var (
	errStopped        = errors.New("pdf: counting stopped")
	errBadObjStm      = errors.New("pdf: an object stream cannot be read")
	errObjStmFilter   = errors.New("pdf: an object stream has a filter other than FlateDecode")
	errEncryptedObjs  = errors.New("pdf: the document is encrypted and keeps objects in object streams")
	errEmptyPDF       = errors.New("pdf: the document is empty")
	errNotVerified    = errors.New("pdf: not verified against the cross-reference table")
	endstreamKeyword  = []byte("endstream")
	ndstreamAfterByte = endstreamKeyword[1:]
)

// dictSummary is what the scanner takes from one dictionary.
type dictSummary struct {
	flags     uint8
	objStm    bool // /Type /ObjStm
	xref      bool // /Type /XRef
	kidsKind  kidsKind
	kidsRef   int32
	kids      span
	pages     int32
	root      int32
	encrypt   bool
	length    int64 // the stream's /Length; -1 when indirect or missing
	filter    filterKind
	predictor bool // /DecodeParms asks for a predictor
	n, first  int64
	// Of a cross-reference section: a trailer or a cross-reference stream.
	prev, xrefStm int64 // -1 when missing or not an integer
	size          int64 // -1 when missing
	w             [3]int64
	wOK           bool // /W is an array of three integers of 0 to 8
	index         bool // /Index was read into pdfScanner.index
	indexOK       bool // and is pairs of integers, within the budget
	parms         decodeParms
	// broken says the dictionary ended without its ">>": at the next
	// object's header, a keyword or the end of the file. Readers repair
	// such objects differently, so a page tree through one is not counted.
	broken bool
}

func (d *dictSummary) fact() objFact {
	if d.broken {
		return objFact{kind: factOther}
	}
	return objFact{kind: factDict, flags: d.flags, kidsKind: d.kidsKind, pages: d.pages, ref: d.kidsRef, kids: d.kids}
}

// pdfScanner is the state of one count.
type pdfScanner struct {
	lex        lexer
	cur        *lexer // lex, or sub inside an object stream
	facts      *pdfFacts
	stop       func() bool
	decodeLeft int64
	budget     Budget
	encrypted  bool
	over       error // over the decoded budget
	pdfAtZero  bool  // the document starts with "%PDF-", as offsets assume
	xref       xrefIndex
	// badStm holds the object streams that could not be read, by offset:
	// their objects are not trusted.
	badStm map[int64]error
	// badStmsOver is set once more than maxBadStms could not be read.
	badStmsOver error
	index       []int64 // the last /Index read

	// For object streams, kept from one to the next.
	zr    io.ReadCloser
	sub   lexer
	pairs []objStmEntry

	arrays  int       // the depth of refArray
	scratch [][]int32 // its buffers, by depth
}

// countPDFStream counts the pages of the PDF that r yields. stop reports
// whether to give up (the context is done); it returns errStopped then.
func countPDFStream(r io.Reader, b Budget, stop func() bool) (int, error) {
	return countPDFStreamBuffer(r, b, stop, pdfReadBuffer, nil)
}

// countPDFStreamBuffer is countPDFStream with a read buffer of the given
// size (a document in memory needs no more than its length), in br when
// br is not nil and large enough.
func countPDFStreamBuffer(r io.Reader, b Budget, stop func() bool, size int, br *bufio.Reader) (int, error) {
	s := &pdfScanner{facts: newPDFFacts(b), stop: stop, decodeLeft: b.DecodedBytes, budget: b}
	s.lex.br = br
	s.xref.init(b)
	s.lex.reset(r, size)
	s.lex.cr.mark, s.lex.cr.last = startxrefKeyword, -1
	s.lex.check = stop
	s.cur = &s.lex
	head, _ := s.lex.br.Peek(len(pdfHeader))
	s.pdfAtZero = string(head) == pdfHeader
	s.scan()
	return s.result()
}

var startxrefKeyword = []byte("startxref")

const pdfHeader = "%PDF-"

// result walks the page tree once the document has been read.
func (s *pdfScanner) result() (int, error) {
	switch {
	case s.lex.stopped:
		return 0, errStopped
	case s.facts.err != nil:
		return 0, s.facts.err
	case s.over != nil:
		return 0, s.over
	case s.lex.cr.n == 0:
		return 0, errEmptyPDF
	}
	root, err := s.resolveXRef()
	if err != nil {
		return 0, err
	}
	s.facts.verify = s.verifyObject
	root, err = s.facts.pageTreeRoot(root)
	if err != nil {
		return 0, err
	}
	return s.facts.countPages(root, s.budget, s.stop)
}

// done reports whether scanning is over before the end of the document.
func (s *pdfScanner) done() bool {
	return s.lex.stopped || s.facts.err != nil || s.over != nil
}

// scan reads the document's top level: objects, trailers and the tokens
// between them, which it passes over.
func (s *pdfScanner) scan() {
	l := &s.lex
	for !s.done() {
		t := l.next()
		switch t.kind {
		case tokEOF:
			return
		case tokKeyword:
			switch {
			case t.hdr:
				s.object(t.num, t.at)
			case t.is(tokKeyword, "xref"):
				s.xrefTable(t.start)
			case t.is(tokKeyword, "trailer"):
				// One that follows no table: only its /Encrypt counts.
				if v := l.next(); v.kind == tokDictOpen {
					var d dictSummary
					s.dict(&d, true)
					s.apply(&d)
				} else {
					l.unread(v)
				}
			case t.is(tokKeyword, "startxref"):
				s.xref.startxrefAt, s.xref.startxref = t.start, -1
				if v := l.next(); v.kind == tokInt {
					s.xref.startxref = v.num
				} else {
					l.unread(v)
				}
			case t.is(tokKeyword, "stream") && l.nback == 0:
				s.skipData(-1) // of an object that was not understood
			}
		}
	}
}

// apply takes the /Encrypt of a trailer or cross-reference stream. (The
// /Root comes from the cross-reference sections that the last "startxref"
// leads to: resolveXRef.)
func (s *pdfScanner) apply(d *dictSummary) {
	s.encrypted = s.encrypted || d.encrypt
}

// object reads object num, whose header "n g obj" starts at offset at,
// after its "obj" keyword, and its stream if it has one.
func (s *pdfScanner) object(num, at int64) {
	var d dictSummary
	fact := s.objectValue(&d)
	fact.at, fact.idx = at, -1
	t := s.lex.next()
	if !t.is(tokKeyword, "stream") || fact.kind != factDict || s.lex.nback > 0 {
		s.lex.unread(t)
		s.facts.define(num, fact)
		return
	}
	fact.kind = factStream
	s.facts.define(num, fact)
	switch {
	case d.xref:
		s.apply(&d)
		s.xrefStream(&d, at)
	case d.objStm:
		s.objStm(&d, at)
	default:
		s.skipData(d.length)
	}
}

// objectValue reads an object's value and returns its facts; a dictionary's
// other entries go to d.
func (s *pdfScanner) objectValue(d *dictSummary) objFact {
	l := s.cur
	t := l.next()
	switch t.kind {
	case tokDictOpen:
		s.dict(d, false)
		return d.fact()
	case tokArrayOpen:
		return objFact{kind: factArray, kids: s.refArray()}
	case tokKeyword:
		if t.is(tokKeyword, "null") {
			return objFact{kind: factNull}
		}
		if structural(&t) {
			l.unread(t) // an empty object
		}
	case tokDictClose, tokArrayClose, tokEOF:
		l.unread(t)
	}
	return objFact{kind: factOther}
}

// structural reports whether t is a keyword that cannot be inside an
// object: an object that reaches one is broken, and reading resumes there.
func structural(t *token) bool {
	if t.kind != tokKeyword || t.long {
		return false
	}
	switch string(t.text[:t.n]) {
	case "obj", "endobj", "stream", "endstream", "trailer", "xref", "startxref":
		return true
	}
	return false
}

// dict reads a dictionary after its "<<". Entries that counting needs go to
// d; the others are skipped. A nested dictionary (a trailer) does not
// remember /Kids arrays.
func (s *pdfScanner) dict(d *dictSummary, nested bool) {
	l := s.cur
	d.length, d.prev, d.xrefStm, d.size = -1, -1, -1, -1
	for {
		t := l.next()
		switch t.kind {
		case tokDictClose:
			return
		case tokEOF:
			d.broken = true
			return
		case tokKeyword:
			if structural(&t) {
				l.unread(t)
				d.broken = true
				return
			}
			continue
		case tokName:
		default:
			continue // not a key: the rest of a reference, or junk
		}
		s.entry(d, &t, nested)
	}
}

// entry reads the value of the dictionary entry whose key is k. As in
// pdfcpu, a later entry of the same key replaces an earlier one, and an
// entry whose value is null is no entry.
func (s *pdfScanner) entry(d *dictSummary, k *token, nested bool) {
	if v := s.cur.next(); v.is(tokKeyword, "null") {
		return
	} else {
		s.cur.unread(v)
	}
	if k.long || k.n == 0 {
		s.skipValue()
		return
	}
	switch string(k.text[:k.n]) {
	case "Type":
		d.flags &^= flagPages | flagPage
		d.objStm, d.xref = false, false
		if v, _, _ := s.value(); v.kind == tokName && !v.long {
			switch string(v.text[:v.n]) {
			case "Pages":
				d.flags |= flagPages
			case "Page":
				d.flags |= flagPage
			case "ObjStm":
				d.objStm = true
			case "XRef":
				d.xref = true
			}
		}
	case "Contents":
		s.skipValue()
		d.flags |= flagContents
	case "Kids":
		d.flags |= flagHasKids
		if nested {
			s.skipValue()
			return
		}
		d.kidsKind, d.kidsRef, d.kids = s.kidsValue()
	case "Pages":
		d.pages = -1
		if _, ref, ok := s.value(); ok {
			d.pages = ref
		}
	case "Root":
		d.root = 0
		if _, ref, ok := s.value(); ok {
			d.root = ref
		}
	case "Encrypt":
		s.skipValue()
		d.encrypt = true
	case "Length":
		d.length = -1
		if v, _, ok := s.value(); v.kind == tokInt && !ok && v.num >= 0 {
			d.length = v.num
		}
	case "N":
		if v, _, ok := s.value(); v.kind == tokInt && !ok {
			d.n = v.num
		}
	case "First":
		if v, _, ok := s.value(); v.kind == tokInt && !ok {
			d.first = v.num
		}
	case "Filter":
		d.filter = s.filter()
	case "DecodeParms":
		var ok bool
		d.parms, ok = s.decodeParms()
		d.predictor = !ok || d.parms.predictor > 1
	case "Prev", "XRefStm", "Size":
		n := int64(-1)
		if v, _, ok := s.value(); v.kind == tokInt && !ok && v.num >= 0 {
			n = v.num
		}
		switch k.text[0] {
		case 'P':
			d.prev = n
		case 'X':
			d.xrefStm = n
		default:
			d.size = n
		}
	case "W":
		d.w, d.wOK = s.widths()
	case "Index":
		d.index = true
		d.indexOK = s.readIndex()
	default:
		s.skipValue()
	}
}

// value reads one value. A reference "n g R" is read whole and returned as
// ref (when n is a usable object number); of any other value, the first
// token is returned and the rest skipped.
func (s *pdfScanner) value() (first token, ref int32, isRef bool) {
	l := s.cur
	t := l.next()
	if t.kind != tokInt {
		l.unread(t)
		s.skipValue()
		return t, 0, false
	}
	t2 := l.next()
	if t2.kind == tokInt {
		t3 := l.next()
		if t3.is(tokKeyword, "R") {
			if t.num <= 0 || t.num > math.MaxInt32 {
				return t, 0, false
			}
			return t, int32(t.num), true
		}
		l.unread(t3)
	}
	l.unread(t2)
	return t, 0, false
}

// skipValue reads past one value, however deeply nested, without
// remembering it. A reference's "g R" is left to the caller, which takes
// them for junk.
func (s *pdfScanner) skipValue() { s.skipNested(0) }

// skipNested reads past the rest of a value inside depth containers.
func (s *pdfScanner) skipNested(depth int) {
	l := s.cur
	for {
		t := l.next()
		switch t.kind {
		case tokEOF:
			return
		case tokDictOpen, tokArrayOpen:
			depth++
		case tokDictClose, tokArrayClose:
			if depth == 0 {
				l.unread(t) // the end of the enclosing container
				return
			}
			depth--
		case tokKeyword:
			if structural(&t) {
				l.unread(t)
				return
			}
		}
		if depth == 0 {
			return
		}
	}
}

// kidsValue reads the value of /Kids.
func (s *pdfScanner) kidsValue() (kidsKind, int32, span) {
	t := s.cur.next()
	if t.kind == tokArrayOpen {
		return kidsArray, 0, s.refArray()
	}
	s.cur.unread(t)
	if _, ref, ok := s.value(); ok {
		return kidsRef, ref, span{}
	}
	return kidsInvalid, 0, span{}
}

// refArray reads the rest of an array after its "[" into the facts' refs:
// a reference as its object number, an inline dictionary as a page
// (kidLeaf) or, if it is a page tree node, as an inline object of its own,
// anything else as kidInvalid, after which the array is no /Kids and the
// rest is not remembered. Inline nodes nest arrays: each depth collects
// its entries in a buffer of its own, up to pdfMaxDepth.
func (s *pdfScanner) refArray() span {
	level := s.arrays
	if level >= pdfMaxDepth {
		s.skipNested(1)
		return s.facts.addRefs([]int32{kidInvalid})
	}
	s.arrays++
	defer func() { s.arrays-- }()
	if len(s.scratch) == level {
		s.scratch = append(s.scratch, nil)
	}
	buf := s.scratch[level][:0]
	defer func() { s.scratch[level] = buf[:0] }()
	valid := true
	add := func(r int32) {
		if valid && s.facts.roomFor(len(buf)+1) {
			buf = append(buf, r)
		}
		valid = valid && r != kidInvalid
	}
	l := s.cur
	for {
		t := l.next()
		switch t.kind {
		case tokEOF, tokArrayClose:
			return s.facts.addRefs(buf)
		case tokInt:
			l.unread(t)
			if _, ref, ok := s.value(); ok {
				add(ref)
			} else {
				add(kidInvalid)
			}
		case tokDictOpen:
			var d dictSummary
			s.dict(&d, false)
			if d.flags&flagPage != 0 || d.flags&(flagHasKids|flagPages) == 0 {
				add(kidLeaf)
			} else {
				add(s.facts.defineInline(d.fact()))
			}
		case tokArrayOpen:
			l.unread(t)
			s.skipValue()
			add(kidInvalid)
		case tokKeyword:
			if structural(&t) {
				l.unread(t)
				return s.facts.addRefs(buf)
			}
			add(kidInvalid)
		default:
			add(kidInvalid)
		}
	}
}

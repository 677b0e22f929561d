package pages

import (
	"bufio"
	"bytes"
	"io"
)

// The PDF lexer of the one-pass counter. It reads tokens from a
// bufio.Reader and keeps none of the document: a token keeps at most
// lexemeMax bytes of its text (longer names and keywords are marked
// truncated and match nothing the scanner looks for), strings are skipped
// byte by byte and comments a buffer at a time. Its memory is one token
// queue, whatever it is fed.

// tokKind is the kind of a PDF token.
type tokKind uint8

const (
	tokEOF        tokKind = iota // the end of the input, or a failing read
	tokInt                       // an integer that fits an int64
	tokReal                      // any other number
	tokName                      // /Name, #xx escapes decoded
	tokString                    // (literal) or <hex>, content skipped
	tokDictOpen                  // <<
	tokDictClose                 // >>
	tokArrayOpen                 // [
	tokArrayClose                // ]
	tokKeyword                   // obj, R, null, true, stream... and junk
	tokOther                     // a stray ) > { or }
)

// lexemeMax is how much of a name or keyword a token keeps: more than any
// name or keyword the scanner compares against.
const lexemeMax = 24

// token is one PDF token.
type token struct {
	kind  tokKind
	long  bool  // the text was longer than lexemeMax and is cut
	n     uint8 // the length of text
	hdr   bool  // an "obj" keyword after two integers: num is the first
	num   int64 // the value of a tokInt; the object number of a hdr
	start int64 // the offset of its first byte
	at    int64 // of a hdr: the offset of the object number, where "n g obj" starts
	text  [lexemeMax]byte
}

// is reports whether t is a name or keyword (as kind says) with text s.
func (t *token) is(kind tokKind, s string) bool {
	return t.kind == kind && !t.long && string(t.text[:t.n]) == s
}

// lexer turns bytes into PDF tokens. It can take back two tokens, enough
// to look ahead for "n g R".
type lexer struct {
	br    *bufio.Reader
	cr    countingReader // under br, for offsets
	back  [2]token
	nback int
	// check, when set, is asked every few thousand tokens (or buffers
	// skipped) whether to give up: then the lexer is stopped and reads as
	// at the end of its input.
	check   func() bool
	ticks   int
	stopped bool
	// The last two tokens read from the input (not given back), for
	// "n g obj": whoever read the integers (a broken dictionary, say),
	// the "obj" after them knows its object number. Only what that needs
	// is kept: copying whole tokens was a seventh of counting's time.
	last, before seen
}

// seen is what the lexer remembers of a token it has read.
type seen struct {
	kind  tokKind
	num   int64
	start int64
}

// tick counts a step and reports whether the lexer is stopped.
func (l *lexer) tick() bool {
	l.ticks++
	if !l.stopped && l.ticks%4096 == 0 && l.check != nil && l.check() {
		l.stopped = true
	}
	return l.stopped
}

// stop asks check now: for loops that take a buffer at a time.
func (l *lexer) stop() bool {
	if !l.stopped && l.check != nil && l.check() {
		l.stopped = true
	}
	return l.stopped
}

// reset makes l read r from its start, reusing its buffer.
func (l *lexer) reset(r io.Reader, size int) {
	l.cr = countingReader{r: r}
	if l.br == nil || l.br.Size() < size {
		l.br = bufio.NewReaderSize(&l.cr, size)
	} else {
		l.br.Reset(&l.cr)
	}
	l.nback = 0
	l.stopped = false
	l.last, l.before = seen{}, seen{}
}

// pos returns the offset of the next byte the lexer reads (or of the first
// token it gives back).
func (l *lexer) pos() int64 {
	if l.nback > 0 {
		return l.back[l.nback-1].start
	}
	return l.cr.n - int64(l.br.Buffered())
}

// unread gives t back: the next call of next returns it.
func (l *lexer) unread(t token) {
	l.back[l.nback] = t
	l.nback++
}

// next returns the next token.
func (l *lexer) next() (t token) {
	if l.nback > 0 {
		l.nback--
		return l.back[l.nback]
	}
	if l.tick() {
		return token{kind: tokEOF, start: l.pos()}
	}
	l.lex(&t)
	if t.is(tokKeyword, "obj") && l.before.kind == tokInt && l.last.kind == tokInt {
		t.hdr, t.num, t.at = true, l.before.num, l.before.start
	}
	l.before = l.last
	l.last = seen{t.kind, t.num, t.start}
	return t
}

// lex reads the next token from the input into t, which is zero.
func (l *lexer) lex(t *token) {
	for {
		c, err := l.br.ReadByte()
		if err != nil {
			t.kind, t.start = tokEOF, l.pos()
			return
		}
		t.start = l.pos() - 1
		switch c {
		case 0, '\t', '\n', '\f', '\r', ' ':
			continue
		case '%':
			l.skipLine()
			continue
		case '/':
			t.kind = tokName
			l.name(t)
		case '(':
			t.kind = tokString
			l.skipLiteral()
		case '<':
			if l.peekIs('<') {
				t.kind = tokDictOpen
			} else {
				t.kind = tokString
				l.skipPast('>')
			}
		case '>':
			t.kind = tokOther
			if l.peekIs('>') {
				t.kind = tokDictClose
			}
		case '[':
			t.kind = tokArrayOpen
		case ']':
			t.kind = tokArrayClose
		case ')', '{', '}':
			t.kind = tokOther
		default:
			l.regular(t, c)
		}
		return
	}
}

// peekIs consumes the next byte if it is c.
func (l *lexer) peekIs(c byte) bool {
	if b, err := l.br.Peek(1); err == nil && b[0] == c {
		l.br.Discard(1)
		return true
	}
	return false
}

func isSpace(c byte) bool {
	return c == 0 || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' '
}

func isDelimiter(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// regular reads the rest of a run of regular characters that starts with c:
// a number or a keyword.
func (l *lexer) regular(t *token, c byte) {
	t.add(c)
	for {
		c, err := l.br.ReadByte()
		if err != nil {
			break
		}
		if isSpace(c) || isDelimiter(c) {
			l.br.UnreadByte()
			break
		}
		t.add(c)
	}
	t.kind = tokKeyword
	if n, ok := t.number(); ok {
		t.kind, t.num = tokInt, n
	} else if t.isReal() {
		t.kind = tokReal
	}
}

// add appends c to the token's text, or marks the text cut.
func (t *token) add(c byte) {
	if int(t.n) == lexemeMax {
		t.long = true
		return
	}
	t.text[t.n] = c
	t.n++
}

// number parses the token's text as a PDF integer: an optional sign and
// digits, at most 18 of them so that it cannot overflow.
func (t *token) number() (int64, bool) {
	s := t.text[:t.n]
	if t.long || len(s) == 0 {
		return 0, false
	}
	neg := s[0] == '-'
	if s[0] == '-' || s[0] == '+' {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// isReal reports whether the token's text is a real number (or an integer
// too long for number).
func (t *token) isReal() bool {
	s := t.text[:t.n]
	for len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	digits := false
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case c != '.':
			return false
		}
	}
	return digits
}

// name reads a name after its slash, decoding #xx escapes.
func (l *lexer) name(t *token) {
	for {
		c, err := l.br.ReadByte()
		if err != nil {
			return
		}
		if isSpace(c) || isDelimiter(c) {
			l.br.UnreadByte()
			return
		}
		if c == '#' {
			if h, err := l.br.Peek(2); err == nil && isHex(h[0]) && isHex(h[1]) {
				c = unhex(h[0])<<4 | unhex(h[1])
				l.br.Discard(2)
			}
		}
		t.add(c)
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// skipLiteral skips a literal string after its opening parenthesis:
// balanced parentheses nest, a backslash escapes the next byte.
func (l *lexer) skipLiteral() {
	for i, depth := 0, 1; depth > 0; i++ {
		if i%4096 == 4095 && l.tick() {
			return
		}
		c, err := l.br.ReadByte()
		if err != nil {
			return
		}
		switch c {
		case '\\':
			if _, err := l.br.ReadByte(); err != nil {
				return
			}
		case '(':
			depth++
		case ')':
			depth--
		}
	}
}

// skipLine skips a comment: up to the end of the line. A "%%EOF" ends
// where it ends: updates are often appended right after it, on the same
// line, and a reader of the cross-reference table finds their objects
// there.
func (l *lexer) skipLine() {
	if b, _ := l.br.Peek(4); string(b) == "%EOF" {
		l.br.Discard(4)
		return
	}
	// A buffer at a time: padding in comments is common (printgate-load's
	// own PDFs carry a kilobyte of it), and a byte at a time cost more
	// than hashing the whole document.
	for {
		buf, err := l.br.Peek(max(l.br.Buffered(), 1))
		if i := lineEnd(buf); i >= 0 {
			l.br.Discard(i + 1)
			return
		}
		l.br.Discard(len(buf))
		if err != nil || l.stop() {
			return
		}
	}
}

// lineEnd returns the index of the first CR or LF in b, or -1: as
// bytes.IndexAny(b, "\r\n") does, in two vectorised searches instead of a
// byte at a time.
func lineEnd(b []byte) int {
	lf := bytes.IndexByte(b, '\n')
	if lf < 0 {
		return bytes.IndexByte(b, '\r')
	}
	if cr := bytes.IndexByte(b[:lf], '\r'); cr >= 0 {
		return cr
	}
	return lf
}

// skipPast consumes the input up to and including the next c.
func (l *lexer) skipPast(c byte) bool {
	for {
		_, err := l.br.ReadSlice(c)
		if err == nil {
			return true
		}
		if err != bufio.ErrBufferFull || l.stop() {
			return false
		}
	}
}

// countingReader counts the bytes read through it and keeps the first
// error other than io.EOF. When mark is set, it also finds the last
// occurrence of mark in the bytes, wherever it is (in a comment, a string
// or stream data): a reader of the cross-reference table looks for the
// last "startxref" that way, backwards from the end of the file.
type countingReader struct {
	r    io.Reader
	n    int64
	err  error
	mark []byte
	last int64 // the offset of mark's last occurrence; -1 none
	// The last len(mark)-1 bytes read, for a mark split between reads.
	tail  [16]byte
	ntail int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if len(c.mark) > 0 && n > 0 {
		c.look(p[:n])
	}
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// look finds mark in p, the bytes that follow the c.n read before.
func (c *countingReader) look(p []byte) {
	k := len(c.mark) - 1
	if c.ntail > 0 {
		var w [32]byte
		m := copy(w[:], c.tail[:c.ntail])
		m += copy(w[m:], p[:min(len(p), k)])
		if i := bytes.LastIndex(w[:m], c.mark); i >= 0 {
			c.last = c.n - int64(c.ntail) + int64(i)
		}
	}
	// Forward, as bytes.Index is fast where LastIndex hashes every byte.
	for from := 0; ; {
		i := bytes.Index(p[from:], c.mark)
		if i < 0 {
			break
		}
		c.last = c.n + int64(from+i)
		from += i + 1
	}
	if len(p) >= k {
		c.ntail = copy(c.tail[:], p[len(p)-k:])
		return
	}
	keep := min(c.ntail, k-len(p))
	copy(c.tail[:], c.tail[c.ntail-keep:c.ntail])
	c.ntail = keep + copy(c.tail[keep:], p)
}

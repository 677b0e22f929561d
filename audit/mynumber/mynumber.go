// Package mynumber finds individual numbers (個人番号, "My Number") in the
// text of a document: twelve digits whose last is the check digit of the
// other eleven, written as one run, in groups of four separated by spaces
// or hyphens, in ASCII or full-width digits, and across a line break.
//
// A Scanner reads text as it streams (an io.Writer) in constant memory
// and keeps only the fact: how many numbers, on which pages. The digits
// themselves never leave it, so nothing it reports can disclose a number.
package mynumber

import (
	"slices"
	"unicode/utf8"
)

// Valid reports whether the twelve digits d (0–9 each) are an individual
// number: the last is the check digit of the first eleven under the
// published formula (weights 2–7 from the right, remainder mod 11; 0 when
// the remainder is 0 or 1, else 11 minus it).
func Valid(d [12]byte) bool {
	sum := 0
	for n := 1; n <= 11; n++ {
		q := n + 1
		if n > 6 {
			q = n - 5
		}
		sum += int(d[11-n]) * q
	}
	r := sum % 11
	check := 0
	if r > 1 {
		check = 11 - r
	}
	return int(d[11]) == check
}

// Finding is what a Scanner found: never the numbers, only how many and
// where.
type Finding struct {
	// Count is the number of occurrences.
	Count int
	// Pages are the pages they are on, ascending, each once (at most
	// MaxPages of them).
	Pages []int
}

// MaxPages is the most pages a Finding lists.
const MaxPages = 1000

// sep is what stands between two digits of a run.
type sep uint8

const (
	sepNone sep = iota
	sepSpace
	sepHyphen
	sepNewline
	sepEnd // the run ended
)

// maxSepChars is the most characters a separator may have: a wider gap
// is two fields of a table, not one number. A line break may be wider.
const maxSepChars = 8

// group is a run of digits without a separator.
type group struct {
	digits [12]byte
	n      int // digits seen; more than 12 keeps the first 12
	before sep // separator before it; sepNone for the first of a run
	index  int // its place in the whole text, to mark groups used
}

// Scanner finds individual numbers in UTF-8 text written to it. A form
// feed ends a page. Its zero value starts on page 0; set FirstPage to 1
// for text whose pages end with a form feed (pdftotext), leave it 0 for
// text whose pages begin with one.
type Scanner struct {
	// FirstPage is the number of the page the text begins on.
	FirstPage int

	started bool
	page    int
	// last are the last three groups of the current run, oldest first.
	last    [3]group
	nlast   int
	inRun   bool
	pending sep // separator after the last digit, not yet followed by one
	sepLen  int
	hyphens int
	next    int // index of the next group
	used    int // groups with index below it belong to a number found

	// partial holds the start of a character split between writes.
	partial [utf8.UTFMax]byte
	npart   int

	count int
	pages []int
}

// Write scans p. It never fails.
func (s *Scanner) Write(p []byte) (int, error) {
	if !s.started {
		s.started, s.page = true, s.FirstPage
	}
	n := len(p)
	if s.npart > 0 {
		// Complete the character split across writes.
		buf := append(s.partial[:s.npart:s.npart], p[:min(utf8.UTFMax-s.npart, len(p))]...)
		if !utf8.FullRune(buf) {
			s.npart = copy(s.partial[:], buf)
			return n, nil
		}
		r, size := utf8.DecodeRune(buf)
		if size <= s.npart {
			// The bytes kept were no character.
			s.rune(utf8.RuneError)
		} else {
			s.rune(r)
			p = p[size-s.npart:]
		}
		s.npart = 0
	}
	for len(p) > 0 {
		c := p[0]
		if c < utf8.RuneSelf {
			s.rune(rune(c))
			p = p[1:]
			continue
		}
		if !utf8.FullRune(p) {
			s.npart = copy(s.partial[:], p)
			return n, nil
		}
		r, size := utf8.DecodeRune(p)
		s.rune(r)
		p = p[size:]
	}
	return n, nil
}

// Finding ends the text and returns what was found in it.
func (s *Scanner) Finding() Finding {
	if s.npart > 0 {
		s.npart = 0
		s.rune(utf8.RuneError)
	}
	s.endRun()
	return Finding{Count: s.count, Pages: slices.Clone(s.pages)}
}

// rune scans one character.
func (s *Scanner) rune(r rune) {
	if d, ok := digit(r); ok {
		s.digit(d)
		return
	}
	switch k := sepKind(r); {
	case r == '\f':
		s.endRun()
		s.page++
	case k != sepNone && s.inRun:
		s.separator(k)
	default:
		s.endRun()
	}
}

func (s *Scanner) digit(d byte) {
	switch {
	case !s.inRun:
		s.inRun = true
		s.nlast = 0
		s.push(sepNone)
	case s.pending != sepNone:
		s.decide(s.pending)
		s.push(s.pending)
	}
	s.pending, s.sepLen, s.hyphens = sepNone, 0, 0
	g := &s.last[s.nlast-1]
	if g.n < len(g.digits) {
		g.digits[g.n] = d
	}
	g.n++
}

// push starts a new group after separator before.
func (s *Scanner) push(before sep) {
	if s.nlast == len(s.last) {
		copy(s.last[:], s.last[1:])
		s.nlast--
	}
	s.last[s.nlast] = group{before: before, index: s.next}
	s.nlast++
	s.next++
}

func (s *Scanner) separator(k sep) {
	s.sepLen++
	if k == sepHyphen {
		s.hyphens++
	}
	if s.hyphens > 1 || (s.sepLen > maxSepChars && s.pending != sepNewline && k != sepNewline) {
		s.endRun()
		return
	}
	if k > s.pending {
		s.pending = k // a line break outweighs a hyphen, a hyphen a space
	}
}

func (s *Scanner) endRun() {
	if s.inRun {
		s.decide(sepEnd)
	}
	s.inRun, s.nlast, s.pending, s.sepLen, s.hyphens = false, 0, sepNone, 0, 0
}

// decide looks for a number ending with the last group of the run, now
// that what follows it (after) is known: twelve digits alone; three groups
// of four whose separators agree (a line break agrees with either), alone
// in the run or set apart from its other groups by line breaks; or two
// groups of twelve digits in all split by a line break, set apart so.
func (s *Scanner) decide(after sep) {
	g := s.last[:s.nlast]
	k := len(g) - 1
	if k < 0 || g[k].index < s.used {
		return
	}
	apart := after == sepEnd || after == sepNewline
	startsApart := func(i int) bool { return g[i].before == sepNone || g[i].before == sepNewline }
	var d [12]byte
	switch {
	case g[k].n == 12:
		d = g[k].digits
	case k >= 2 && apart && startsApart(k-2) && g[k-2].index >= s.used &&
		g[k-2].n == 4 && g[k-1].n == 4 && g[k].n == 4 && agree(g[k-1].before, g[k].before):
		copy(d[0:], g[k-2].digits[:4])
		copy(d[4:], g[k-1].digits[:4])
		copy(d[8:], g[k].digits[:4])
	case k >= 1 && apart && startsApart(k-1) && g[k-1].index >= s.used && g[k].before == sepNewline &&
		g[k-1].n+g[k].n == 12:
		copy(d[0:], g[k-1].digits[:g[k-1].n])
		copy(d[g[k-1].n:], g[k].digits[:g[k].n])
	default:
		return
	}
	if !Valid(d) {
		return
	}
	clear(d[:])
	s.used = g[k].index + 1
	s.count++
	if len(s.pages) < MaxPages && !slices.Contains(s.pages, s.page) {
		s.pages = append(s.pages, s.page)
	}
}

// agree reports whether two separators of one number belong together.
func agree(a, b sep) bool { return a == b || a == sepNewline || b == sepNewline }

// digit returns the value of an ASCII or full-width digit.
func digit(r rune) (byte, bool) {
	switch {
	case r >= '0' && r <= '9':
		return byte(r - '0'), true
	case r >= '０' && r <= '９':
		return byte(r - '０'), true
	}
	return 0, false
}

// sepKind says which separator r is, if any.
func sepKind(r rune) sep {
	switch r {
	case ' ', '\t', '\u00a0', '\u3000':
		return sepSpace
	case '\n', '\r', '\v':
		return sepNewline
	case '-', '\u00ad', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212', '\uff0d', '\u30fc':
		return sepHyphen
	}
	return sepNone
}

// Package mynumber finds individual numbers (個人番号, "My Number") in the
// text of a document: twelve digits whose last is the check digit of the
// other eleven, written as one run, as 4-4-4, 8-4 or 4-8 groups split by
// whitespace, a hyphen, a dot or a slash, one digit a box (twelve single
// digits split by whitespace, perhaps a hyphen after the fourth and the
// eighth, and rows of such boxes one after another), across a line or page
// break, in the decimal digits of any script, with invisible format
// characters anywhere.
//
// A Scanner reads text as it streams (an io.Writer) in constant memory
// and keeps only the fact: how many numbers, on which pages. The digits
// themselves never leave it, so nothing it reports can disclose a number.
package mynumber

import (
	"cmp"
	"slices"
	"unicode"
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

// sep is what stands between two digit groups of a run: a set of the
// kinds of character in it. The first group of a run has none.
type sep uint8

const (
	sepSpace sep = 1 << iota // whitespace within a line
	sepPunct                 // a hyphen, dot or slash
	sepBreak                 // a line or page break
	sepEnd                   // the run ended
)

// apart reports whether s sets a group apart from its neighbours: a
// number may begin or end there.
func (s sep) apart() bool { return s == 0 || s&(sepBreak|sepEnd) != 0 }

// maxSepChars is the most characters a separator may have: a wider gap
// is two fields of a table, not one number. A line break may be wider.
const maxSepChars = 8

// group is a run of digits without a separator.
type group struct {
	digits [12]byte
	n      int // digits seen; more than 12 keeps the first 12
	before sep // separator before it; 0 for the first of a run
	index  int // its place in the whole text, to mark groups used
	page   int // the page it is on
}

// boxes is a run of one-digit groups: numbers written in the boxes of a
// form, one digit each, split by whitespace and at most by one hyphen,
// dot or slash after the fourth and the eighth box (□□□□-□□□□-□□□□). A
// form's rows of boxes may follow one another with nothing but line
// breaks between them, so a run of twice or more twelve boxes is read
// twelve at a time.
type boxes struct {
	digits [12]byte // the twelve being read
	n      int      // boxes seen in the run
	bad    bool     // punctuation elsewhere than after a fourth or eighth box
	page   int      // page of the first of the twelve being read
	from   int      // index of the run's first box
	index  int      // index of its last
	found  int      // twelves read that are numbers
	pages  []int    // their first and last pages, ascending, each once
}

// add reads box g, followed by after, into the run.
func (b *boxes) add(g group, after sep) {
	at := b.n % len(b.digits) // its place among its twelve
	if b.n == 0 {
		b.from, b.found, b.pages = g.index, 0, b.pages[:0]
	}
	if at == 0 {
		b.page = g.page
	}
	b.digits[at] = g.digits[0]
	b.n++
	b.index = g.index
	b.bad = b.bad || (g.before&sepPunct != 0 && at != 4 && at != 8) || (after&sepPunct != 0 && at != 3 && at != 7)
	if at == len(b.digits)-1 {
		if Valid(b.digits) {
			b.found++
			b.addPage(b.page)
			b.addPage(g.page)
		}
		clear(b.digits[:])
	}
}

func (b *boxes) addPage(p int) {
	if len(b.pages) < MaxPages && (len(b.pages) == 0 || b.pages[len(b.pages)-1] != p) {
		b.pages = append(b.pages, p)
	}
}

// reset forgets the run.
func (b *boxes) reset() {
	clear(b.digits[:])
	b.n, b.bad = 0, false
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
	box     boxes
	inRun   bool
	pending sep // separator after the last digit, not yet followed by one
	sepLen  int // its characters other than line breaks
	puncts  int // its punctuation
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
	if r >= 0x3040 && r <= 0x9fff && r != 'ー' {
		// Kana and kanji, most of Japanese text, are none of the rest.
		s.endRun()
		return
	}
	if d, ok := digit(r); ok {
		s.digit(d)
		return
	}
	if ignored(r) {
		return
	}
	switch k := sepKind(r); {
	case r == '\f':
		s.page++
		if s.inRun {
			s.separator(sepBreak)
		}
	case k != 0:
		if s.inRun {
			s.separator(k)
		}
	default:
		s.endRun()
	}
}

func (s *Scanner) digit(d byte) {
	switch {
	case !s.inRun:
		s.inRun = true
		s.nlast = 0
		s.push(0)
	case s.pending != 0:
		s.decide(s.pending)
		s.push(s.pending)
	}
	s.pending, s.sepLen, s.puncts = 0, 0, 0
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
	s.last[s.nlast] = group{before: before, index: s.next, page: s.page}
	s.nlast++
	s.next++
}

func (s *Scanner) separator(k sep) {
	if k != sepBreak {
		s.sepLen++
	}
	if k == sepPunct {
		s.puncts++
	}
	s.pending |= k
	if s.puncts > 1 || (s.sepLen > maxSepChars && s.pending&sepBreak == 0) {
		s.endRun()
	}
}

func (s *Scanner) endRun() {
	if s.inRun {
		s.decide(sepEnd)
	}
	s.inRun, s.nlast, s.pending, s.sepLen, s.puncts = false, 0, 0, 0, 0
}

// decide looks for a number ending with the last group of the run, now
// that what follows it (after) is known: twelve digits alone; three groups
// of four, or two of eight and four, set apart from the run's other groups
// by line breaks; two groups of twelve digits in all split by a line
// break, set apart so; or twelve boxes (see boxes).
func (s *Scanner) decide(after sep) {
	g := s.last[:s.nlast]
	k := len(g) - 1
	if k < 0 {
		return
	}
	s.boxes(g[k], after)
	if g[k].index < s.used {
		return
	}
	var d [12]byte
	first := k
	switch {
	case g[k].n == 12:
		d = g[k].digits
	case k >= 2 && after.apart() && g[k-2].before.apart() && g[k-2].index >= s.used &&
		g[k-2].n == 4 && g[k-1].n == 4 && g[k].n == 4:
		first = k - 2
		copy(d[0:], g[k-2].digits[:4])
		copy(d[4:], g[k-1].digits[:4])
		copy(d[8:], g[k].digits[:4])
	case k >= 1 && after.apart() && g[k-1].before.apart() && g[k-1].index >= s.used &&
		g[k-1].n+g[k].n == 12 && (g[k].before&sepBreak != 0 || g[k].n == 4 || g[k].n == 8):
		first = k - 1
		copy(d[0:], g[k-1].digits[:g[k-1].n])
		copy(d[g[k-1].n:], g[k].digits[:g[k].n])
	default:
		return
	}
	s.found(&d, g[first].page, g[k].page, g[k].index)
}

// boxes follows runs of one-digit groups, group g followed by after: a
// run of twelve of them, or of a multiple of twelve, split as boxes may be
// (see boxes), holds a number in each twelve that is one (pdftotext puts
// each box on its own line). A run of another length is digits of
// something else, a table's column or a longer code.
func (s *Scanner) boxes(g group, after sep) {
	b := &s.box
	if g.n == 1 {
		b.add(g, after)
		if after != sepEnd {
			return
		}
	}
	if b.n > 0 && b.n%len(b.digits) == 0 && !b.bad && b.from >= s.used && b.found > 0 {
		s.used = b.index + 1
		s.count += b.found
		for _, p := range b.pages {
			s.addPage(p)
		}
	}
	b.reset()
}

// found counts digits d, from page first to page last, if they are a
// number; its last group is index. It clears d.
func (s *Scanner) found(d *[12]byte, first, last, index int) {
	ok := Valid(*d)
	clear(d[:])
	if !ok {
		return
	}
	s.used = index + 1
	s.count++
	s.addPage(first)
	s.addPage(last)
}

func (s *Scanner) addPage(p int) {
	i, ok := slices.BinarySearch(s.pages, p)
	if !ok && len(s.pages) < MaxPages {
		s.pages = slices.Insert(s.pages, i, p)
	}
}

// digit returns the value of a decimal digit of any script: ASCII,
// full-width, mathematical, Arabic-Indic, Devanagari...
func digit(r rune) (byte, bool) {
	if r >= '0' && r <= '9' {
		return byte(r - '0'), true
	}
	if r < utf8.RuneSelf || !unicode.IsDigit(r) {
		return 0, false
	}
	// Unicode assigns the decimal digits (Nd) of each script as ten
	// consecutive characters from zero, and its table lists them in
	// ranges of whole sets, so a digit's value is its offset mod 10.
	if r <= 0xffff {
		rs := unicode.Nd.R16
		i, _ := slices.BinarySearchFunc(rs, uint16(r), func(x unicode.Range16, r uint16) int { return cmp.Compare(x.Hi, r) })
		return byte((uint16(r) - rs[i].Lo) % 10), true
	}
	rs := unicode.Nd.R32
	i, _ := slices.BinarySearchFunc(rs, uint32(r), func(x unicode.Range32, r uint32) int { return cmp.Compare(x.Hi, r) })
	return byte((uint32(r) - rs[i].Lo) % 10), true
}

// ignored reports whether r is an invisible format character (zero-width
// space and joiners, word joiner, byte order mark, soft hyphen, direction
// marks): it may stand anywhere, even between the digits of a group.
func ignored(r rune) bool {
	return r >= utf8.RuneSelf && unicode.Is(unicode.Cf, r)
}

// sepKind says which separator r is, if any.
func sepKind(r rune) sep {
	switch r {
	case ' ', '\t':
		return sepSpace
	case '\n', '\r', '\v', '\f', '\u0085', '\u2028', '\u2029':
		return sepBreak
	case '-', '.', '/',
		'\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212', '\uff0d', '\u30fc', // hyphens, dashes, minus
		'\uff0e', '\u2024', // dots
		'\uff0f', '\u2044', '\u2215': // slashes
		return sepPunct
	}
	if r >= utf8.RuneSelf && unicode.IsSpace(r) {
		return sepSpace // no-break, ideographic and other spaces
	}
	return 0
}

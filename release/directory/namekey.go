package directory

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// NameKey is the form of a user name under which two names are the same
// user: the same letters in either case, after NFC. An ASCII letter
// never matches one outside ASCII, as Unicode's case folding would have
// the Kelvin sign K match k, the long s ſ match s, or the dotted capital
// İ match i, and as NFC itself turns the Kelvin sign into K: names that
// look alike are different users. So ALICE and alice share a key, Émile,
// E\u0301mile and ÉMILE share one, and \u212Aim (Kelvin sign) and kim do
// not.
func NameKey(name string) string {
	if isASCII(name) {
		return strings.ToLower(name)
	}
	var b strings.Builder
	b.Grow(len(name))
	start := 0
	for i, r := range name {
		if r >= utf8.RuneSelf && isASCII(norm.NFC.String(string(r))) {
			// A character NFC makes ASCII (the Kelvin sign, the Greek
			// question mark) stays itself.
			writeFolded(&b, name[start:i])
			b.WriteRune(foldOutsideASCII(r))
			start = i + utf8.RuneLen(r)
		}
	}
	writeFolded(&b, name[start:])
	return b.String()
}

// writeFolded writes s in NFC, each ASCII letter in lower case and each
// other character folded outside ASCII.
func writeFolded(b *strings.Builder, s string) {
	for _, r := range norm.NFC.String(s) {
		if r < utf8.RuneSelf {
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(foldOutsideASCII(r))
	}
}

// foldOutsideASCII returns the least rune outside ASCII of r's case
// folding orbit (unicode.SimpleFold): one rune for all the letters that
// strings.EqualFold would take for r, but the ASCII ones.
func foldOutsideASCII(r rune) rune {
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f >= utf8.RuneSelf && f < least {
			least = f
		}
	}
	return least
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

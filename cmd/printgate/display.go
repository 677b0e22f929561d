package main

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// shown is s as the command line prints a name or other text that users
// or printers chose: as it is when every character is graphic (letters,
// marks, digits, punctuation, symbols, spaces of any width), else quoted
// Go-style with the others escaped ("x\n\towner\thanako", "\u202e"). A
// control character, an ESC sequence or a bidirectional override would
// otherwise forge lines and columns of the table it sits in, or rewrite
// the terminal: the forensic answer of audit lookup among them. Text that
// starts with a quote is quoted too, so that no name passes for the
// quoted form of another.
func shown(s string) string {
	if utf8.ValidString(s) && !strings.HasPrefix(s, `"`) && strings.IndexFunc(s, notGraphic) < 0 {
		return s
	}
	return strconv.QuoteToGraphic(s)
}

func notGraphic(r rune) bool { return !strconv.IsGraphic(r) }

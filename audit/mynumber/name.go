package mynumber

import (
	"io"
	"strings"
	"unicode"
)

// MaskName returns name with each of its decimal digits, of any script, a
// '*' if it holds an individual number, else name as it is. Names travel
// where a document's content never does (job rows, audit events and
// records, exports, consoles, logs, SIEM messages), so a name that holds a
// number is masked before it is stored anywhere; a name without one keeps
// its digits ("invoice 2024-001.pdf").
func MaskName(name string) string {
	digits := 0
	for _, r := range name {
		if unicode.IsDigit(r) {
			digits++
		}
	}
	if digits < 12 {
		// Every job's names pass here: most have too few digits to hold
		// one, and need no scanner.
		return name
	}
	var sc Scanner
	_, _ = io.WriteString(&sc, name)
	if sc.Finding().Count == 0 {
		return name
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return '*'
		}
		return r
	}, name)
}

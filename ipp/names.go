package ipp

import (
	"strings"

	"github.com/OpenPrinting/goipp"
)

// filteredNames are the operation attributes a NameFilter sees: the names
// a client gives a job, which it makes from a document's title or file
// name.
var filteredNames = map[string]bool{"job-name": true, "document-name": true}

// cleanedNames are the operation attributes whose control characters are
// replaced (safeName): the names people read in job lists, the console,
// the audit trail and its exports.
var cleanedNames = map[string]bool{"job-name": true, "document-name": true, "requesting-user-name": true}

// cleanNames rewrites the names of m's operation group as a job keeps
// them, before their lengths are checked and job-name and document-name
// are cut to IPP's limit (checkLengths, shortenAttrs): first the
// Backend's NameFilter, which must see the whole value (a cut through an
// individual number would leave 11 of its 12 digits, and the twelfth is
// a check digit), then safeName. The filter comes first because safeName
// changes characters a filter may look through (direction marks inside a
// number). The operation group is m.Groups[0] (checkGroupOrder), and
// m.Operation becomes the same list, so that both views agree.
func (s *Server) cleanNames(m *goipp.Message) {
	filter, _ := s.backend.(NameFilter)
	ops := m.Groups[0].Attrs
	for i := range ops {
		a := &ops[i]
		if !cleanedNames[a.Name] {
			continue
		}
		f := safeName
		if filter != nil && filteredNames[a.Name] {
			f = func(v string) string { return safeName(filter.FilterName(v)) }
		}
		a.Values = mapText(a.Values, f)
	}
	m.Operation = ops
}

// mapText returns vals with f applied to each string and text value, in a
// new slice: goipp's views of a message share value slices.
func mapText(vals goipp.Values, f func(string) string) goipp.Values {
	out := make(goipp.Values, 0, len(vals))
	for _, v := range vals {
		switch s := v.V.(type) {
		case goipp.String:
			out.Add(v.T, goipp.String(f(string(s))))
		case goipp.TextWithLang:
			out.Add(v.T, goipp.TextWithLang{Lang: s.Lang, Text: f(s.Text)})
		default:
			out.Add(v.T, v.V)
		}
	}
	return out
}

// safeName returns s with each character that can make a name lie about
// itself where it is shown replaced by U+FFFD: the C0 and C1 control
// characters (a newline or tab forges lines and columns of a table, an
// ESC sequence rewrites a terminal), the bidirectional controls (U+202A
// to U+202E, U+2066 to U+2069, U+200E, U+200F, U+061C), which reorder
// what follows, and the line and paragraph separators. U+FFFD rather than
// removal, so that what was there stays visible; the rest of s is kept
// as it is.
func safeName(s string) string {
	if strings.IndexFunc(s, unsafeInName) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unsafeInName(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}

// unsafeInName reports whether safeName replaces r.
func unsafeInName(r rune) bool {
	switch {
	case r < 0x20 || r >= 0x7f && r <= 0x9f:
		return true // C0, DEL, C1
	case r == '\u061c' || r == '\u200e' || r == '\u200f':
		return true // Arabic letter mark, left-to-right and right-to-left marks
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true // embeddings, overrides, isolates
	case r == '\u2028' || r == '\u2029':
		return true
	}
	return false
}

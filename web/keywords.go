package web

import (
	"html/template"
	"regexp"
	"strconv"
	"strings"
)

// Catalog prefixes of keywords that Keyword treats specially.
const (
	kwMedia  = "ipp.media."
	kwReason = "ipp.reason."
)

// unknownKey is the catalog's word for a keyword it has no words for.
const unknownKey = "ipp.unknown"

// Keyword returns the catalog's words for prefix+value. A value the
// catalog does not know (a newer printer's keyword, a reason in a
// server's own words) shows as the catalog's word for "unknown" with the
// value in its title: a reader sees only their language and can still
// hover for the detail.
func (l *locale) Keyword(prefix, value string) template.HTML {
	if m, ok := l.msgs[prefix+value]; ok {
		return template.HTML(template.HTMLEscapeString(m))
	}
	if prefix == kwReason {
		// A printer's reason carries its severity as a suffix
		// (media-jam-error); the words are the same for each.
		for _, suffix := range []string{"-error", "-warning", "-report"} {
			if base, ok := strings.CutSuffix(value, suffix); ok {
				if m, ok := l.msgs[prefix+base]; ok {
					return template.HTML(template.HTMLEscapeString(m))
				}
			}
		}
	}
	if prefix == kwMedia {
		if m := l.mediaSize(value); m != "" {
			return template.HTML(`<span title="` + template.HTMLEscapeString(value) + `">` + template.HTMLEscapeString(m) + `</span>`)
		}
	}
	return l.unknown(value)
}

// Keywords returns the words for each of the comma-separated values, with
// the catalog's list separator between them.
func (l *locale) Keywords(prefix, values string) template.HTML {
	var out []string
	for v := range strings.SplitSeq(values, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, string(l.Keyword(prefix, v)))
		}
	}
	return template.HTML(strings.Join(out, template.HTMLEscapeString(l.T("ipp.list_separator"))))
}

// unknown is the word for an unknown value, the value in its title.
func (l *locale) unknown(value string) template.HTML {
	return template.HTML(`<span class="unknown" title="` + template.HTMLEscapeString(value) + `">` +
		template.HTMLEscapeString(l.T(unknownKey)) + `</span>`)
}

// selfDescribing matches a PWG 5101.1 self-describing media name:
// class_size-name_WIDTHxHEIGHTunit.
var selfDescribing = regexp.MustCompile(`^[a-z0-9-]+_[a-z0-9.-]+_([0-9]+(?:\.[0-9]+)?)x([0-9]+(?:\.[0-9]+)?)(mm|in)$`)

// mediaSize names a media keyword the catalog does not by its size, which
// a PWG self-describing name carries: "jpn_hagaki_100x148mm" is
// "100 × 148 mm". It returns "" for any other name.
func (l *locale) mediaSize(name string) string {
	if len(name) > 128 { // a real name is short; don't parse an essay
		return ""
	}
	m := selfDescribing.FindStringSubmatch(name)
	if m == nil {
		return ""
	}
	w, err1 := strconv.ParseFloat(m[1], 64)
	h, err2 := strconv.ParseFloat(m[2], 64)
	if err1 != nil || err2 != nil {
		return ""
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	return l.T("ipp.media_size", f(w), f(h), m[3])
}

// EndedHTML is how a job ended, as Ended words it where the catalog has
// words for its reason; otherwise its outcome and reason as keywords
// (Keyword), so that a reason printgate has no words for shows as
// unknown rather than as a raw keyword.
func (l *locale) EndedHTML(outcome, reason string) template.HTML {
	if _, ok := l.msgs["ended."+reason]; ok && reason != "" {
		return template.HTML(template.HTMLEscapeString(l.Ended(outcome, reason)))
	}
	out := l.Keyword("outcome.", outcome)
	if reason != "" {
		out += ` <span class="muted">(` + l.Keyword(kwReason, reason) + `)</span>`
	}
	return out
}

package ipp

import (
	"fmt"
	"unicode/utf8"

	"github.com/OpenPrinting/goipp"
)

// IPP's limits on the length of a value, in octets (RFC 8011 §5.1).
const (
	// MaxName is the MAX of name(MAX) (§5.1.3), and of keyword and
	// mimeMediaType values.
	MaxName = 255
	// MaxText is the MAX of text(MAX) (§5.1.2), and of uri values.
	MaxText = 1023
)

// statusMessageMax is the MAX of status-message, text(255) (§4.1.6.2).
const statusMessageMax = 255

// forwardedNameMax is the longest job-name the Client sends a printer,
// below IPP's 255 octets: printers keep names in buffers and file names
// of their own, and a valid name(MAX) can still fail there (ippeveprinter
// names its print file "<job-id>-<job-name>.<ext>" and refuses the job
// with "File name too long" past some 240 octets). No panel or job log
// shows more than this.
const forwardedNameMax = 127

// attrMax are the attributes whose MAX is below their syntax's.
var attrMax = map[string]int{
	"message": 127, // the operator's message of Cancel-Job and its kin (§4.3.3)
}

// shortenedAttrs are the attributes a value too long for is cut short
// rather than refused (RFC 8011 §4.1.7: a substituted value, answered
// with successful-ok-ignored-or-substituted-attributes). Clients make
// them from a document's title or file name, which the user cannot change
// in a print dialog: a title of 86 kanji is already 258 octets of UTF-8.
// They only describe the job. Any other value past its limit, above all
// requesting-user-name, which says who owns the job, is refused with
// client-error-request-value-too-long: cut short, two names could become
// one.
var shortenedAttrs = map[string]bool{"job-name": true, "document-name": true}

// valueMax returns the most octets a value of attribute name with tag may
// have, or 0 when IPP sets no limit printgate checks.
func valueMax(name string, tag goipp.Tag) int {
	if n, ok := attrMax[name]; ok {
		return n
	}
	switch tag {
	case goipp.TagName, goipp.TagNameLang, goipp.TagKeyword, goipp.TagMimeType, goipp.TagMemberName:
		return MaxName
	case goipp.TagText, goipp.TagTextLang, goipp.TagURI:
		return MaxText
	case goipp.TagCharset, goipp.TagLanguage, goipp.TagURIScheme:
		return 63
	}
	return 0
}

// tooLong returns the name and limit of the first value in a (or in its
// collections) longer than IPP allows, and false when there is none.
func tooLong(a goipp.Attribute) (string, int, bool) {
	for _, v := range a.Values {
		limit := valueMax(a.Name, v.T)
		switch v := v.V.(type) {
		case goipp.String:
			if limit > 0 && len(v) > limit {
				return a.Name, limit, true
			}
		case goipp.TextWithLang:
			if limit > 0 && len(v.Text) > limit {
				return a.Name, limit, true
			}
			if len(v.Lang) > 63 {
				return a.Name, 63, true
			}
		case goipp.Collection:
			for _, m := range v {
				if name, limit, ok := tooLong(m); ok {
					return name, limit, true
				}
			}
		}
	}
	return "", 0, false
}

// checkLengths refuses a request holding a value longer than IPP allows,
// with client-error-request-value-too-long and the attribute in the
// unsupported group, except for the operation attributes of
// shortenedAttrs: those it returns, to be cut short once the operation
// attributes are indexed (shortenAttrs).
func checkLengths(req *request) (shorten []string, st goipp.Status, msg string) {
	for i, g := range req.msg.Groups {
		for _, a := range g.Attrs {
			name, limit, over := tooLong(a)
			if !over {
				continue
			}
			if i == 0 && name == a.Name && shortenedAttrs[a.Name] {
				shorten = append(shorten, a.Name)
				continue
			}
			req.resp.Unsupported.Add(unsupportedValue(a.Name))
			return nil, goipp.StatusErrorRequestValue,
				fmt.Sprintf("The %s value is longer than the %d octets IPP allows.", name, limit)
		}
	}
	return shorten, goipp.StatusOk, ""
}

// shortenAttrs cuts the named operation attributes of req to their limit,
// naming them in the unsupported group, as RFC 8011 §4.1.7 asks of
// substituted values.
func shortenAttrs(req *request, names []string) {
	for _, name := range names {
		a, ok := req.op[name]
		if !ok {
			continue
		}
		req.resp.Unsupported.Add(unsupportedValue(name))
		short := goipp.Attribute{Name: a.Name}
		for _, v := range a.Values {
			limit := valueMax(a.Name, v.T)
			switch s := v.V.(type) {
			case goipp.String:
				short.Values.Add(v.T, goipp.String(truncateUTF8(string(s), limit)))
			case goipp.TextWithLang:
				short.Values.Add(v.T, goipp.TextWithLang{Lang: s.Lang, Text: truncateUTF8(s.Text, limit)})
			default:
				short.Values.Add(v.T, v.V)
			}
		}
		req.op[name] = short
		req.shortened = append(req.shortened, name)
	}
}

// unsupportedValue names attribute name in the unsupported group with the
// out-of-band value 'unsupported' (RFC 8011 §4.1.7) rather than the value
// sent: a value past its limit would make the reply invalid, and clients
// that check replies (libcups's ippValidateAttributes, ipptool) would
// take it for a malformed one.
func unsupportedValue(name string) goipp.Attribute {
	return goipp.MakeAttribute(name, goipp.TagUnsupportedValue, goipp.Void{})
}

// shortenedMessage is the status-message of a request whose names were
// cut short.
func shortenedMessage(names []string) string {
	if len(names) == 1 {
		return fmt.Sprintf("The %s was longer than the %d octets IPP allows and was shortened.", names[0], MaxName)
	}
	return fmt.Sprintf("The job-name and document-name were longer than the %d octets IPP allows and were shortened.", MaxName)
}

// ShortenName cuts s to the longest prefix of at most MaxName octets that
// ends on a character boundary: a valid name(MAX) for a printer.
func ShortenName(s string) string { return truncateUTF8(s, MaxName) }

// truncateUTF8 cuts s to at most n octets without splitting a UTF-8
// character.
func truncateUTF8(s string, n int) string {
	if n <= 0 || len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

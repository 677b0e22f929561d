package ipp_test

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/ipp"
)

func nameVal(name, v string) goipp.Attribute {
	return goipp.MakeAttribute(name, goipp.TagName, goipp.String(v))
}

// attrOf returns the first value of name in attrs as a string, and
// whether it is there.
func attrOf(attrs goipp.Attributes, name string) (string, bool) {
	for _, a := range attrs {
		if a.Name == name && len(a.Values) > 0 {
			switch v := a.Values[0].V.(type) {
			case goipp.TextWithLang:
				return v.Text, true
			default:
				return v.String(), true
			}
		}
	}
	return "", false
}

// TestValueLengths sends name and text values past IPP's limits (RFC 8011
// §5.1) to the real release backend: job-name and document-name are cut
// at a character boundary and the job is made, with
// successful-ok-ignored-or-substituted-attributes and the values sent in
// the unsupported group; any other value too long is refused with
// client-error-request-value-too-long.
func TestValueLengths(t *testing.T) {
	e := newFuzzEnv(t)
	const pdf = "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
	kanji := "a" + strings.Repeat("給", 100) // 301 octets: cut to "a" and 84 kanji, 253 octets
	tests := []struct {
		name      string
		body      []byte
		status    goipp.Status
		unsup     string // the attribute the unsupported group must hold
		jobName   string // the job-name the job must have, when one is made
		checkName bool
	}{
		{"job-name of 1000 octets", request(goipp.OpPrintJob, 1, "fuzz",
			op(nameVal("job-name", strings.Repeat("n", 1000)))).doc(pdf),
			goipp.StatusOkIgnoredOrSubstituted, "job-name", strings.Repeat("n", 255), true},
		{"job-name cut at a character boundary", request(goipp.OpPrintJob, 2, "fuzz",
			op(nameVal("job-name", kanji))).doc(pdf),
			goipp.StatusOkIgnoredOrSubstituted, "job-name", "a" + strings.Repeat("給", 84), true},
		{"job-name of 255 octets is kept", request(goipp.OpPrintJob, 3, "fuzz",
			op(nameVal("job-name", strings.Repeat("k", 255)))).doc(pdf),
			goipp.StatusOk, "", strings.Repeat("k", 255), true},
		{"job-name cut under ipp-attribute-fidelity", request(goipp.OpPrintJob, 12, "fuzz",
			op(nameVal("job-name", strings.Repeat("f", 300)),
				goipp.MakeAttribute("ipp-attribute-fidelity", goipp.TagBoolean, goipp.Boolean(true)))).doc(pdf),
			goipp.StatusOkIgnoredOrSubstituted, "job-name", strings.Repeat("f", 255), true},
		{"job-name with language", request(goipp.OpPrintJob, 4, "fuzz",
			op(goipp.MakeAttribute("job-name", goipp.TagNameLang,
				goipp.TextWithLang{Lang: "ja", Text: strings.Repeat("名", 400)}))).doc(pdf),
			goipp.StatusOkIgnoredOrSubstituted, "job-name", strings.Repeat("名", 85), true},
		{"document-name of 300 octets", request(goipp.OpPrintJob, 5, "fuzz",
			op(nameVal("job-name", "short"), nameVal("document-name", strings.Repeat("d", 300)))).doc(pdf),
			goipp.StatusOkIgnoredOrSubstituted, "document-name", "short", true},
		{"validate-job with a long job-name", request(goipp.OpValidateJob, 6, "fuzz",
			op(nameVal("job-name", strings.Repeat("v", 256)))).doc(""),
			goipp.StatusOkIgnoredOrSubstituted, "job-name", "", false},
		{"create-job with a long job-name", request(goipp.OpCreateJob, 7, "fuzz",
			op(nameVal("job-name", strings.Repeat("c", 2000)))).doc(""),
			goipp.StatusOkIgnoredOrSubstituted, "job-name", strings.Repeat("c", 255), true},
		{"requesting-user-name of 256 octets", request(goipp.OpPrintJob, 8, strings.Repeat("u", 256)).doc(pdf),
			goipp.StatusErrorRequestValue, "requesting-user-name", "", false},
		{"text past 1023 octets", request(goipp.OpPrintJob, 9, "fuzz",
			job(goipp.MakeAttribute("job-account-id", goipp.TagText, goipp.String(strings.Repeat("t", 1024))))).doc(pdf),
			goipp.StatusErrorRequestValue, "job-account-id", "", false},
		{"message past its 127 octets", request(goipp.OpCancelJob, 10, "fuzz",
			op(ints("job-id", 1), goipp.MakeAttribute("message", goipp.TagText, goipp.String(strings.Repeat("m", 128))))).doc(""),
			goipp.StatusErrorRequestValue, "message", "", false},
		{"a long name inside a collection", request(goipp.OpPrintJob, 11, "fuzz",
			job(goipp.MakeAttribute("media-col", goipp.TagBeginCollection, goipp.Collection{
				goipp.MakeAttribute("media-key", goipp.TagName, goipp.String(strings.Repeat("k", 256)))}))).doc(pdf),
			goipp.StatusErrorRequestValue, "media-col", "", false},
		{"page overrides are refused, not ignored", request(goipp.OpPrintJob, 13, "fuzz",
			job(goipp.MakeAttribute("overrides", goipp.TagBeginCollection, goipp.Collection{
				goipp.MakeAttribute("pages", goipp.TagRange, goipp.Range{Lower: 1, Upper: 1}),
				goipp.MakeAttribute("sides", goipp.TagKeyword, goipp.String("one-sided"))}))).doc(pdf),
			goipp.StatusErrorAttributesOrValues, "overrides", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := e.serve(t, tc.body)
			msg, _ := attrOf(m.Operation, "status-message")
			if st := goipp.Status(m.Code); st != tc.status {
				t.Fatalf("status %s (%s), want %s", st, msg, tc.status)
			}
			if len(msg) > 255 {
				t.Errorf("status-message of %d octets, past its 255", len(msg))
			}
			if tc.unsup != "" {
				if _, ok := attrOf(m.Unsupported, tc.unsup); !ok {
					t.Errorf("the unsupported group lacks %s: %v", tc.unsup, m.Unsupported)
				}
			}
			// The reply itself must be valid: clients that check replies
			// (ipptool) reject one that echoes a value past its limit.
			for _, a := range m.Unsupported {
				if v, _ := attrOf(goipp.Attributes{a}, a.Name); len(v) > ipp.MaxName {
					t.Errorf("the unsupported group echoes %s of %d octets", a.Name, len(v))
				}
			}
			id, made := attrOf(m.Job, "job-id")
			if tc.status >= 0x0400 {
				if made {
					t.Errorf("a refused request made job %s", id)
				}
				return
			}
			if !tc.checkName {
				return
			}
			got := e.serve(t, request(goipp.OpGetJobAttributes, 100, "fuzz",
				op(goipp.MakeAttribute("job-id", goipp.TagInteger, jobID(t, id)))).doc(""))
			name, _ := attrOf(got.Job, "job-name")
			if name != tc.jobName {
				t.Errorf("job-name %q (%d octets), want %q (%d)", name, len(name), tc.jobName, len(tc.jobName))
			}
			if !utf8.ValidString(name) || len(name) > ipp.MaxName {
				t.Errorf("job-name of %d octets is no valid name(MAX)", len(name))
			}
		})
	}
}

func jobID(t *testing.T, s string) goipp.Integer {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("job-id %q: %v", s, err)
	}
	return goipp.Integer(n)
}

func TestShortenName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{strings.Repeat("x", 255), strings.Repeat("x", 255)},
		{strings.Repeat("x", 256), strings.Repeat("x", 255)},
		{"ab" + strings.Repeat("給", 90), "ab" + strings.Repeat("給", 84)},             // 2+252 = 254
		{strings.Repeat("😀", 70), strings.Repeat("😀", 63)},                           // 4-octet characters: 252
		{"e\u0301" + strings.Repeat("é", 200), "e\u0301" + strings.Repeat("é", 126)}, // 3+252 = 255
	}
	for _, tc := range tests {
		got := ipp.ShortenName(tc.in)
		if got != tc.want || !utf8.ValidString(got) {
			t.Errorf("ShortenName(%d octets) = %d octets %q..., want %d", len(tc.in), len(got), got[:min(len(got), 8)], len(tc.want))
		}
	}
}

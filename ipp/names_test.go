package ipp_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// TestNamesMaskedBeforeTheCut: a job-name or document-name whose
// individual number straddles IPP's 255-octet cut is masked whole before
// the cut, so that no 11 digits of the number (the twelfth is a check
// digit: 11 give it away) are left in the job's row, in
// Get-Job-Attributes or in the audit trail, however the name came
// (Print-Job, Create-Job, Send-Document) and however the number is
// written.
func TestNamesMaskedBeforeTheCut(t *testing.T) {
	e := newServerEnv(t, "")
	// straddle returns a name of title and then number, long enough that
	// a cut at 255 octets keeps all of number but its last digit (leak).
	straddle := func(number string) (name, leak string) {
		_, last := utf8.DecodeLastRuneInString(number)
		leak = number[:len(number)-last]
		return strings.Repeat("t", ipp.MaxName-len(leak)) + number, leak
	}
	tests := []struct {
		name   string
		op     goipp.Op // Print-Job, Create-Job, or Send-Document after Create-Job
		attr   string   // job-name or document-name
		number string
	}{
		{"job-name, Print-Job", goipp.OpPrintJob, "job-name", "123456789018"},
		{"job-name with spaces", goipp.OpPrintJob, "job-name", "1234 5678 9018"},
		{"job-name in full-width digits", goipp.OpPrintJob, "job-name", "１２３４５６７８９０１８"},
		{"job-name, Create-Job", goipp.OpCreateJob, "job-name", "123456789018"},
		{"document-name, Print-Job", goipp.OpPrintJob, "document-name", "123456789018"},
		{"document-name, Send-Document", goipp.OpSendDocument, "document-name", "1234-5678-9018"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name, leak := straddle(tc.number)
			named := nameVal(tc.attr, name)
			pdf := mimeVal("application/pdf")
			var id goipp.Integer
			var reply *goipp.Message
			switch tc.op {
			case goipp.OpPrintJob:
				reply = e.do(t, "secure", e.request(goipp.OpPrintJob, "secure", "hanako", named, pdf), e.pdf)
				id = madeJob(t, reply)
			case goipp.OpCreateJob, goipp.OpSendDocument:
				create := nameVal("job-name", "slip")
				if tc.op == goipp.OpCreateJob {
					create = named
				}
				reply = e.do(t, "secure", e.request(goipp.OpCreateJob, "secure", "hanako", create), nil)
				id = madeJob(t, reply)
				send := []goipp.Attribute{ints("job-id", int(id)), goipp.MakeAttribute("last-document", goipp.TagBoolean, goipp.Boolean(true)), pdf}
				if tc.op == goipp.OpSendDocument {
					send = append(send, named)
				}
				reply = e.do(t, "secure", e.request(goipp.OpSendDocument, "secure", "hanako", send...), e.pdf)
			}
			if st := goipp.Status(reply.Code); st >= 0x0100 {
				msg, _ := attrOf(reply.Operation, "status-message")
				t.Fatalf("%s: %s (%s)", tc.op, st, msg)
			}
			jobName, docName := e.jobRow(t, id)
			stored := map[string]string{"job-name": jobName, "document-name": docName}[tc.attr]
			if !strings.Contains(stored, "*") {
				t.Errorf("the stored %s, ending %q, is not masked", tc.attr, stored[max(0, len(stored)-40):])
			}
			got := e.do(t, "secure", e.request(goipp.OpGetJobAttributes, "secure", "hanako", ints("job-id", int(id))), nil)
			attrName, _ := attrOf(got.Job, "job-name")
			for what, text := range map[string]string{
				"the job's row":      jobName + "\n" + docName,
				"Get-Job-Attributes": attrName,
				"the database":       testenv.DumpTables(t, e.db),
			} {
				if strings.Contains(text, leak) {
					t.Errorf("%s keeps %q of the number %q", what, leak, tc.number)
				}
			}
		})
	}
}

// TestControlCharactersInNames: control characters and bidirectional
// controls in job-name, document-name and requesting-user-name, sent in a
// real IPP request, are stored, listed and audited as U+FFFD, so that no
// name forges lines or columns where it is shown; other text is kept.
func TestControlCharactersInNames(t *testing.T) {
	e := newServerEnv(t, "")
	tests := []struct {
		name, attr, value, want string
	}{
		{"newline and tabs", "job-name", "x\n\towner\thanako", "x\uFFFD\uFFFDowner\uFFFDhanako"},
		{"escape sequence", "job-name", "\x1b[2J\x1b[1;1Hreport", "\uFFFD[2J\uFFFD[1;1Hreport"},
		{"C1 controls", "document-name", "a\u0085b\u009bc", "a\uFFFDb\uFFFDc"},
		{"right-to-left override", "document-name", "invoice\u202Efdp.exe", "invoice\uFFFDfdp.exe"},
		{"isolates and marks", "job-name", "\u2066a\u2069\u200e\u200f\u061c", "\uFFFDa\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"line separator", "job-name", "a\u2028b", "a\uFFFDb"},
		{"user name", "requesting-user-name", "hanako\n\tadmin", "hanako\uFFFD\uFFFDadmin"},
		{"Japanese, emoji and ideographic space kept", "job-name", "給与明細　2026年😀", "給与明細　2026年😀"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			user := "hanako"
			attrs := []goipp.Attribute{mimeVal("application/pdf")}
			if tc.attr == "requesting-user-name" {
				user = tc.value
			} else {
				attrs = append(attrs, nameVal(tc.attr, tc.value))
			}
			reply := e.do(t, "secure", e.request(goipp.OpPrintJob, "secure", user, attrs...), e.pdf)
			id := madeJob(t, reply)
			var row struct{ Name, DocumentName, Owner, ClaimedUser string }
			if err := e.db.Raw("SELECT name, document_name, owner, claimed_user FROM jobs WHERE id = ?", int(id)).
				Scan(&row).Error; err != nil {
				t.Fatal(err)
			}
			stored := map[string]string{"job-name": row.Name, "document-name": row.DocumentName,
				"requesting-user-name": row.Owner}[tc.attr]
			if stored != tc.want {
				t.Errorf("stored %s %q, want %q", tc.attr, stored, tc.want)
			}
			if tc.attr == "requesting-user-name" && row.ClaimedUser != tc.want {
				t.Errorf("stored claimed user %q, want %q", row.ClaimedUser, tc.want)
			}
			if tc.attr == "document-name" && row.Name != tc.want {
				t.Errorf("job named %q after its document, want %q", row.Name, tc.want)
			}
			got := e.do(t, "secure", e.request(goipp.OpGetJobAttributes, "secure", row.Owner, ints("job-id", int(id))), nil)
			listed := map[string]string{}
			for _, n := range []string{"job-name", "job-originating-user-name"} {
				listed[n], _ = attrOf(got.Job, n)
			}
			if tc.attr != "document-name" {
				n := map[string]string{"job-name": "job-name", "requesting-user-name": "job-originating-user-name"}[tc.attr]
				if listed[n] != tc.want {
					t.Errorf("Get-Job-Attributes %s %q, want %q", n, listed[n], tc.want)
				}
			}
			events, err := e.audit.Timeline(t.Context(), int64(id))
			if err != nil || len(events) == 0 {
				t.Fatalf("audit events of job %d: %v, %v", id, events, err)
			}
			for _, ev := range events {
				texts := []string{ev.Owner}
				if ev.Job != nil {
					texts = append(texts, ev.Job.DocumentName, ev.Job.Owner, ev.Job.ClaimedUser)
				}
				for _, v := range ev.Details {
					texts = append(texts, v)
				}
				for _, s := range texts {
					if strings.ContainsFunc(s, forges) {
						t.Errorf("audit event %s holds %q", ev.Type, s)
					}
				}
			}
		})
	}
}

// forges reports whether r is a character no stored name may hold: a C0
// or C1 control, or a bidirectional control or line separator.
func forges(r rune) bool {
	return r < 0x20 || r >= 0x7f && r <= 0x9f || r >= 0x2028 && r <= 0x202e || r >= 0x2066 && r <= 0x2069 ||
		r == 0x200e || r == 0x200f || r == 0x61c
}

func mimeVal(name string) goipp.Attribute {
	return goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String(name))
}

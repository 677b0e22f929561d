package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/release/stamp"
)

// TestShown: text users or printers chose is printed as it is when it
// is all graphic characters, Japanese and full-width spaces included,
// and quoted with the rest escaped otherwise.
func TestShown(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hanako", "hanako"},
		{"給与明細　2026年4月.pdf", "給与明細　2026年4月.pdf"},
		{"x\n\towner\thanako", `"x\n\towner\thanako"`},
		{"\x1b[2J\x1b[1;1Hhanako", `"\x1b[2J\x1b[1;1Hhanako"`},
		{"invoice\u202efdp.exe", `"invoice\u202efdp.exe"`},
		{"a\u009bb", `"a\u009bb"`},
		{"a\u2066b\u200f", `"a\u2066b\u200f"`},
		{"bad \xff utf-8", `"bad \xff utf-8"`},
		{`"quoted"`, `"\"quoted\""`},
	}
	for _, tc := range tests {
		if got := shown(tc.in); got != tc.want {
			t.Errorf("shown(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestLookupNamesCannotForge: a name holding newlines, tabs, an escape
// sequence or a bidirectional override, in the job a verification code
// leads to, is printed quoted by audit lookup: the answer keeps its lines
// (one per field, the owner's the real one) and no character that moves
// the cursor or reorders text reaches the terminal.
func TestLookupNamesCannotForge(t *testing.T) {
	labels := []string{"owner", "queue", "printer", "released", "document", "outcome", "stamp", "event"}
	for _, name := range []string{
		"payslip.pdf\nowner\thanako",
		"x\n\towner\thanako\n\tqueue\tsecure",
		"\x1b[1A\x1b[2Kowner  hanako",
		"report\u202efdp.exe",
		"a\u009b1Ab\u2066c",
	} {
		t.Run(strconv.Quote(name), func(t *testing.T) {
			var out strings.Builder
			a := &app{stdout: &out}
			at := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
			m := stamp.Match{Code: "ABCD 2345 EFGH", Time: at,
				Job: audit.JobRecord{JobID: 7, JobInfo: audit.JobInfo{Owner: "mallory", Queue: "secure",
					DocumentName: name, Format: "application/pdf", Size: 1234}, Outcome: "printed"},
				Event: audit.Event{Seq: 42, At: at, Printer: "ipp://mfp/ipp/print",
					Details: map[string]string{stamp.DetailText: "mallory | 2026/04/01 09:00 UTC | Job 7"}}}
			if err := a.printMatch(m, time.UTC); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if len(lines) != 1+len(labels) {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), 1+len(labels), out.String())
			}
			for i, label := range labels {
				if f := strings.Fields(lines[i+1]); len(f) == 0 || f[0] != label {
					t.Errorf("line %d is %q, want the %s", i+2, lines[i+1], label)
				}
			}
			if f := strings.Fields(lines[1]); len(f) != 2 || f[1] != "mallory" {
				t.Errorf("owner line %q, want mallory alone", lines[1])
			}
			if i := strings.IndexFunc(out.String(), func(r rune) bool { return r != '\n' && notGraphic(r) }); i >= 0 {
				t.Errorf("the answer holds %q:\n%s", []rune(out.String()[i:])[0], out.String())
			}
		})
	}
}

// TestTableQuotesCells: a table cell holding a newline or tab stays one
// cell of one row.
func TestTableQuotesCells(t *testing.T) {
	var tab table
	tab.row("NAME", "ROLE")
	tab.row("bob\nmallory\tadmin", "user")
	var out strings.Builder
	if err := tab.write(&out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], `"bob\nmallory\tadmin"`) || strings.Contains(out.String(), "\t") {
		t.Errorf("table:\n%s", out.String())
	}
}

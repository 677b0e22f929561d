package siem

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// goldenEvent is an event with every part a message shows.
func goldenEvent() *audit.Event {
	return &audit.Event{
		Seq: 42, At: time.Date(2026, 12, 2, 1, 2, 3, 456789000, time.UTC), Type: audit.EventSubmitted, JobID: 7,
		Owner: "山田", Actor: "山田", Queue: "payroll",
		Job: &audit.JobInfo{Queue: "payroll", Owner: "山田", DocumentName: `給与明細 "12月" ]\`, Format: "application/pdf",
			Size: 1234, Pages: 2, PagesKnown: true, Copies: 1, Submitted: time.Date(2026, 12, 2, 1, 2, 3, 0, time.UTC)},
		Details:  map[string]string{"note": "<&>"},
		PrevHash: bytes.Repeat([]byte{0xab}, 32), Hash: bytes.Repeat([]byte{0xcd}, 32),
	}
}

// TestFormatGolden pins the message format: what SIEM parsers are
// written against must not change by accident.
func TestFormatGolden(t *testing.T) {
	got := Format(Header{Hostname: "print server 1", ProcID: "4242"}, goldenEvent())
	path := filepath.Join("testdata", "message.golden")
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(got, '\n'), want) {
		t.Fatalf("message changed:\n got %s\nwant %s", got, want)
	}
}

// TestParseFormat: what Format writes parses back: header fields, the
// structured data, and a copy of the event that reads back to it.
func TestParseFormat(t *testing.T) {
	ev := goldenEvent()
	m, err := Parse(Format(Header{}, ev))
	if err != nil {
		t.Fatal(err)
	}
	if m.Priority != 110 || m.Hostname != "-" || m.AppName != AppName || m.ProcID != "-" || m.MsgID != "submitted" ||
		m.Timestamp != "2026-12-02T01:02:03.456789Z" {
		t.Errorf("header %+v", m)
	}
	if m.Params["seq"] != "42" || m.Params["job"] != "7" || m.Params["hash"] != strings.Repeat("cd", 32) ||
		m.Params["prev"] != strings.Repeat("ab", 32) {
		t.Errorf("structured data %v", m.Params)
	}
	got, err := audit.UnmarshalCopy(m.Msg)
	if err != nil {
		t.Fatal(err)
	}
	if got.Job.DocumentName != ev.Job.DocumentName || got.Owner != ev.Owner || got.Details["note"] != "<&>" {
		t.Errorf("event %+v", got)
	}
}

// TestParseRefuses: what is not an RFC 5424 message is an error, and the
// escapes of PARAM-VALUE are undone.
func TestParseRefuses(t *testing.T) {
	for _, in := range []string{
		``, `hello`, `<>1 - - - - - -`, `<192>1 - - - - - -`, `<13>2 - - - - - -`, `<13>1 - - -`,
		`<13>1 - - - - - x`, `<13>1 - - - - - [id`, `<13>1 - - - - - [id a="b]`, `<13>1 - - - - - [id a=b]`,
		`<13>1 - - - - - [printgate@32473 seq="1"]x`,
	} {
		if _, err := Parse([]byte(in)); !errors.Is(err, errSyntax) {
			t.Errorf("Parse(%q): %v, want a syntax error", in, err)
		}
	}
	m, err := Parse([]byte(`<110>1 - h a p m [other x="1"][printgate@32473 a="q\"b\\c\]d"] ` + "\xEF\xBB\xBF" + `text`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Params["a"] != `q"b\c]d` || string(m.Msg) != "text" {
		t.Fatalf("params %v, msg %q", m.Params, m.Msg)
	}
}

// FuzzParse: any line parses or is refused, without panic; the values
// of a parsed one come from the line.
func FuzzParse(f *testing.F) {
	f.Add(Format(Header{Hostname: "h", ProcID: "1"}, goldenEvent()))
	f.Add([]byte(`<13>1 - - - - - [printgate@32473 seq="1" hash="\]"] {}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		m, err := Parse(line)
		if err != nil {
			return
		}
		if len(m.Msg) > len(line) {
			t.Fatalf("message longer than the line")
		}
		for k, v := range m.Params {
			if len(k)+len(v) > len(line) {
				t.Fatalf("parameter longer than the line")
			}
		}
	})
}

// TestFormatNotify: an event naming a group to notify carries it in the
// structured data too; one that names none has no such parameter.
func TestFormatNotify(t *testing.T) {
	for _, tc := range []struct {
		details map[string]string
		want    string
	}{
		{map[string]string{"sensitive": "my-number", "notify": `事務 "取扱"`}, `事務 "取扱"`},
		{map[string]string{"sensitive": "my-number"}, ""},
		{nil, ""},
	} {
		ev := goldenEvent()
		ev.Type, ev.Job, ev.Details = audit.EventPrinted, nil, tc.details
		m, err := Parse(Format(Header{}, ev))
		if err != nil {
			t.Fatal(err)
		}
		if g, ok := m.Params["notify"]; g != tc.want || ok != (tc.want != "") {
			t.Errorf("details %v: notify %q (%v), want %q", tc.details, g, ok, tc.want)
		}
	}
}

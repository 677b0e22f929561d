package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"maps"
	"strings"
	"testing"

	"github.com/printgate/printgate/audit"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"
)

// exportCLI runs "printgate audit export" with args and returns its
// standard output and standard error apart.
func exportCLI(t *testing.T, cfg Config, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := &app{stdout: &out, stderr: &errOut, stdin: strings.NewReader("")}
	cmd := a.command()
	cmd.SetArgs(append(append([]string{"audit", "export"}, args...), "--config", writeConfig(t, cfg)))
	err = cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// TestAuditExportForExcel: --lang ja writes the header in Japanese and
// times as a spreadsheet reads them; --shift-jis writes a character
// Shift_JIS cannot hold as "?" and says so on standard error, naming
// UTF-8 as the way to keep it; an unknown language is refused.
func TestAuditExportForExcel(t *testing.T) {
	cfg := newConfig(t, "")
	st := openStackT(t, cfg)
	seedRecord(t, st, []pastJob{{id: 9001, owner: "bob", name: "𠮷田さんの見積書.pdf", queue: "secure",
		at: jst(t, 2026, 3, 2, 9, 30), outcome: "printed", device: "mfp-1", pages: 3, copies: 2}})

	out, _, err := exportCLI(t, cfg, "--jobs", "--lang", "ja")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\uFEFF"))).ReadAll()
	if err != nil || len(recs) != 2 || !strings.HasPrefix(out, "\uFEFFジョブID,送信日時,送信日時 (UTC),") {
		t.Fatalf("export --lang ja: %v\n%s", err, out)
	}
	if recs[1][1] != "2026-03-02 09:30:00" || recs[1][2] != "2026-03-02T00:30:00.000000Z" {
		t.Errorf("submitted %q, UTC %q; want 2026-03-02 09:30:00 and 2026-03-02T00:30:00.000000Z", recs[1][1], recs[1][2])
	}

	out, stderr, err := exportCLI(t, cfg, "--jobs", "--shift-jis")
	if err != nil {
		t.Fatal(err)
	}
	text, _, err := transform.String(japanese.ShiftJIS.NewDecoder(), out)
	if err != nil || !strings.Contains(text, ",?田さんの見積書.pdf,") {
		t.Errorf("Shift_JIS export: %v\n%s", err, text)
	}
	if !strings.Contains(stderr, `1 character(s) that Shift_JIS (CP932) cannot hold written as "?"`) ||
		!strings.Contains(stderr, "UTF-8") {
		t.Errorf("standard error does not report the replaced character: %q", stderr)
	}

	if _, _, err := exportCLI(t, cfg, "--lang", "fr"); err == nil || !strings.Contains(err.Error(), "en or ja") {
		t.Errorf("--lang fr: %v", err)
	}
}

// brokenPipe fails every write, as standard output closed by the reader.
type brokenPipe struct{}

func (brokenPipe) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// TestAuditExportRecordedFirst: an export is in the record before its
// first row leaves, with every filter it was given, so one cut short is
// recorded too.
func TestAuditExportRecordedFirst(t *testing.T) {
	cfg := newConfig(t, "")
	st := openStackT(t, cfg)
	seedRecord(t, st, []pastJob{{id: 9001, owner: "bob", name: "給与明細.pdf", queue: "secure",
		at: jst(t, 2026, 3, 2, 9, 30), outcome: "printed", device: "mfp-1", pages: 1, copies: 1}})
	a := &app{stdout: brokenPipe{}, stderr: io.Discard, stdin: strings.NewReader("")}
	cmd := a.command()
	cmd.SetArgs([]string{"audit", "export", "--jobs", "--queue", "secure", "--user", "bob", "--config", writeConfig(t, cfg)})
	if err := cmd.ExecuteContext(t.Context()); err == nil {
		t.Fatal("an export to a closed pipe succeeded")
	}
	var got []audit.Event
	for ev, err := range st.audit.Events(t.Context(), audit.Filter{Type: audit.EventExport}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
	}
	want := map[string]string{"format": "csv", "jobs": "true", "queue": "secure", "user": "bob"}
	if len(got) != 1 || !maps.Equal(got[0].Details, want) {
		t.Fatalf("export events %+v, want one with details %v", got, want)
	}
}

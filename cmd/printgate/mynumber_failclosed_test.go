package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release"
)

// failingPS shows an individual number and then fails: the extractor
// exits with an error after the text has been drawn.
const failingPS = "%!PS\n/Helvetica findfont 24 scalefont setfont\n72 700 moveto (Kojin bango 123456789018) show\nshowpage\nnosuchoperator\n"

// TestMyNumberFailsClosed: a document the search cannot read to its end
// (an extraction that fails), or cannot read at all (an image), is held
// on a direct queue as if it held a number, is not listed to a
// card-only session, and its name is recorded keyed only, never in
// clear; a search that fails is no way past the policy.
func TestMyNumberFailsClosed(t *testing.T) {
	testenv.Tool(t, "pdftotext")
	direct := testenv.IPPEvePrinter(t)
	e := newReleaseEnv(t, "", func(c *Config) {
		c.Queues[0].Mode = release.Direct
		c.Queues[0].Printer = direct.URI
	})
	db := openTestDB(t, e.srv)
	cases := []struct{ format, name string }{
		{"application/postscript", "FAILCLOSED-ps-slip"},
		{"image/jpeg", "FAILCLOSED-scan-jpeg"},
	}
	docs := map[string][]byte{"application/postscript": []byte(failingPS), "image/jpeg": testdocs.JPEG(64, 64)}
	var ids []int64
	for _, c := range cases {
		id := e.printDoc("bob", c.format, docs[c.format], nameVal("job-name", c.name))
		ids = append(ids, id)
		e.srv.settle(t)
		var row struct{ State, Sensitive string }
		db.Raw("SELECT state, sensitive FROM jobs WHERE id = ?", id).Scan(&row)
		if row.State != string(release.StateHeld) || row.Sensitive != release.SensitiveMyNumber {
			t.Errorf("%s: %+v, want held as holding a number", c.name, row)
		}
		var types []string
		db.Raw("SELECT type FROM audit_events WHERE job_id = ? ORDER BY seq", id).Scan(&types)
		if !slices.Contains(types, "sensitive-content-unchecked") && !slices.Contains(types, "sensitive-content-detected") {
			t.Errorf("%s: events %v, want the search's outcome", c.name, types)
		}
	}
	if n := len(direct.Files()); n != 0 {
		t.Errorf("the printer received %d documents, want none", n)
	}
	card := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
	if _, out := e.call("mfp1", http.MethodGet, "/release/sessions/"+card+"/jobs", nil); slices.ContainsFunc(ids, func(id int64) bool {
		return slices.Contains(jobIDs(out), id)
	}) {
		t.Errorf("a card-only session lists a job that could not be searched: %v", jobIDs(out))
	}
	exp := runCLI(t, e.cfg, "", "audit", "export", "--format", "jsonl")
	jobs := runCLI(t, e.cfg, "", "audit", "export", "--format", "jsonl", "--jobs")
	for _, c := range cases {
		if strings.Contains(exp+jobs, c.name) {
			t.Errorf("the audit export names %s in clear", c.name)
		}
	}
}

// TestMyNumberLongDocumentsPrint: what fails closed does not catch an
// ordinary document: a nine-page PostScript report (whose text
// extraction marks one page more than it has) prints at once on a
// direct queue.
func TestMyNumberLongDocumentsPrint(t *testing.T) {
	testenv.Tool(t, "pdftotext")
	testenv.Tool(t, "gs")
	direct := testenv.IPPEvePrinter(t)
	e := newReleaseEnv(t, "", func(c *Config) {
		c.Queues[0].Mode = release.Direct
		c.Queues[0].Printer = direct.URI
	})
	e.printDoc("bob", "application/postscript", testdocs.DSC(9, "annual report", testdocs.A4), nameVal("job-name", "report.ps"))
	testenv.WaitFor(t, "the PostScript report to print", func() bool { return len(direct.Files()) == 1 })
	db := openTestDB(t, e.srv)
	var marked []string
	db.Raw("SELECT sensitive FROM jobs WHERE sensitive <> ''").Scan(&marked)
	if len(marked) != 0 {
		t.Errorf("ordinary documents held as holding a number: %v", marked)
	}
}

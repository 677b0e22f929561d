package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release"
)

// myNumberForms are the ways the corpus's numbers can be written, all of
// which must appear nowhere printgate keeps anything.
var myNumberForms = []string{"123456789018", "1234 5678 9018", "1234-5678-9018", "１２３４５６７８９０１８",
	"123456789019", "1234 5678 9019"}

// TestMyNumberDirectQueue: on a direct queue in front of a real
// ippeveprinter, a document holding a valid individual number is held, not
// printed; a card-only session neither sees nor releases it; card+PIN
// prints it; a document with a wrong check digit prints at once. After
// them the digits are in no file of the data dir (the SQLite database and
// its WAL included), no log line and no export.
func TestMyNumberDirectQueue(t *testing.T) {
	testenv.Tool(t, "pdftotext")
	t.Run("sqlite", func(t *testing.T) { testMyNumberDirectQueue(t, "") })
	t.Run("postgres", func(t *testing.T) { testMyNumberDirectQueue(t, testenv.Postgres(t)) })
}

func testMyNumberDirectQueue(t *testing.T, dbURL string) {
	direct := testenv.IPPEvePrinter(t)
	e := newReleaseEnv(t, dbURL, func(c *Config) {
		c.Queues[0].Mode = release.Direct
		c.Queues[0].Printer = direct.URI
		c.MyNumber.NotifyGroup = "jimu-sekininsha"
	})
	fonts := t.TempDir()
	valid, err := testdocs.JapanesePDF(testdocs.IPAGothic, fonts,
		[]string{"年末調整のお知らせ", "給与所得者の扶養控除等申告書\n個人番号 1234 5678 9018"})
	if err != nil {
		t.Fatal(err)
	}
	invalid, err := testdocs.JapanesePDF(testdocs.IPAGothic, fonts,
		[]string{"給与所得者の扶養控除等申告書\n個人番号 1234 5678 9019\n電話 03-1234-5678"})
	if err != nil {
		t.Fatal(err)
	}

	held := e.submit("bob", valid)
	wrong := e.submit("bob", invalid)
	testenv.WaitFor(t, "the document with a wrong check digit to print", func() bool { return len(direct.Files()) == 1 })
	db := openTestDB(t, e.srv)
	var row struct{ State, Reason, Sensitive string }
	db.Raw("SELECT state, reason, sensitive FROM jobs WHERE id = ?", held).Scan(&row)
	if row.State != string(release.StateHeld) || row.Reason != release.ReasonMyNumber || row.Sensitive != release.SensitiveMyNumber {
		t.Fatalf("job holding a number: %+v, want held for my-number", row)
	}
	db.Raw("SELECT state, reason, sensitive FROM jobs WHERE id = ?", wrong).Scan(&row)
	if row.Sensitive != "" {
		t.Errorf("job with a wrong check digit marked %q", row.Sensitive)
	}

	// Nor does the owner's IPP Release-Job print it.
	uri := e.srv.PrinterURI("secure")
	if r := ippDo(t, uri, ippRequest(goipp.OpReleaseJob, uri, "bob", intVal("job-id", int(held))), nil); status(r) == goipp.StatusOk {
		t.Errorf("IPP Release-Job of the job holding a number: %s, want a refusal", status(r))
	}

	// Card alone: the job is not listed and cannot be released.
	card := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
	code, out := e.call("mfp1", http.MethodGet, "/release/sessions/"+card+"/jobs", nil)
	if code != http.StatusOK || slices.Contains(jobIDs(out), held) {
		t.Errorf("card-only list: HTTP %d %v, want it without job %d", code, out, held)
	}
	code, out = e.call("mfp1", http.MethodPost, "/release/sessions/"+card+"/release", map[string]any{"jobs": []int64{held}})
	if code == http.StatusAccepted {
		t.Fatalf("card-only release of job %d: HTTP %d %v, want a refusal", held, code, out)
	}
	code, _ = e.call("mfp1", http.MethodPost, "/release/sessions/"+card+"/release", map[string]any{"all": true})
	if n := len(e.printer.Files()); n != 0 || code == http.StatusInternalServerError {
		t.Fatalf("after card-only releases (HTTP %d) the device's printer received %d documents", code, n)
	}
	if n := len(direct.Files()); n != 1 {
		t.Fatalf("the direct queue's printer received %d documents, want only the one with a wrong check digit", n)
	}

	// My page marks it.
	if code, page := signInConsole(t, e.srv, "bob", "bob-secret").get("/my"); code != http.StatusOK ||
		!(strings.Contains(page, "個人番号を含む") || strings.Contains(page, "Contains My Number")) {
		t.Errorf("My page: HTTP %d, without the My Number mark", code)
	}

	// Card and PIN: listed, marked, released, printed.
	both := e.login("mfp1", map[string]string{"card": "04A1B2C3", "pin": "4821"})
	code, out = e.call("mfp1", http.MethodGet, "/release/sessions/"+both+"/jobs", nil)
	if code != http.StatusOK || !slices.Contains(jobIDs(out), held) {
		t.Fatalf("card+PIN list: HTTP %d %v, want job %d", code, out, held)
	}
	for _, j := range out["jobs"].([]any) {
		if j := j.(map[string]any); int64(j["id"].(float64)) == held && j["my_number"] != true {
			t.Errorf("the kiosk's list does not mark job %d as holding an individual number: %v", held, j)
		}
	}
	code, out = e.call("mfp1", http.MethodPost, "/release/sessions/"+both+"/release", map[string]any{"jobs": []int64{held}})
	if code != http.StatusAccepted {
		t.Fatalf("card+PIN release: HTTP %d %v", code, out)
	}
	e.waitState("mfp1", both, held, "completed")
	if n := len(e.printer.Files()); n != 1 {
		t.Errorf("the device's printer received %d documents, want 1", n)
	}

	// Only the fact is recorded.
	var ev struct{ Details string }
	db.Raw("SELECT details FROM audit_events WHERE type = 'sensitive-content-detected' AND job_id = ?", held).Scan(&ev)
	for _, want := range []string{`"kind":"my-number"`, `"count":"1"`, `"pages":"2"`, `"notify":"jimu-sekininsha"`} {
		if !strings.Contains(ev.Details, want) {
			t.Errorf("sensitive-content-detected details %s, want %s", ev.Details, want)
		}
	}
	var printed struct{ Details string }
	db.Raw("SELECT details FROM audit_events WHERE type = 'printed' AND job_id = ?", held).Scan(&printed)
	for _, want := range []string{`"sensitive":"my-number"`, `"notify":"jimu-sekininsha"`} {
		if !strings.Contains(printed.Details, want) {
			t.Errorf("printed event details %s, want %s: the people responsible are told", printed.Details, want)
		}
	}
	var names []string
	db.Raw("SELECT document_name FROM audit_jobs WHERE job_id = ?", held).Scan(&names)
	if len(names) != 1 || !strings.HasPrefix(names[0], audit.KeyedNamePrefix) {
		t.Errorf("document name of the job holding a number recorded as %q, want keyed", names)
	}

	// The history filters on it; the dashboard counts it.
	admin := signInConsole(t, e.srv, "alice", "alice-secret")
	code, page := admin.get("/admin/history?sensitive=my-number")
	if code != http.StatusOK || !strings.Contains(page, fmt.Sprintf("/admin/jobs/%d\"", held)) ||
		strings.Contains(page, fmt.Sprintf("/admin/jobs/%d\"", wrong)) {
		t.Errorf("history filtered on My Number: HTTP %d, want job %d and not job %d", code, held, wrong)
	}
	if code, page := admin.get("/admin"); code != http.StatusOK || !regexp.MustCompile(`sensitive=my-number[^"]*">1</a>`).MatchString(page) {
		t.Errorf("dashboard: HTTP %d, without today's count of 1 job holding an individual number", code)
	}

	exports := runCLI(t, e.cfg, "", "audit", "export", "--format", "jsonl", "--jobs") +
		runCLI(t, e.cfg, "", "audit", "export", "--format", "csv") +
		runCLI(t, e.cfg, "", "audit", "export", "--format", "jsonl")
	if !strings.Contains(exports, "sensitive-content-detected") {
		t.Errorf("the export lacks the sensitive-content-detected event")
	}
	// The new events keep the chain and the job records verifiable.
	if out := runCLI(t, e.cfg, "", "audit", "verify"); strings.Contains(strings.ToLower(out), "mismatch") {
		t.Errorf("audit verify:\n%s", out)
	}
	tables := testenv.DumpTables(t, db) // every table, every row
	e.srv.Stop(t)
	for _, form := range myNumberForms {
		if strings.Contains(exports, form) {
			t.Errorf("an export shows %q", form)
		}
		if strings.Contains(e.srv.Log.String(), form) {
			t.Errorf("the log shows %q", form)
		}
	}
	for _, form := range myNumberForms {
		if strings.Contains(tables, form) {
			t.Errorf("the database holds %q", form)
		}
	}
	assertNotInDir(t, e.cfg.DataDir, myNumberForms)
}

// assertNotInDir fails t for each file under dir that holds one of forms.
func assertNotInDir(t *testing.T, dir string, forms []string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		for _, form := range forms {
			if bytes.Contains(b, []byte(form)) {
				t.Errorf("%s holds %q", path, form)
			}
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("walk %s: %v (%d files)", dir, err, n)
	}
}

// TestMyNumberHoldQueue: on a hold queue the document is searched after
// the commit, off the submission's path; until then no session sees the
// job, then only card+PIN does. The clock is the test's: a search at
// background priority on a busy machine may take seconds, and a TTL in
// wall time could run out before the sessions look.
func TestMyNumberHoldQueue(t *testing.T) {
	testenv.Tool(t, "pdftotext")
	clock := testenv.NewClockAt(time.Now())
	e := newReleaseEnv(t, "", func(c *Config) { c.Queues[0].MyNumberTTL = time.Hour }, func(a *app) { a.now = clock.Now })
	doc, err := testdocs.JapanesePDF(testdocs.IPAGothic, t.TempDir(), []string{"個人番号：１２３４－５６７８－９０１８"})
	if err != nil {
		t.Fatal(err)
	}
	id := e.submit("bob", doc)
	plain := e.submit("bob", testdocs.PDF(1, "lunch menu", testdocs.A4))
	db := openTestDB(t, e.srv)
	testenv.WaitFor(t, "the held job to be searched", func() bool {
		var n int64
		db.Raw("SELECT COUNT(*) FROM audit_events WHERE type = 'sensitive-content-detected' AND job_id = ? AND details LIKE ?",
			id, `%"kind":"my-number"%`).Scan(&n)
		return n == 1
	})
	var events []string
	db.Raw("SELECT type FROM audit_events WHERE job_id = ? ORDER BY seq", id).Scan(&events)
	if want := []string{"submitted", "held", "sensitive-content-detected"}; !slices.Equal(events, want) {
		t.Errorf("events of the job: %v, want %v", events, want)
	}
	card := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
	if _, out := e.call("mfp1", http.MethodGet, "/release/sessions/"+card+"/jobs", nil); slices.Contains(jobIDs(out), id) {
		t.Errorf("a card-only session lists job %d", id)
	}
	both := e.login("mfp1", map[string]string{"card": "04A1B2C3", "pin": "4821"})
	if _, out := e.call("mfp1", http.MethodGet, "/release/sessions/"+both+"/jobs", nil); !slices.Contains(jobIDs(out), id) {
		t.Errorf("a card+PIN session does not list job %d: %v", id, out)
	}
	// It expires after my_number_ttl; the job without a number stays.
	clock.Advance(time.Hour + time.Second)
	testenv.WaitFor(t, "the job holding a number to expire", func() bool {
		var state string
		db.Raw("SELECT state FROM jobs WHERE id = ?", id).Scan(&state)
		return state == string(release.StateExpired)
	})
	var state string
	db.Raw("SELECT state FROM jobs WHERE id = ?", plain).Scan(&state)
	if state != string(release.StateHeld) {
		t.Errorf("the job without a number is %s, want still held", state)
	}
}

func TestMyNumberConfig(t *testing.T) {
	for _, tc := range []struct {
		q    QueueConfig
		want string
	}{
		{QueueConfig{Name: "a", MyNumber: "maybe"}, "my_number"},
		{QueueConfig{Name: "a", MyNumberTTL: -time.Hour}, "my_number_ttl"},
		{QueueConfig{Name: "a", MyNumber: release.MyNumberFlag}, ""},
	} {
		_, err := tc.q.queue()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want an error naming %q", tc.q, err, tc.want)
		}
	}
}

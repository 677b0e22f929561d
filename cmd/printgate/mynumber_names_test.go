package main

import (
	"context"
	"crypto/rand"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// submitDoc prints doc (a PDF) as user with a job-name and a
// document-name.
func (e *releaseEnv) submitDoc(user, jobName, docName string, doc []byte) int64 {
	e.t.Helper()
	return e.printDoc(user, "application/pdf", doc, nameVal("job-name", jobName), nameVal("document-name", docName))
}

// TestMyNumberHoldQueueNames: on a hold queue, where a document is
// searched only after its submission committed, the name of a document
// holding an individual number is in no audit event, export, log line,
// table or file of the data dir once the job has printed; a document
// holding none has its name in the history and the export.
func TestMyNumberHoldQueueNames(t *testing.T) {
	testenv.Tool(t, "pdftotext")
	forEachDB(t, testMyNumberHoldQueueNames)
}

func testMyNumberHoldQueueNames(t *testing.T, dbURL string) {
	e := newReleaseEnv(t, dbURL, nil)
	tag := rand.Text()[:8]
	name := func(what string) string { return what + "-" + tag }
	doc, err := testdocs.JapanesePDF(testdocs.IPAGothic, t.TempDir(), []string{"扶養控除等申告書\n個人番号 1234-5678-9018"})
	if err != nil {
		t.Fatal(err)
	}
	secret := e.submitDoc("bob", name("年末調整-job"), name("年末調整-doc"), doc)
	clean := e.submitDoc("bob", name("昼食-job"), name("昼食-doc"), testdocs.PDF(1, "lunch menu", testdocs.A4))
	db := openTestDB(t, e.srv)
	testenv.WaitFor(t, "both held jobs to be searched", func() bool {
		var found []string
		db.Raw("SELECT sensitive FROM jobs WHERE id IN ? ORDER BY id", []int64{secret, clean}).Scan(&found)
		return slices.Equal(found, []string{"my-number", ""})
	})

	// Card+PIN prints the job holding a number; the clean one stays held.
	both := e.login("mfp1", map[string]string{"card": "04A1B2C3", "pin": "4821"})
	if code, out := e.call("mfp1", http.MethodPost, "/release/sessions/"+both+"/release", map[string]any{"jobs": []int64{secret}}); code != http.StatusAccepted {
		t.Fatalf("card+PIN release: HTTP %d %v", code, out)
	}
	e.waitState("mfp1", both, secret, "completed")

	// A printer keeps the names of what it printed and shows them to
	// anyone who asks: it was sent none of this job's.
	printed, err := (&ipp.Client{}).CompletedJobs(context.Background(), e.printer.URI, 100)
	if err != nil || len(printed) == 0 {
		t.Fatalf("the printer's completed jobs: %v, %d of them", err, len(printed))
	}
	for _, p := range printed {
		if strings.Contains(p.Name, tag) {
			t.Errorf("the printer holds the job's name %q", p.Name)
		}
	}

	admin := signInConsole(t, e.srv, "alice", "alice-secret")
	code, history := admin.get("/admin/history")
	if code != http.StatusOK || !strings.Contains(history, name("昼食-doc")) {
		t.Errorf("history: HTTP %d, without the clean job's name %q", code, name("昼食-doc"))
	}
	code, jobPage := admin.get("/admin/jobs/" + strconv.FormatInt(secret, 10))
	if code != http.StatusOK {
		t.Errorf("job page of the job holding a number: HTTP %d", code)
	}
	exports := runCLI(t, e.cfg, "", "audit", "export", "--format", "jsonl", "--jobs") +
		runCLI(t, e.cfg, "", "audit", "export", "--format", "csv") +
		runCLI(t, e.cfg, "", "audit", "export", "--format", "jsonl")
	if !strings.Contains(exports, name("昼食-doc")) {
		t.Errorf("the exports lack the clean job's name")
	}
	if out := runCLI(t, e.cfg, "", "audit", "verify"); strings.Contains(strings.ToLower(out), "mismatch") {
		t.Errorf("audit verify:\n%s", out)
	}

	secretNames := []string{name("年末調整-job"), name("年末調整-doc")}
	var leaks []string
	// The scrubber runs after the print commits; give it a moment.
	testenv.Eventually(func() bool {
		leaks = nameLeaks(t, db, e.srv.DataDir, secretNames)
		return len(leaks) == 0
	})
	if dump := testenv.DumpTables(t, db); !strings.Contains(dump, name("昼食-job")) {
		t.Errorf("the clean job's name is nowhere in the tables: the dump proves nothing")
	}
	e.srv.Stop(t)
	log := e.srv.Log.String()
	if !strings.Contains(log, "job="+strconv.FormatInt(secret, 10)) {
		t.Errorf("the log has no line of job %d: it proves nothing\n%s", secret, log)
	}
	for _, n := range secretNames {
		for what, text := range map[string]string{"history": history, "job page": jobPage, "export": exports, "log": log} {
			if strings.Contains(text, n) {
				t.Errorf("the %s shows %q", what, n)
			}
		}
	}
	if len(leaks) > 0 {
		t.Errorf("the name of the job holding a number is left in %v", leaks)
	}
}

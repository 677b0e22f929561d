package release

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/ipp"
)

// TestMyNumberInNames: a job or document name that holds an individual
// number, on a clean document, reaches neither the job's row, nor its
// audit events (the search's sensitive-content-absent, which names the
// document in clear, included), nor the exports, nor IPP's job
// attributes, nor the log, whatever the queue's policy and however the
// name came (Print-Job, Create-Job and Send-Document).
func TestMyNumberInNames(t *testing.T) {
	x := textExtractor(t)
	var logged bytes.Buffer
	db := openSQLite(t)
	svc, alog := startService(t, db, Options{Text: x, Log: slog.New(slog.NewTextHandler(&logged, nil)),
		Queues: []Queue{{Name: "payroll", Mode: Hold}, {Name: "photos", Mode: Hold, MyNumber: MyNumberOff}}})
	ctx := t.Context()
	doc := func() *bytes.Reader { return bytes.NewReader(testdocs.PDF(1, "Lunch menu", testdocs.A4)) }
	const jobName, docName = "個人番号 1234 5678 9018", "mynumber-123456789018.pdf"
	var printed []ipp.Job
	for _, q := range []string{"payroll", "photos"} {
		j, err := svc.IPP().PrintJob(ctx, ipp.JobRequest{Queue: q, User: "hanako", Name: jobName,
			Document: ipp.DocumentInfo{Format: "application/pdf", Name: docName}}, doc())
		if err != nil {
			t.Fatal(err)
		}
		printed = append(printed, j)
	}
	created, err := svc.IPP().CreateJob(ctx, ipp.JobRequest{Queue: "payroll", User: "hanako", Name: "slip"})
	if err != nil {
		t.Fatal(err)
	}
	sent, err := svc.IPP().SendDocument(ctx, ipp.DocumentRequest{JobTarget: ipp.JobTarget{Queue: "payroll", ID: created.ID, User: "hanako"},
		Document: ipp.DocumentInfo{Format: "application/pdf", Name: docName}, Last: true}, doc())
	if err != nil {
		t.Fatal(err)
	}
	printed = append(printed, sent)
	if err := svc.inspectOwner(ctx, "hanako"); err != nil {
		t.Fatal(err)
	}

	holds := func(what, s string) {
		t.Helper()
		for _, n := range []string{"1234 5678 9018", "123456789018"} {
			if strings.Contains(s, n) {
				t.Errorf("%s holds the number: %s", what, s)
			}
		}
	}
	for _, j := range printed {
		holds("the job IPP answered", fmt.Sprintf("%+v", j))
	}
	var rows []Job
	db.Find(&rows)
	if len(rows) != 3 {
		t.Fatalf("%d jobs, want 3", len(rows))
	}
	for _, r := range rows {
		holds("job row", r.Name+" "+r.DocumentName)
		if r.Sensitive != "" {
			t.Errorf("job %d (%s) recorded as %q: its document holds no number", r.ID, r.Queue, r.Sensitive)
		}
	}
	absent := 0
	for ev, err := range alog.Events(ctx, audit.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		holds("audit event "+ev.Type, fmt.Sprintf("%+v %+v", ev, ev.Job))
		if ev.Type == audit.EventSensitiveContentAbsent && ev.Details[audit.DetailDocumentName] == "mynumber-************.pdf" {
			absent++
		}
	}
	if absent != 2 {
		t.Errorf("%d sensitive-content-absent events name the masked document, want 2", absent)
	}
	for _, jobs := range []bool{false, true} {
		var out bytes.Buffer
		if _, err := alog.Export(ctx, &out, audit.Filter{}, audit.Format{Encoding: audit.JSONL, Jobs: jobs}); err != nil {
			t.Fatal(err)
		}
		holds(fmt.Sprintf("export (jobs %v)", jobs), out.String())
	}
	for _, q := range []string{"payroll", "photos"} {
		for _, j := range listIPP(t, svc, ipp.JobQuery{Queue: q, Which: "all", Fields: ipp.FieldName}) {
			holds("Get-Jobs", j.Name)
		}
	}
	svc.Close() // waits for the committer's and inspector's last lines
	holds("the log", logged.String())
}

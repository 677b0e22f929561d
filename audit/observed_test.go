package audit

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
)

// printerLogEvents appends what the monitor writes of a printer's log: a
// match of job 1 (3 impressions on 2 sheets by the printer's count) and a
// job mallory printed straight to the printer (2 pages).
func printerLogEvents(t *testing.T, l *Log, db *database.DB) (observed Event) {
	t.Helper()
	appendTx(t, l, db, Event{Type: EventDeviceJobMatched, JobID: 1, Actor: ActorSystem, Device: "mfp-3f",
		Printer: "ipp://mfp-3f/ipp/print", Outcome: "printed",
		Details: map[string]string{"source": SourcePrinterLog, "printer_job_id": "7", "pages": "3", "sheets": "2"}})
	return appendTx(t, l, db, Event{Type: EventDeviceJobObserved, Owner: "mallory", Actor: ActorSystem, Device: "mfp-3f",
		Printer: "ipp://mfp-3f/ipp/print", Outcome: "printed",
		Details: map[string]string{"source": SourcePrinterLog, "printer_job_id": "8", "pages": "2",
			"printer_user": "MALLORY", "job_name": "salaries.pdf",
			// The printer's own times: believable, and one in the future.
			"created_at": t0.Add(-time.Hour).Format(time.RFC3339), "completed_at": "2099-01-01T00:00:00Z"}})
}

// TestPrinterLogRecords: a matched event completes its job's record with
// the printer's count; an observed event makes a record of its own with
// source "printer log", which history, totals and exports select by
// source; Verify and CheckJob rebuild both and name a change to either.
func TestPrinterLogRecords(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := newLog(db, newClock(t0, time.Second))
		jobLife(t, l, db, 1, "alice", "report.pdf")
		obs := printerLogEvents(t, l, db)

		job, err := l.Job(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !job.PrinterCounted || job.PrinterImpressions != 3 || job.PrinterSheets != 2 || job.Impressions != 6 || job.Observed() {
			t.Errorf("job 1: printer counted %v, %d impressions on %d sheets (printgate's %d), observed %v; want the printer's 3 on 2",
				job.PrinterCounted, job.PrinterImpressions, job.PrinterSheets, job.Impressions, job.Observed())
		}
		all, err := l.History(ctx, HistoryQuery{})
		if err != nil || len(all.Jobs) != 2 {
			t.Fatalf("history: %+v, %v", all, err)
		}
		page, err := l.History(ctx, HistoryQuery{Source: SourcePrinterLog})
		if err != nil || len(page.Jobs) != 1 {
			t.Fatalf("history of the printer log: %+v, %v", page, err)
		}
		o := page.Jobs[0]
		if o.JobID != -obs.Seq || o.EventSeq() != obs.Seq || o.Owner != "mallory" || o.ClaimedUser != "MALLORY" ||
			o.DocumentName != "salaries.pdf" || o.Pages != 2 || !o.PagesKnown || o.Impressions != 2 || o.Outcome != "printed" ||
			o.Device != "mfp-3f" || o.Source != SourcePrinterLog || !o.Submitted.Equal(t0.Add(-time.Hour)) ||
			!o.CompletedAt.Equal(obs.At) {
			t.Errorf("observed record %+v", o)
		}
		if p, _ := l.History(ctx, HistoryQuery{Source: SourcePrintgate}); len(p.Jobs) != 1 || p.Jobs[0].JobID != 1 {
			t.Errorf("history through printgate: %+v", p.Jobs)
		}
		totals, err := l.Totals(ctx, TotalsQuery{})
		if err != nil || len(totals) != 1 || totals[0].Jobs != 2 || totals[0].ObservedJobs != 1 ||
			totals[0].ObservedImpressions != 2 || totals[0].Impressions != 8 {
			t.Errorf("totals %+v, %v: want 2 jobs, 8 impressions, mallory's 2 observed", totals, err)
		}
		if byUser, _ := l.Totals(ctx, TotalsQuery{GroupBy: ByUser, Source: SourcePrinterLog}); len(byUser) != 1 ||
			byUser[0].Key != "mallory" || byUser[0].Impressions != 2 {
			t.Errorf("printer log totals by user: %+v", byUser)
		}

		var buf bytes.Buffer
		if _, err := l.Export(ctx, &buf, Filter{}, Format{Jobs: true, NoBOM: true}); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(rows) != 3 {
			t.Fatalf("CSV export: %v %v", rows, err)
		}
		cell := func(row []string, name string) string {
			for i, h := range rows[0] {
				if h == name {
					return row[i]
				}
			}
			t.Fatalf("no column %s", name)
			return ""
		}
		// Oldest submission first: mallory's, an hour before alice's.
		mine, theirs := rows[2], rows[1]
		if cell(mine, "job_id") != "1" || cell(mine, "printer_impressions") != "3" || cell(mine, "printer_sheets") != "2" ||
			cell(mine, "source") != "" || cell(theirs, "job_id") != "" || cell(theirs, "event_seq") != strconv.FormatInt(obs.Seq, 10) ||
			cell(theirs, "printer_impressions") != "2" || cell(theirs, "source") != SourcePrinterLog || cell(theirs, "owner") != "mallory" {
			t.Errorf("CSV export rows %q", rows)
		}
		buf.Reset()
		if _, err := l.Export(ctx, &buf, Filter{Source: SourcePrinterLog}, Format{Encoding: JSONL, Jobs: true}); err != nil {
			t.Fatal(err)
		}
		var x map[string]any
		if err := json.Unmarshal(buf.Bytes(), &x); err != nil || x["source"] != SourcePrinterLog || x["printer_impressions"] != 2.0 ||
			x["event_seq"] != float64(obs.Seq) || x["job_id"] != nil {
			t.Errorf("JSONL export of the printer log: %s %v", buf.Bytes(), err)
		}

		if r := mustVerify(t, l); r.Jobs != 2 {
			t.Errorf("verified %d records, want 2", r.Jobs)
		}
		for _, c := range []struct {
			stmt string
			job  int64
			why  string
		}{
			{`UPDATE audit_jobs SET printer_impressions = 1 WHERE job_id = 1`, 1, "printer impressions is 1, the events say 3"},
			{`UPDATE audit_jobs SET owner = 'bob' WHERE job_id < 0`, -obs.Seq, `owner is "bob", the events say "mallory"`},
			{`UPDATE audit_jobs SET source = '' WHERE job_id < 0`, -obs.Seq, `source is ""`},
		} {
			before := snapshotRecords(t, db)
			mustExec(t, db, c.stmt)
			r, err := l.Verify(ctx, 0, 0)
			if err != nil || r.OK() || r.JobsBad != 1 || r.BadJobs[0].JobID != c.job || !strings.Contains(r.BadJobs[0].Reason, c.why) {
				t.Errorf("%s: verify %+v, %v; want job %d: %s", c.stmt, r, err, c.job, c.why)
			}
			if why, err := l.CheckJob(ctx, c.job); err != nil || !strings.Contains(why, c.why) {
				t.Errorf("%s: check job %d: %q, %v", c.stmt, c.job, why, err)
			}
			restoreRecords(t, db, before)
		}
	})
}

// snapshotRecords and restoreRecords undo a test's change of the
// records, which are derived and have no trigger.
func snapshotRecords(t *testing.T, db *database.DB) map[int64][3]any {
	t.Helper()
	out := map[int64][3]any{}
	rows, err := db.DB.Raw(`SELECT job_id, owner, printer_impressions, source FROM audit_jobs`).Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var v [3]any
		if err := rows.Scan(&id, &v[0], &v[1], &v[2]); err != nil {
			t.Fatal(err)
		}
		out[id] = v
	}
	return out
}

func restoreRecords(t *testing.T, db *database.DB, before map[int64][3]any) {
	t.Helper()
	for id, v := range before {
		mustExec(t, db, `UPDATE audit_jobs SET owner = ?, printer_impressions = ?, source = ? WHERE job_id = ?`, v[0], v[1], v[2], id)
	}
}

// TestPrinterLogMigration: a database whose chain already holds events of
// printers' logs from before their records gets them when migrated.
func TestPrinterLogMigration(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		l := newLog(db, newClock(t0, time.Second))
		jobLife(t, l, db, 1, "alice", "report.pdf")
		obs := printerLogEvents(t, l, db)
		// As before the migration: no observed record, no count.
		mustExec(t, db, `DELETE FROM audit_jobs WHERE job_id < 0`)
		mustExec(t, db, `UPDATE audit_jobs SET printer_impressions = NULL, printer_sheets = NULL`)
		if r, _ := l.Verify(context.Background(), 0, 0); r.OK() {
			t.Fatal("verify passes without the records of the printer's log")
		}
		err := db.DB.Transaction(func(tx *gorm.DB) error { return recordPrinterLogsData(tx) })
		if err != nil {
			t.Fatal(err)
		}
		mustVerify(t, l)
		if o, err := l.Job(context.Background(), -obs.Seq); err != nil || o.Owner != "mallory" {
			t.Errorf("observed record after the migration: %+v, %v", o, err)
		}
	})
}

// FuzzObservedRecord: whatever a printer's log put in an observed
// event's details, its record is made without a panic, its counts within
// bounds and its times no later than the event and not long before it.
func FuzzObservedRecord(f *testing.F) {
	f.Add("2", "1", "2026-11-25T08:00:00Z", "2026-11-25T08:01:00Z", "report.pdf", "printed")
	f.Add("-1", "99999999999999999999", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", KeyedNamePrefix+"00", "aborted")
	f.Fuzz(func(t *testing.T, pages, sheets, created, completed, name, outcome string) {
		ev := Event{Seq: 9, At: t0, Type: EventDeviceJobObserved, Owner: "mallory", Outcome: outcome,
			Details: map[string]string{"pages": pages, "sheets": sheets, "created_at": created, "completed_at": completed, "job_name": name}}
		r := observedRecord(&ev)
		if r.JobID != -9 || r.LastSeq != 9 || r.Source != SourcePrinterLog {
			t.Fatalf("record %+v", r.JobRecord)
		}
		for _, n := range []int64{r.Impressions, r.Sheets, r.PrinterImpressions, r.PrinterSheets, int64(r.Pages)} {
			if n < 0 || n > maxPrinterCount {
				t.Fatalf("count %d out of bounds: %+v", n, r.JobRecord)
			}
		}
		for _, at := range []time.Time{r.Submitted, r.CompletedAt} {
			if at.After(t0) || at.Before(t0.Add(-observedSpan)) {
				t.Fatalf("time %v outside the event's span", at)
			}
		}
	})
}

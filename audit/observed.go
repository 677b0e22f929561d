package audit

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
)

// A printer's own job log adds to the record in two ways (package
// monitor writes the events): a device-job-matched event gives one of
// printgate's jobs the printer's own count, and a device-job-observed
// event, a job printed without printgate, makes a record of its own so
// that history, totals and exports show it beside printgate's jobs. Both
// are rebuilt from the events by Verify and CheckJob like every record.

// maxPrinterCount bounds a count read from a printer's log: a printer
// that answers garbage must not make totals overflow.
const maxPrinterCount = 1 << 40

// observedSpan is how far before its event a printer's own time of an
// observed job is believed: printers keep completed jobs for hours or
// days, and one whose clock is wrong must not move a job years away.
const observedSpan = 90 * 24 * time.Hour

// printerCount is what a printer's log says a job printed.
type printerCount struct {
	counted, sheetsKnown bool
	impressions, sheets  int64
}

// printerCountOf reads the "pages" and "sheets" details of an event from
// a printer's log; ok is false when it gives no pages.
func printerCountOf(d map[string]string) (printerCount, bool) {
	impr, ok := parseCount(d["pages"])
	if !ok {
		return printerCount{}, false
	}
	pc := printerCount{counted: true, impressions: impr}
	pc.sheets, pc.sheetsKnown = parseCount(d["sheets"])
	return pc, true
}

func parseCount(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > maxPrinterCount {
		return 0, false
	}
	return n, true
}

// args are the count's values for recordUpdate: NULL leaves a column.
func (pc printerCount) args() (impressions, sheets any) {
	if !pc.counted {
		return nil, nil
	}
	if pc.sheetsKnown {
		return pc.impressions, pc.sheets
	}
	return pc.impressions, nil
}

// observedRecord returns the record an observed event makes: keyed by
// minus its sequence (job IDs are positive), owned by the user the
// printer saw (as mapped), named as the printer named it, its pages the
// printer's count, at the printer's own times where they are believable.
func observedRecord(ev *Event) *storedRecord {
	d := ev.Details
	pc, _ := printerCountOf(d)
	name := d["job_name"]
	r := &storedRecord{JobRecord: JobRecord{JobID: -ev.Seq,
		JobInfo: JobInfo{Owner: ev.Owner, ClaimedUser: d["printer_user"], DocumentName: name,
			HideName: strings.HasPrefix(name, KeyedNamePrefix), Pages: int(pc.impressions), PagesKnown: pc.counted,
			Copies: 1, Submitted: printerTime(d["created_at"], ev.At)},
		Impressions: pc.impressions, Sheets: pc.impressions, Device: ev.Device, Printer: ev.Printer,
		Outcome: observedOutcome(ev.Outcome), CompletedAt: printerTime(d["completed_at"], ev.At),
		LastSeq: ev.Seq, Source: SourcePrinterLog,
		PrinterCounted: pc.counted, PrinterImpressions: pc.impressions}}
	if !pc.counted {
		r.PagesReason = "not in the printer's log"
	}
	if pc.sheetsKnown {
		r.Sheets, r.PrinterSheets = pc.sheets, pc.sheets
	}
	r.PrinterColor = printerColorOf(d)
	r.color = r.Color() == ColorColor
	return r
}

// printerTime is the printer's time s of an event appended at at, or at
// when s is missing or not believable (after at, or long before).
func printerTime(s string, at time.Time) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || t.After(at) || t.Before(at.Add(-observedSpan)) {
		return at
	}
	return dbTime(t)
}

// observedOutcome is the record's outcome of a printer's job state.
func observedOutcome(s string) string {
	switch s {
	case "aborted":
		return EventPrintFailed
	case "printed", "canceled":
		return s
	}
	return "unknown"
}

// recordPrinterLogs adds the printer's count and the source to job
// records, and rebuilds from the events already in the chain what the
// rules above derive: the counts of matched jobs and the records of
// observed ones. Days of the records it makes are counted in
// DefaultTimeZone (a migration knows no configuration); Verify accepts a
// day of any zone.
func recordPrinterLogs(tx *gorm.DB, _ database.Dialect) error {
	err := database.Exec(tx, `ALTER TABLE audit_jobs ADD COLUMN printer_impressions BIGINT`,
		`ALTER TABLE audit_jobs ADD COLUMN printer_sheets BIGINT`,
		`ALTER TABLE audit_jobs ADD COLUMN source TEXT NOT NULL DEFAULT ''`)
	if err != nil {
		return err
	}
	return recordPrinterLogsData(tx)
}

// recordPrinterLogsData fills the records from the printers' log events
// of the chain.
func recordPrinterLogsData(tx *gorm.DB) error {
	l := &Log{loc: time.UTC}
	if loc, err := time.LoadLocation(DefaultTimeZone); err == nil {
		l.loc = loc
	}
	var evs []Event
	for ev, err := range rowsSeq(tx, `SELECT `+eventColumns+` FROM audit_events WHERE type IN (?, ?) ORDER BY seq`,
		[]any{EventDeviceJobMatched, EventDeviceJobObserved}, scanEvent, "read printers' log events") {
		if err != nil {
			return err
		}
		evs = append(evs, ev)
	}
	for i := range evs {
		ev := &evs[i]
		if ev.Type == EventDeviceJobObserved && ev.JobID == 0 {
			r := observedRecord(ev)
			if err := tx.Exec(`INSERT INTO audit_jobs (`+recordColumns+`) VALUES (?`+strings.Repeat(", ?", recordColumnCount-1)+`)`,
				l.appendRecordArgs(nil, r)...).Error; err != nil {
				return fmt.Errorf("record observed job of event %d: %w", ev.Seq, err)
			}
			continue
		}
		var c recordChange
		c.add(ev)
		impr, sheets := c.printerCount.args()
		if impr == nil || ev.JobID == 0 {
			continue
		}
		if err := tx.Exec(`UPDATE audit_jobs SET printer_impressions = ?, printer_sheets = COALESCE(?, printer_sheets) WHERE job_id = ?`,
			impr, sheets, ev.JobID).Error; err != nil {
			return fmt.Errorf("record the printer's count of job %d: %w", ev.JobID, err)
		}
	}
	return nil
}

// printerColorOf is what the colour counts of an event from a printer's
// log say was printed (PrinterColorOf), "" when it gave none.
func printerColorOf(d map[string]string) Color {
	color, _ := parseCount(d[DetailPrinterColorPages])
	mono, _ := parseCount(d[DetailPrinterMonoPages])
	return PrinterColorOf(color, mono)
}

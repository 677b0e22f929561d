package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"gorm.io/gorm"
)

// JobRecord is one job's row in the record: its metadata as submitted and
// what happened to it since. History and totals read these; the events
// are the proof behind them.
type JobRecord struct {
	// JobID is the job's ID.
	JobID int64
	// JobInfo is the metadata recorded at submission.
	JobInfo
	// Impressions is Pages × Copies and Sheets the sheets of paper that
	// takes (halved for two-sided); both 0 when the page count is unknown.
	Impressions, Sheets int64
	// ReleasedAt, CompletedAt (printed or canceled), ExpiredAt and
	// DeletedAt (document destroyed) are zero until it happens.
	ReleasedAt, CompletedAt, ExpiredAt, DeletedAt time.Time
	// Device, Method and Printer say where and how the job was released.
	Device, Method, Printer string
	// Outcome is the job's latest state change: "submitted", "held",
	// "released", "printed", "print-failed", "canceled" or "expired".
	Outcome string
	// Reason is the latest reason given, such as a print failure's.
	Reason string
	// LastSeq is the sequence of the job's latest event.
	LastSeq int64
	// PrinterCounted reports whether the printer's own job log gave the
	// job's impressions: PrinterImpressions, and PrinterSheets where it
	// gave sheets too (else 0). They are what the printer says it
	// printed, beside what printgate counted in the document.
	PrinterCounted                    bool
	PrinterImpressions, PrinterSheets int64
	// PrinterColor and ContentColor are the colour facts more certain
	// than ColorMode (ColorFacts): what the printer reported printing,
	// and what the document holds; "" when not known.
	PrinterColor, ContentColor Color
	// Source is "" for a job that came through printgate, or
	// SourcePrinterLog for one found only in a printer's own log
	// (observed): such a record's JobID is minus its event's sequence.
	Source string
}

// Observed reports whether the record is of a job printed without
// printgate, found in a printer's own log.
func (r JobRecord) Observed() bool { return r.Source == SourcePrinterLog }

// EventSeq is the sequence of the event an observed job's record comes
// from (0 for printgate's own jobs).
func (r JobRecord) EventSeq() int64 {
	if r.Observed() {
		return -r.JobID
	}
	return 0
}

// Color is the job's colour class by the one rule of ColorFacts: what
// the printer reported, else what the document holds, else the mode
// requested; a job that asked for none (or for "auto") and of which
// nothing more is known is ColorUnknown.
func (r JobRecord) Color() Color {
	return ColorFacts{Printer: r.PrinterColor, Content: r.ContentColor, Requested: r.ColorMode}.Color()
}

// Filter selects events or job records for Events, Jobs and Export. Zero
// fields select everything.
type Filter struct {
	// User selects a user's events (as owner of the job or as actor) or
	// job records (as owner).
	User string
	// Queue, Device and Outcome select by equal value.
	Queue, Device, Outcome string
	// Type selects events of one type; job records ignore it.
	Type string
	// Name selects job records by document name: a case-insensitive
	// substring of a clear name, or the exact name of a job whose queue
	// hides names (matched in the keyed form the record holds, see
	// Log.KeyedName). Events ignore it.
	Name string
	// Sensitive selects job records whose document was found to hold
	// content of this kind ("my-number": a sensitive-content-detected
	// event of that kind). Events ignore it.
	Sensitive string
	// Source selects job records by where they come from: SourcePrintgate
	// for jobs that came through printgate, SourcePrinterLog for jobs
	// printed without it; "" selects both. Events ignore it.
	Source string
	// JobID selects one job's events or record.
	JobID int64
	// From (inclusive) and To (exclusive) bound the event time, or the
	// submission time of job records.
	From, To time.Time
	// FromSeq and ToSeq (both inclusive) bound event sequence numbers;
	// job records ignore them.
	FromSeq, ToSeq int64
}

// where builds a WHERE clause over the columns of the given table.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

func (f Filter) eventWhere() *where {
	w := &where{}
	if f.User != "" {
		w.add("(owner = ? OR actor = ?)", f.User, f.User)
	}
	f.common(w, "at")
	if f.Type != "" {
		w.add("type = ?", f.Type)
	}
	if f.FromSeq > 0 {
		w.add("seq >= ?", f.FromSeq)
	}
	if f.ToSeq > 0 {
		w.add("seq <= ?", f.ToSeq)
	}
	return w
}

// jobWhere is a method of the Log, not of the Filter, because a hidden
// name is matched in its keyed form, which takes the Log's key.
func (l *Log) jobWhere(f Filter) *where {
	w := &where{}
	if f.User != "" {
		w.add("owner = ?", f.User)
	}
	f.common(w, "submitted_at")
	if f.Name != "" {
		cond := `LOWER(document_name) LIKE ? ESCAPE '\'`
		args := []any{"%" + escapeLike(strings.ToLower(f.Name)) + "%"}
		if keyed, err := l.KeyedName(f.Name); err == nil {
			cond += ` OR document_name = ?`
			args = append(args, keyed)
		}
		w.add("("+cond+")", args...)
	}
	switch f.Source {
	case SourcePrintgate:
		w.add("source = ''")
	case "":
	default:
		w.add("source = ?", f.Source)
	}
	if f.Sensitive != "" {
		w.add(`job_id IN (SELECT job_id FROM audit_events WHERE type = ? AND details LIKE ? ESCAPE '\')`,
			EventSensitiveContentDetected, `%"kind":"`+escapeLike(f.Sensitive)+`"%`)
	}
	return w
}

func (f Filter) common(w *where, timeCol string) {
	if f.Queue != "" {
		w.add("queue = ?", f.Queue)
	}
	if f.Device != "" {
		w.add("device = ?", f.Device)
	}
	if f.Outcome != "" {
		w.add("outcome = ?", f.Outcome)
	}
	if f.JobID != 0 {
		w.add("job_id = ?", f.JobID)
	}
	if !f.From.IsZero() {
		w.add(timeCol+" >= ?", dbTime(f.From))
	}
	if !f.To.IsZero() {
		w.add(timeCol+" < ?", dbTime(f.To))
	}
}

const eventColumns = `seq, at, type, job_id, owner, actor, queue, device, method, printer,
	outcome, reason, job, details, prev_hash, hash`

func scanEvent(rows *sql.Rows) (Event, error) {
	ev, _, err := scanStoredEvent(rows)
	return ev, err
}

// scanStoredEvent is scanEvent that also returns the event's Job and
// Details as stored, for Verify to hold them to their one encoding.
func scanStoredEvent(rows *sql.Rows) (Event, storedJSON, error) {
	var (
		ev     Event
		stored storedJSON
	)
	err := rows.Scan(&ev.Seq, &ev.At, &ev.Type, &ev.JobID, &ev.Owner, &ev.Actor, &ev.Queue, &ev.Device,
		&ev.Method, &ev.Printer, &ev.Outcome, &ev.Reason, &stored.job, &stored.details, &ev.PrevHash, &ev.Hash)
	if err != nil {
		return Event{}, stored, fmt.Errorf("scan event: %w", err)
	}
	ev.At = ev.At.UTC()
	return ev, stored, decodeColumns(&ev, stored.job, stored.details)
}

const jobColumns = `job_id, queue, owner, claimed_user, client_addr, document_name, name_hidden, format,
	size, sha256, pages, pages_known, pages_reason, copies, sides, color_mode, media, has_job_pin,
	impressions, sheets, submitted_at, released_at, completed_at, expired_at, deleted_at,
	device, method, printer, outcome, reason, last_seq, printer_impressions, printer_sheets, source,
	printer_color, content_color`

func scanJob(rows *sql.Rows) (JobRecord, error) {
	var r JobRecord
	if err := scanJobInto(rows, &r); err != nil {
		return JobRecord{}, err
	}
	return r, nil
}

// scanJobInto scans the jobColumns of a row into r, and the columns the
// query selects after them into extra.
func scanJobInto(rows *sql.Rows, r *JobRecord, extra ...any) error {
	var released, completed, expired, deled sql.NullTime
	var printerImpr, printerSheets sql.NullInt64
	dest := append([]any{&r.JobID, &r.Queue, &r.Owner, &r.ClaimedUser, &r.ClientAddr, &r.DocumentName,
		&r.HideName, &r.Format, &r.Size, &r.SHA256, &r.Pages, &r.PagesKnown, &r.PagesReason, &r.Copies,
		&r.Sides, &r.ColorMode, &r.Media, &r.HasJobPIN, &r.Impressions, &r.Sheets, &r.Submitted,
		&released, &completed, &expired, &deled, &r.Device, &r.Method, &r.Printer, &r.Outcome,
		&r.Reason, &r.LastSeq, &printerImpr, &printerSheets, &r.Source, &r.PrinterColor, &r.ContentColor}, extra...)
	if err := rows.Scan(dest...); err != nil {
		return fmt.Errorf("scan job record: %w", err)
	}
	r.PrinterCounted, r.PrinterImpressions, r.PrinterSheets = printerImpr.Valid, printerImpr.Int64, printerSheets.Int64
	r.Submitted = r.Submitted.UTC()
	r.ReleasedAt, r.CompletedAt = nullTime(released), nullTime(completed)
	r.ExpiredAt, r.DeletedAt = nullTime(expired), nullTime(deled)
	if len(r.SHA256) == 0 {
		r.SHA256 = nil
	}
	return nil
}

func nullTime(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// Events yields the events f selects in sequence order, reading them from
// the database as the loop asks, so that memory stays flat however many
// there are. Stopping the loop early releases the query.
func (l *Log) Events(ctx context.Context, f Filter) iter.Seq2[Event, error] {
	w := f.eventWhere()
	return rowsSeq(l.db.DB.WithContext(ctx),
		`SELECT `+eventColumns+` FROM audit_events`+w.String()+` ORDER BY seq`, w.args,
		scanEvent, "audit: read events")
}

// Jobs yields the job records f selects, oldest submission first, reading
// them as the loop asks.
func (l *Log) Jobs(ctx context.Context, f Filter) iter.Seq2[JobRecord, error] {
	w := l.jobWhere(f)
	return rowsSeq(l.db.DB.WithContext(ctx),
		`SELECT `+jobColumns+` FROM audit_jobs`+w.String()+` ORDER BY submitted_at, job_id`, w.args,
		scanJob, "audit: read job records")
}

// rowsSeq runs query on db and yields each row scanned. An error ends the
// sequence after being yielded once.
func rowsSeq[T any](db *gorm.DB, query string, args []any, scan func(*sql.Rows) (T, error), action string) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		rows, err := db.Raw(query, args...).Rows()
		if err != nil {
			yield(zero, fmt.Errorf("%s: %w", action, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				yield(zero, fmt.Errorf("%s: %w", action, err))
				return
			}
			if !yield(v, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(zero, fmt.Errorf("%s: %w", action, err))
		}
	}
}

// Timeline returns a job's events in order, or ErrNotFound when it has none.
func (l *Log) Timeline(ctx context.Context, jobID int64) ([]Event, error) {
	var evs []Event
	for ev, err := range l.Events(ctx, Filter{JobID: jobID}) {
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	if len(evs) == 0 {
		return nil, fmt.Errorf("audit: timeline of job %d: %w", jobID, ErrNotFound)
	}
	return evs, nil
}

// Job returns a job's record, or ErrNotFound.
func (l *Log) Job(ctx context.Context, jobID int64) (JobRecord, error) {
	for r, err := range l.Jobs(ctx, Filter{JobID: jobID}) {
		return r, err
	}
	return JobRecord{}, fmt.Errorf("audit: job record %d: %w", jobID, ErrNotFound)
}

// Head returns the sequence and hash of the chain's last event (0 and 32
// zero bytes for an empty chain). Keeping a copy outside the database
// lets a later Verify expose even a rewrite of the whole chain.
func (l *Log) Head(ctx context.Context) (seq int64, hash []byte, err error) {
	err = l.db.DB.WithContext(ctx).Raw(`SELECT seq, hash FROM audit_chain WHERE id = 1`).Row().Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		err = errors.New("no chain head; run the migrations")
	}
	return seq, hash, wrap("read chain head", err)
}

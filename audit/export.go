package audit

import (
	"bufio"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"
)

// Encoding is an export file format.
type Encoding string

// Export encodings.
const (
	CSV   Encoding = "csv"
	JSONL Encoding = "jsonl"
)

// ParseEncoding returns the Encoding named s ("csv" or "jsonl").
func ParseEncoding(s string) (Encoding, error) {
	switch e := Encoding(s); e {
	case CSV, JSONL:
		return e, nil
	}
	return "", fmt.Errorf("audit: unknown export format %q (want csv or jsonl)", s)
}

// Format says how Export writes.
type Format struct {
	// Encoding is CSV (the default) or JSONL (one JSON object a line,
	// UTF-8, no BOM).
	Encoding Encoding
	// ShiftJIS writes CSV in Shift_JIS (Windows code page 932), without
	// BOM, for older Excel; a character it cannot hold is written as "?"
	// and counted (Exported.Replaced) so that the caller can say so.
	// Otherwise CSV is UTF-8 with a BOM, which Excel needs to read
	// Japanese names.
	ShiftJIS bool
	// Lang is the language of the CSV header: "" or "en" for the column
	// names, "ja" for Japanese ones. JSON Lines keys do not change.
	Lang string
	// NoBOM leaves the BOM out of UTF-8 CSV.
	NoBOM bool
	// Jobs exports one row per job record (the history) instead of events.
	Jobs bool
}

// exportTimeLayout is RFC 3339 with microseconds and the zone's offset:
// JSON Lines times, for machines.
const exportTimeLayout = "2006-01-02T15:04:05.000000Z07:00"

// csvTimeLayout is the time in the Log's zone as a spreadsheet parses it
// into a date (Excel keeps RFC 3339 as text); csvUTCLayout is the UTC
// column beside it, exact, for machines.
const (
	csvTimeLayout = "2006-01-02 15:04:05"
	csvUTCLayout  = "2006-01-02T15:04:05.000000Z"
)

// Exported says what an export wrote.
type Exported struct {
	// Rows counts the rows, the header aside.
	Rows int64
	// Replaced counts the characters Shift_JIS could not hold, written
	// as "?" (Format.ShiftJIS).
	Replaced int64
}

// Export writes the events (or, with Format.Jobs, the job records) that f
// selects to w, in sequence (or submission) order, and returns how many
// rows it wrote. Rows stream from the database to w, so memory stays flat
// however many there are. Times are in the Log's time zone with offset.
//
// In CSV, a text cell starting with =, +, -, @, tab or CR gets a leading
// apostrophe so that a spreadsheet shows a hostile document name instead
// of running it as a formula; JSONL carries values unchanged.
func (l *Log) Export(ctx context.Context, w io.Writer, f Filter, format Format) (int64, error) {
	x, err := l.ExportCounted(ctx, w, f, format)
	return x.Rows, err
}

// ExportCounted is Export, saying also how many characters Shift_JIS
// could not hold.
func (l *Log) ExportCounted(ctx context.Context, w io.Writer, f Filter, format Format) (Exported, error) {
	if format.Encoding == "" {
		format.Encoding = CSV
	}
	if _, err := ParseEncoding(string(format.Encoding)); err != nil {
		return Exported{}, err
	}
	names, err := headerNames(format.Lang)
	if err != nil {
		return Exported{}, err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	out := io.Writer(bw)
	var sjis io.WriteCloser
	switch {
	case format.Encoding == JSONL:
	case format.ShiftJIS:
		// Every character reaching the encoder is one it holds (toShiftJIS).
		sjis = transform.NewWriter(bw, japanese.ShiftJIS.NewEncoder())
		out = sjis
	case !format.NoBOM:
		bw.WriteString("\uFEFF")
	}
	je := json.NewEncoder(out)
	je.SetEscapeHTML(false) // names with & and < stay readable
	var enc rowWriter = &jsonRows{enc: je}
	var rows *csvRows
	if format.Encoding == CSV {
		cw := csv.NewWriter(out)
		cw.UseCRLF = true
		rows = &csvRows{w: cw, names: names}
		if format.ShiftJIS {
			rows.sjis = japanese.ShiftJIS.NewEncoder()
		}
		enc = rows
	}
	n, err := l.exportRows(ctx, enc, f, format.Jobs)
	if err == nil {
		err = enc.flush()
	}
	if sjis != nil {
		if cerr := sjis.Close(); err == nil {
			err = cerr
		}
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	x := Exported{Rows: n}
	if rows != nil {
		x.Replaced = rows.replaced
	}
	return x, wrap("export", err)
}

func (l *Log) exportRows(ctx context.Context, enc rowWriter, f Filter, jobs bool) (int64, error) {
	var n int64
	if jobs {
		if err := enc.header(jobHeader); err != nil {
			return 0, err
		}
		for r, err := range l.Jobs(ctx, f) {
			if err != nil {
				return n, err
			}
			if err := enc.row(l.jobRow(&r), l.jobObject(&r)); err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	}
	if err := enc.header(eventHeader); err != nil {
		return 0, err
	}
	for ev, err := range l.Events(ctx, f) {
		if err != nil {
			return n, err
		}
		if err := enc.row(l.eventRow(&ev), l.eventObject(&ev)); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// rowWriter writes rows as CSV records or JSON objects; each row is
// offered in both forms and the writer takes the one it needs.
type rowWriter interface {
	header([]string) error
	row(cells func() []string, object func() any) error
	flush() error
}

// csvRows writes CSV records: the header in the language of names, each
// cell defused and, with sjis, held to what Shift_JIS can encode.
type csvRows struct {
	w        *csv.Writer
	names    map[string]string
	sjis     *encoding.Encoder
	replaced int64
}

func (c *csvRows) header(h []string) error {
	rec := make([]string, len(h))
	for i, name := range h {
		rec[i] = c.cell(cmp.Or(c.names[name], name))
	}
	return c.w.Write(rec)
}

func (c *csvRows) row(cells func() []string, _ func() any) error {
	rec := cells()
	for i, s := range rec {
		rec[i] = c.cell(defuse(s))
	}
	return c.w.Write(rec)
}

func (c *csvRows) cell(s string) string {
	if c.sjis == nil {
		return s
	}
	s, n := toShiftJIS(c.sjis, s)
	c.replaced += n
	return s
}
func (c *csvRows) flush() error { c.w.Flush(); return c.w.Error() }

type jsonRows struct{ enc *json.Encoder }

func (*jsonRows) header([]string) error                            { return nil }
func (j *jsonRows) row(_ func() []string, object func() any) error { return j.enc.Encode(object()) }
func (*jsonRows) flush() error                                     { return nil }

// defuse keeps a spreadsheet from evaluating a cell as a formula.
func defuse(s string) string {
	if s != "" {
		switch s[0] {
		case '=', '+', '-', '@', '\t', '\r':
			return "'" + s
		}
	}
	return s
}

// csvTime is t in the Log's zone as csvTimeLayout writes it.
func (l *Log) csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(l.loc).Format(csvTimeLayout)
}

// utc is t in UTC as csvUTCLayout writes it.
func utc(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(csvUTCLayout)
}

func (l *Log) zoned(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(l.loc).Format(exportTimeLayout)
}

var eventHeader = []string{"seq", "at", "at_utc", "type", "job_id", "owner", "actor", "queue", "device", "method",
	"printer", "outcome", "reason", "document_name", "name_hidden", "format", "size", "sha256", "pages",
	"pages_known", "copies", "sides", "color_mode", "color_mode_requested", "media", "has_job_pin",
	"claimed_user", "client_addr", "submitted", "details", "prev_hash", "hash"}

func (l *Log) eventRow(ev *Event) func() []string {
	return func() []string {
		rec := []string{itoa(ev.Seq), l.csvTime(ev.At), utc(ev.At), ev.Type, jobIDCell(ev.JobID), ev.Owner,
			ev.Actor, ev.Queue, ev.Device, ev.Method, ev.Printer, ev.Outcome, ev.Reason}
		if j := ev.Job; j != nil {
			rec = append(rec, j.DocumentName, bool01(j.HideName), j.Format, itoa(j.Size), hex.EncodeToString(j.SHA256),
				pageCell(j), bool01(j.PagesKnown), itoa(int64(j.Copies)), j.Sides,
				string(ColorFacts{Requested: j.ColorMode}.Color()), j.ColorMode, j.Media,
				bool01(j.HasJobPIN), j.ClaimedUser, j.ClientAddr, l.csvTime(j.Submitted))
		} else {
			rec = append(rec, make([]string, 16)...)
		}
		details := ""
		if len(ev.Details) > 0 {
			b, _ := json.Marshal(ev.Details) // a map of strings always encodes
			details = string(b)
		}
		return append(rec, details, hex.EncodeToString(ev.PrevHash), hex.EncodeToString(ev.Hash))
	}
}

// eventExport is an event as a JSON Lines object.
type eventExport struct {
	Seq      int64             `json:"seq"`
	At       string            `json:"at"`
	Type     string            `json:"type"`
	JobID    int64             `json:"job_id,omitempty"`
	Owner    string            `json:"owner,omitempty"`
	Actor    string            `json:"actor,omitempty"`
	Queue    string            `json:"queue,omitempty"`
	Device   string            `json:"device,omitempty"`
	Method   string            `json:"method,omitempty"`
	Printer  string            `json:"printer,omitempty"`
	Outcome  string            `json:"outcome,omitempty"`
	Reason   string            `json:"reason,omitempty"`
	Job      *jobJSON          `json:"job,omitempty"`
	Details  map[string]string `json:"details,omitempty"`
	PrevHash string            `json:"prev_hash"`
	Hash     string            `json:"hash"`
}

func (l *Log) eventObject(ev *Event) func() any {
	return func() any { return newEventExport(ev, l.zoned) }
}

// newEventExport returns ev as an export object, its times written by
// timeText: in the Log's zone for exports, UTC for copies (MarshalCopy).
func newEventExport(ev *Event, timeText func(time.Time) string) eventExport {
	x := eventExport{Seq: ev.Seq, At: timeText(ev.At), Type: ev.Type, JobID: ev.JobID, Owner: ev.Owner,
		Actor: ev.Actor, Queue: ev.Queue, Device: ev.Device, Method: ev.Method, Printer: ev.Printer,
		Outcome: ev.Outcome, Reason: ev.Reason, Details: ev.Details,
		PrevHash: hex.EncodeToString(ev.PrevHash), Hash: hex.EncodeToString(ev.Hash)}
	if ev.Job != nil {
		j := toJobJSON(ev.Job)
		j.Submitted = timeText(ev.Job.Submitted)
		x.Job = &j
	}
	return x
}

var jobHeader = []string{"job_id", "submitted", "submitted_utc", "owner", "claimed_user", "client_addr", "queue",
	"document_name", "name_hidden", "format", "size", "sha256", "pages", "pages_known", "pages_reason",
	"copies", "sides", "color_mode", "color_mode_requested", "media", "has_job_pin", "impressions", "sheets",
	"released", "device", "method", "printer", "completed", "expired", "deleted", "outcome", "reason",
	"printer_impressions", "printer_sheets", "source", "event_seq"}

func (l *Log) jobRow(r *JobRecord) func() []string {
	return func() []string {
		return []string{recordIDCell(r), l.csvTime(r.Submitted), utc(r.Submitted), r.Owner, r.ClaimedUser,
			r.ClientAddr, r.Queue, r.DocumentName, bool01(r.HideName), r.Format, itoa(r.Size),
			hex.EncodeToString(r.SHA256), pageCell(&r.JobInfo), bool01(r.PagesKnown), r.PagesReason,
			itoa(int64(r.Copies)), r.Sides, string(r.Color()), r.ColorMode, r.Media, bool01(r.HasJobPIN),
			itoa(r.Impressions), itoa(r.Sheets), l.csvTime(r.ReleasedAt), r.Device, r.Method, r.Printer,
			l.csvTime(r.CompletedAt), l.csvTime(r.ExpiredAt), l.csvTime(r.DeletedAt), r.Outcome, r.Reason,
			printerCell(r, r.PrinterImpressions), printerCell(r, r.PrinterSheets), r.Source, seqCell(r)}
	}
}

// recordIDCell is the job's ID, empty for a job printed without
// printgate, which has none: its event_seq names the event it comes from.
func recordIDCell(r *JobRecord) string {
	if r.Observed() {
		return ""
	}
	return jobIDCell(r.JobID)
}

func seqCell(r *JobRecord) string {
	if !r.Observed() {
		return ""
	}
	return itoa(r.EventSeq())
}

// printerCell is a count from the printer's own log: empty when it gave
// none, as an unknown page count is.
func printerCell(r *JobRecord, n int64) string {
	if !r.PrinterCounted {
		return ""
	}
	return itoa(n)
}

// jobExport is a job record as a JSON Lines object.
type jobExport struct {
	JobID int64 `json:"job_id,omitempty"`
	jobJSON
	// Color is the job's class (JobRecord.Color); color_mode is the
	// mode it asked for.
	Color       string `json:"color"`
	Impressions int64  `json:"impressions"`
	Sheets      int64  `json:"sheets"`
	Released    string `json:"released,omitempty"`
	Device      string `json:"device,omitempty"`
	Method      string `json:"method,omitempty"`
	Printer     string `json:"printer,omitempty"`
	Completed   string `json:"completed,omitempty"`
	Expired     string `json:"expired,omitempty"`
	Deleted     string `json:"deleted,omitempty"`
	Outcome     string `json:"outcome"`
	Reason      string `json:"reason,omitempty"`
	// PrinterImpressions and PrinterSheets are the printer's own count,
	// absent when its log gave none.
	PrinterImpressions *int64 `json:"printer_impressions,omitempty"`
	PrinterSheets      *int64 `json:"printer_sheets,omitempty"`
	Source             string `json:"source,omitempty"`
	// EventSeq is, for a job printed without printgate (JobID 0), the
	// event it comes from.
	EventSeq int64 `json:"event_seq,omitempty"`
}

func (l *Log) jobObject(r *JobRecord) func() any {
	return func() any {
		j := toJobJSON(&r.JobInfo)
		j.Submitted = l.zoned(r.Submitted)
		x := jobExport{JobID: r.JobID, jobJSON: j, Color: string(r.Color()), Impressions: r.Impressions, Sheets: r.Sheets,
			Released: l.zoned(r.ReleasedAt), Device: r.Device, Method: r.Method, Printer: r.Printer,
			Completed: l.zoned(r.CompletedAt), Expired: l.zoned(r.ExpiredAt), Deleted: l.zoned(r.DeletedAt),
			Outcome: r.Outcome, Reason: r.Reason, Source: r.Source}
		if r.Observed() {
			x.JobID, x.EventSeq = 0, r.EventSeq()
		}
		if r.PrinterCounted {
			x.PrinterImpressions, x.PrinterSheets = &r.PrinterImpressions, &r.PrinterSheets
		}
		return x
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// jobIDCell is the job ID cell: empty on an event of no job, where a 0
// would read as a job.
func jobIDCell(id int64) string {
	if id == 0 {
		return ""
	}
	return itoa(id)
}

func bool01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// pageCell is the page count cell: empty when unknown, so that a sum in a
// spreadsheet does not count an unknown as 0 pages silently.
func pageCell(j *JobInfo) string {
	if !j.PagesKnown {
		return ""
	}
	return strconv.Itoa(j.Pages)
}

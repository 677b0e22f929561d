package audit

import "time"

// A job's record is derived from its events by the rules in this file:
// its submitted event makes it (recordFrom), each later event changes it
// (recordChange). Append writes what they say, folding the events of one
// batch into one INSERT or UPDATE per job; Verify and CheckJob rebuild the
// record with the same rules and compare.

// recordFrom returns the record a submitted event makes.
func recordFrom(ev *Event) *storedRecord {
	r := new(storedRecord)
	r.init(ev)
	return r
}

// init makes r the record the submitted event ev makes.
func (r *storedRecord) init(ev *Event) {
	j := *ev.Job
	if len(j.SHA256) == 0 {
		j.SHA256 = nil
	}
	impr, sheets := impressions(&j)
	*r = storedRecord{
		JobRecord: JobRecord{JobID: ev.JobID, JobInfo: j, Impressions: impr, Sheets: sheets,
			Outcome: EventSubmitted, Reason: ev.Reason, LastSeq: ev.Seq},
	}
	r.color = r.Color() == ColorColor
}

// apply updates the record with a later event of its job.
func (r *storedRecord) apply(ev *Event) {
	var c recordChange
	c.add(ev)
	c.applyTo(&r.JobRecord)
	r.color = r.Color() == ColorColor
}

// recordChange is what the events of a job after its submission change in
// its record. An empty string or a zero time leaves the column as it is.
type recordChange struct {
	lastSeq                               int64
	owner, outcome, reason                string
	name                                  string // a name recorded keyed at submission, now in clear
	device, method, printer               string
	released, completed, expired, deleted time.Time
	// printer is set by a device-job-matched event: the printer's own
	// count of the job.
	printerCount printerCount
	// printerColor and contentColor are colour facts (ColorFacts) that a
	// device-job-matched or a sensitive-content event gave.
	printerColor, contentColor Color
}

// add folds ev, the job's next event, into c. The latest reason given
// stays; a release attempt and the document's destruction leave the
// outcome as it is.
func (c *recordChange) add(ev *Event) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	c.lastSeq = ev.Seq
	set(&c.reason, ev.Reason)
	switch ev.Type {
	case EventHeld, EventPrintFailed:
		c.outcome = ev.Type
	case EventReleased:
		c.outcome, c.released = ev.Type, ev.At
		set(&c.device, ev.Device)
		set(&c.method, ev.Method)
		set(&c.printer, ev.Printer)
	case EventPrinted:
		c.outcome, c.completed = ev.Type, ev.At
		set(&c.device, ev.Device)
		set(&c.printer, ev.Printer)
	case EventCanceled:
		c.outcome, c.completed = ev.Type, ev.At
	case EventExpired:
		c.outcome, c.expired = ev.Type, ev.At
	case EventDocumentDestroyed:
		c.deleted = ev.At
	case EventOwnerAssigned:
		set(&c.owner, ev.Owner)
	case EventSensitiveContentAbsent, EventSensitiveContentUnchecked:
		set(&c.name, ev.Details[DetailDocumentName])
	}
	switch ev.Type {
	case EventSensitiveContentDetected, EventSensitiveContentAbsent, EventSensitiveContentUnchecked:
		if cc := ColorOf(ev.Details[DetailContentColor]); cc != "" {
			c.contentColor = cc
		}
	case EventDeviceJobMatched:
		if pc, ok := printerCountOf(ev.Details); ok {
			c.printerCount = pc
		}
		if pc := printerColorOf(ev.Details); pc != "" {
			c.printerColor = pc
		}
	}
}

// applyTo makes the change to r.
func (c *recordChange) applyTo(r *JobRecord) {
	r.LastSeq = c.lastSeq
	if c.name != "" {
		r.DocumentName, r.HideName = c.name, false
	}
	for _, f := range [...]struct {
		dst *string
		v   string
	}{{&r.Owner, c.owner}, {&r.Outcome, c.outcome}, {&r.Reason, c.reason}, {&r.Device, c.device}, {&r.Method, c.method}, {&r.Printer, c.printer}} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	for _, f := range [...]struct {
		dst *time.Time
		v   time.Time
	}{{&r.ReleasedAt, c.released}, {&r.CompletedAt, c.completed}, {&r.ExpiredAt, c.expired}, {&r.DeletedAt, c.deleted}} {
		if !f.v.IsZero() {
			*f.dst = f.v
		}
	}
	if c.printerColor != "" {
		r.PrinterColor = c.printerColor
	}
	if c.contentColor != "" {
		r.ContentColor = c.contentColor
	}
	if pc := c.printerCount; pc.counted {
		r.PrinterCounted, r.PrinterImpressions = true, pc.impressions
		if pc.sheetsKnown {
			r.PrinterSheets = pc.sheets
		}
	}
}

// recordUpdate sets the columns of a recordChange, leaving those it does
// not change (NULL arguments) as they are: one statement text whatever
// the events were. recordUpdateArgs gives its arguments.
var recordUpdate = `UPDATE audit_jobs SET last_seq = ?, owner = COALESCE(?, owner), outcome = COALESCE(?, outcome),
	reason = COALESCE(?, reason), device = COALESCE(?, device), method = COALESCE(?, method),
	printer = COALESCE(?, printer), released_at = COALESCE(?, released_at),
	completed_at = COALESCE(?, completed_at), expired_at = COALESCE(?, expired_at),
	deleted_at = COALESCE(?, deleted_at), document_name = COALESCE(?, document_name),
	name_hidden = COALESCE(?, name_hidden), printer_impressions = COALESCE(?, printer_impressions),
	printer_sheets = COALESCE(?, printer_sheets), printer_color = COALESCE(?, printer_color),
	content_color = COALESCE(?, content_color), color = (` + newColorClass + ` = '` + string(ColorColor) + `')
	WHERE job_id = ?`

// newColorClass is the colour class of a record once recordUpdate has
// set its colour facts: SET expressions read the row as it was, so it
// takes the new facts as arguments again (twice each, colorClassOf).
var newColorClass = colorClassOf("COALESCE(?, printer_color)", "COALESCE(?, content_color)", "color_mode")

func (c *recordChange) appendUpdateArgs(args []any, jobID int64) []any {
	impr, sheets := c.printerCount.args()
	pc, cc := nullString(string(c.printerColor)), nullString(string(c.contentColor))
	return append(args, c.lastSeq, nullString(c.owner), nullString(c.outcome), nullString(c.reason), nullString(c.device),
		nullString(c.method), nullString(c.printer), nullTimeArg(c.released), nullTimeArg(c.completed),
		nullTimeArg(c.expired), nullTimeArg(c.deleted), nullString(c.name), c.nameHidden(), impr, sheets,
		pc, cc, pc, pc, cc, cc, jobID)
}

// nameHidden is the name_hidden argument of recordUpdate: false once the
// name is in clear, else NULL (unchanged).
func (c *recordChange) nameHidden() any {
	if c.name == "" {
		return nil
	}
	return false
}

// recordColumns are the columns of a whole job record, as one INSERT
// writes it.
const recordColumns = `job_id, queue, owner, claimed_user, client_addr, document_name, name_hidden,
	format, size, sha256, pages, pages_known, pages_reason, copies, sides, color_mode, color, media,
	has_job_pin, impressions, sheets, submitted_at, day, outcome, reason, last_seq,
	released_at, completed_at, expired_at, deleted_at, device, method, printer,
	printer_impressions, printer_sheets, source, printer_color, content_color`

// recordColumnCount is the number of recordColumns.
const recordColumnCount = 38

// recordColumnTypes are the types of recordColumns on PostgreSQL.
var recordColumnTypes = []string{"bigint", "text", "text", "text", "text", "text", "boolean",
	"text", "bigint", "bytea", "integer", "boolean", "text", "integer", "text", "text", "boolean", "text",
	"boolean", "bigint", "bigint", "timestamptz", "text", "text", "text", "bigint",
	"timestamptz", "timestamptz", "timestamptz", "timestamptz", "text", "text", "text",
	"bigint", "bigint", "text", "text", "text"}

// appendRecordArgs appends the values of recordColumns for r.
func (l *Log) appendRecordArgs(args []any, r *storedRecord) []any {
	j := &r.JobInfo
	var digest any // NULL, not an empty blob, when unknown
	if len(j.SHA256) > 0 {
		digest = j.SHA256
	}
	var printerImpr, printerSheets any // NULL: the printer's log gave none
	if r.PrinterCounted {
		printerImpr, printerSheets = r.PrinterImpressions, r.PrinterSheets
	}
	return append(args, r.JobID, j.Queue, j.Owner, j.ClaimedUser, j.ClientAddr, j.DocumentName, j.HideName,
		j.Format, j.Size, digest, j.Pages, j.PagesKnown, j.PagesReason, j.Copies, j.Sides, j.ColorMode,
		r.color, j.Media, j.HasJobPIN, r.Impressions, r.Sheets, j.Submitted, l.day(j.Submitted),
		r.Outcome, r.Reason, r.LastSeq, nullTimeArg(r.ReleasedAt), nullTimeArg(r.CompletedAt),
		nullTimeArg(r.ExpiredAt), nullTimeArg(r.DeletedAt), r.Device, r.Method, r.Printer,
		printerImpr, printerSheets, r.Source, string(r.PrinterColor), string(r.ContentColor))
}

// nullString is s, or NULL for "".
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullTimeArg is t, or NULL for the zero time.
func nullTimeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

package audit

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"gorm.io/gorm"
)

// Job records are derived from the events alone: a submitted event makes
// one, each later event of the job updates it, exactly as Append does in
// the same transaction. Verify rebuilds them while it walks the chain and
// compares each with the stored row, so that a record changed by SQL
// (owner, name, printer, pages...) is named even though records, being
// derived, are not themselves hashed. A record whose submitted event was
// purged goes with it (see Purge), so every kept record can be rebuilt.

// storedRecord is a job record with the derived columns totals read.
type storedRecord struct {
	JobRecord
	// color is the column the record keeps for totals: whether the job
	// is ColorColor.
	color bool
	day   string
}

const checkColumns = jobColumns + `, color, day`

func scanStoredRecord(rows *sql.Rows) (storedRecord, error) {
	var r storedRecord
	if err := scanJobInto(rows, &r.JobRecord, &r.color, &r.day); err != nil {
		return storedRecord{}, err
	}
	return r, nil
}

// diff names the fields in which got (stored) differs from want (rebuilt
// from the events). Values are shown where they help and are not
// document names.
func diff(got, want *storedRecord) []string {
	var out []string
	str := func(name, g, w string, show bool) {
		if g == w {
			return
		}
		if show {
			out = append(out, fmt.Sprintf("%s is %q, the events say %q", name, g, w))
		} else {
			out = append(out, name+" differs")
		}
	}
	num := func(name string, g, w int64) {
		if g != w {
			out = append(out, fmt.Sprintf("%s is %d, the events say %d", name, g, w))
		}
	}
	flag := func(name string, g, w bool) {
		if g != w {
			out = append(out, fmt.Sprintf("%s is %v, the events say %v", name, g, w))
		}
	}
	when := func(name string, g, w time.Time) {
		if !g.Equal(w) {
			out = append(out, fmt.Sprintf("%s is %s, the events say %s", name, formatTime(g), formatTime(w)))
		}
	}
	str("owner", got.Owner, want.Owner, true)
	str("document name", got.DocumentName, want.DocumentName, false)
	str("printer", got.Printer, want.Printer, true)
	num("pages", int64(got.Pages), int64(want.Pages))
	num("copies", int64(got.Copies), int64(want.Copies))
	num("impressions", got.Impressions, want.Impressions)
	num("sheets", got.Sheets, want.Sheets)
	num("size", got.Size, want.Size)
	flag("pages known", got.PagesKnown, want.PagesKnown)
	flag("name hidden", got.HideName, want.HideName)
	flag("job PIN", got.HasJobPIN, want.HasJobPIN)
	flag("colour", got.color, want.color)
	for _, f := range []struct {
		name string
		g, w string
	}{
		{"queue", got.Queue, want.Queue}, {"claimed user", got.ClaimedUser, want.ClaimedUser},
		{"client address", got.ClientAddr, want.ClientAddr}, {"format", got.Format, want.Format},
		{"pages reason", got.PagesReason, want.PagesReason}, {"sides", got.Sides, want.Sides},
		{"colour mode", got.ColorMode, want.ColorMode}, {"media", got.Media, want.Media},
		{"device", got.Device, want.Device}, {"method", got.Method, want.Method},
		{"outcome", got.Outcome, want.Outcome}, {"reason", got.Reason, want.Reason},
	} {
		str(f.name, f.g, f.w, true)
	}
	if !bytes.Equal(got.SHA256, want.SHA256) {
		out = append(out, "document digest differs")
	}
	when("submitted", got.Submitted, want.Submitted)
	when("released", got.ReleasedAt, want.ReleasedAt)
	when("completed", got.CompletedAt, want.CompletedAt)
	when("expired", got.ExpiredAt, want.ExpiredAt)
	when("deleted", got.DeletedAt, want.DeletedAt)
	num("last event", got.LastSeq, want.LastSeq)
	flag("printer counted", got.PrinterCounted, want.PrinterCounted)
	num("printer impressions", got.PrinterImpressions, want.PrinterImpressions)
	num("printer sheets", got.PrinterSheets, want.PrinterSheets)
	str("source", got.Source, want.Source, true)
	str("printer colour", string(got.PrinterColor), string(want.PrinterColor), true)
	str("content colour", string(got.ContentColor), string(want.ContentColor), true)
	if !plausibleDay(got.day, want.Submitted) {
		out = append(out, fmt.Sprintf("day is %q, not the date of its submission", got.day))
	}
	return out
}

// plausibleDay reports whether day is the date of t in some time zone:
// the day column follows audit.time_zone as it was when the job was
// recorded, which may since have changed.
func plausibleDay(day string, t time.Time) bool {
	for _, d := range []time.Duration{-12 * time.Hour, 0, 14 * time.Hour} {
		if t.Add(d).UTC().Format(time.DateOnly) == day {
			return true
		}
	}
	return false
}

// idSet is a set of job IDs as a sparse bitmap: job IDs are dense, so a
// million jobs take a few hundred KiB.
type idSet map[int64]uint64

func (s idSet) add(id int64)      { s[id>>6] |= 1 << (uint64(id) & 63) }
func (s idSet) has(id int64) bool { return s[id>>6]&(1<<(uint64(id)&63)) != 0 }

// recordBatch is how many job records are read at a time.
const recordBatch = 1000

// jobChecker rebuilds job records from the events as Verify walks them and
// compares each stored record once the walk has passed its last event.
// Records are read in order of their last event, a batch at a time, so
// memory holds only the jobs still open at the walk's position.
type jobChecker struct {
	db       *gorm.DB
	r        *Report
	open     map[int64]*storedRecord // rebuilt, record not yet compared
	closed   idSet                   // rebuilt and compared
	reported idSet                   // with a problem reported
	batch    []storedRecord
	// after is the (last_seq, job_id) of the last record read.
	afterSeq, afterID int64
	exhausted         bool
}

func newJobChecker(db *gorm.DB, r *Report) *jobChecker {
	return &jobChecker{db: db, r: r, open: make(map[int64]*storedRecord), closed: make(idSet), reported: make(idSet)}
}

// problem records the first problem of job id; JobsBad counts jobs.
func (c *jobChecker) problem(id int64, reason string) {
	if c.reported.has(id) {
		return
	}
	c.reported.add(id)
	c.r.JobsBad++
	if len(c.r.BadJobs) < maxProblems {
		c.r.BadJobs = append(c.r.BadJobs, JobProblem{JobID: id, Reason: reason})
	}
}

// event takes in a verified event, then compares the records whose last
// event it is (or precedes).
func (c *jobChecker) event(ev *Event) error {
	if ev.JobID == 0 && ev.Type == EventDeviceJobObserved {
		rec := observedRecord(ev)
		c.open[rec.JobID] = rec
	}
	if ev.JobID != 0 {
		switch rec, ok := c.open[ev.JobID]; {
		case ev.Type == EventSubmitted && ev.Job != nil:
			c.open[ev.JobID] = recordFrom(ev)
		case ok:
			rec.apply(ev)
		case c.closed.has(ev.JobID):
			c.problem(ev.JobID, fmt.Sprintf("its record ends before its event %d", ev.Seq))
		}
		// Otherwise the job was submitted before the kept events.
	}
	return c.through(ev.Seq)
}

// next returns the next stored record in (last_seq, job_id) order, nil
// after the last.
func (c *jobChecker) next() (*storedRecord, error) {
	if len(c.batch) == 0 && !c.exhausted {
		rows, err := c.db.Raw(`SELECT `+checkColumns+` FROM audit_jobs
			WHERE (last_seq, job_id) > (?, ?) ORDER BY last_seq, job_id LIMIT ?`,
			c.afterSeq, c.afterID, recordBatch).Rows()
		if err != nil {
			return nil, fmt.Errorf("read job records: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			rec, err := scanStoredRecord(rows)
			if err != nil {
				return nil, err
			}
			c.batch = append(c.batch, rec)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read job records: %w", err)
		}
		c.exhausted = len(c.batch) < recordBatch
		if n := len(c.batch); n > 0 {
			c.afterSeq, c.afterID = c.batch[n-1].LastSeq, c.batch[n-1].JobID
		}
	}
	if len(c.batch) == 0 {
		return nil, nil
	}
	return &c.batch[0], nil
}

// through compares every stored record whose last event is at or before
// seq.
func (c *jobChecker) through(seq int64) error {
	for {
		rec, err := c.next()
		if err != nil || rec == nil || rec.LastSeq > seq {
			return err
		}
		c.compare(rec)
		c.batch = c.batch[1:]
	}
}

func (c *jobChecker) compare(rec *storedRecord) {
	c.r.Jobs++
	want, ok := c.open[rec.JobID]
	if !ok {
		c.problem(rec.JobID, "the record has no submitted event in the chain")
		return
	}
	delete(c.open, rec.JobID)
	c.closed.add(rec.JobID)
	if d := diff(rec, want); len(d) > 0 {
		c.problem(rec.JobID, joinDiff(d))
	}
}

func joinDiff(d []string) string {
	s := d[0]
	for _, x := range d[1:] {
		s += "; " + x
	}
	return s
}

// finish settles what the walk up to to left: records whose last event is
// later, which an append made while Verify ran (their last event belongs
// to the job, and they are checked next time) or which were changed, and
// jobs rebuilt whose record is missing.
func (c *jobChecker) finish(db *gorm.DB, to int64) error {
	if err := c.through(to); err != nil {
		return err
	}
	c.exhausted = false // records may have moved past the walk while it ran
	for {
		rec, err := c.next()
		if err != nil {
			return err
		}
		if rec == nil {
			break
		}
		var owner sql.NullInt64
		err = db.Raw(`SELECT job_id FROM audit_events WHERE seq = ?`, rec.LastSeq).Row().Scan(&owner)
		switch {
		case err == nil && owner.Int64 == rec.JobID:
			delete(c.open, rec.JobID) // appended during the check
		case err == nil || errors.Is(err, sql.ErrNoRows):
			c.r.Jobs++
			c.problem(rec.JobID, fmt.Sprintf("the record names event %d as its last, which is not the job's", rec.LastSeq))
		default:
			return fmt.Errorf("read event %d: %w", rec.LastSeq, err)
		}
		c.batch = c.batch[1:]
	}
	for _, id := range slices.Sorted(maps.Keys(c.open)) {
		c.problem(id, "the job's record is missing")
	}
	return nil
}

// CheckJob rebuilds job id's record from its events and compares it with
// the stored one, returning what differs ("" when nothing does). It does
// not check the events themselves: Verify over their range does.
func (l *Log) CheckJob(ctx context.Context, id int64) (string, error) {
	var problem string
	// An append between reading the record and the events can make them
	// differ for a moment; only a difference seen twice counts.
	for range 2 {
		got, ok, err := l.storedRecord(ctx, id)
		if err != nil {
			return "", err
		}
		var want *storedRecord
		f := Filter{JobID: id}
		if id < 0 { // an observed job's record: its one event
			f = Filter{Type: EventDeviceJobObserved, FromSeq: -id, ToSeq: -id}
		}
		for ev, err := range l.Events(ctx, f) {
			if err != nil {
				return "", err
			}
			switch {
			case id < 0:
				want = observedRecord(&ev)
			case ev.Type == EventSubmitted && ev.Job != nil:
				want = recordFrom(&ev)
			case want != nil:
				want.apply(&ev)
			}
		}
		switch {
		case !ok && want == nil:
			return "", fmt.Errorf("audit: job record %d: %w", id, ErrNotFound)
		case !ok:
			problem = "the job's record is missing"
		case want == nil:
			problem = "the record has no submitted event in the chain"
		default:
			problem = ""
			if d := diff(&got, want); len(d) > 0 {
				problem = joinDiff(d)
			}
		}
		if problem == "" {
			return "", nil
		}
	}
	return problem, nil
}

func (l *Log) storedRecord(ctx context.Context, id int64) (storedRecord, bool, error) {
	rows, err := l.db.DB.WithContext(ctx).Raw(`SELECT `+checkColumns+` FROM audit_jobs WHERE job_id = ?`, id).Rows()
	if err != nil {
		return storedRecord{}, false, wrap("read job record", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return storedRecord{}, false, wrap("read job record", rows.Err())
	}
	rec, err := scanStoredRecord(rows)
	return rec, err == nil, wrap("read job record", err)
}

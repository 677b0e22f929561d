package stamp

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
)

// EventStamped is the audit event of a stamp: appended, with the stamp's
// text and code, in the transaction that indexes the code, before the
// stamped document goes to the printer. No page carries a code that the
// record does not hold.
const EventStamped = "stamped"

// Details keys of an EventStamped event.
const (
	DetailCode = "stamp_code"
	DetailText = "stamp_text"
	// DetailTime is the release time the code covers (FormatTime).
	DetailTime = "stamp_time"
)

// Errors of Lookup.
var (
	// ErrNotFound means no job carries the code. It wraps
	// audit.ErrNotFound.
	ErrNotFound = fmt.Errorf("stamp: no job carries this code: %w", audit.ErrNotFound)
	// ErrUnverified means the code's index names a job whose audit record
	// does not vouch for the code: the record was changed, or purged.
	ErrUnverified = errors.New("stamp: the audit record does not vouch for this code")
)

// Migrate creates the table of keyed code indexes.
func Migrate(ctx context.Context, db *database.DB) error {
	return db.Migrate(ctx, "stamp", []database.Migration{
		{Name: "stamp_codes", Up: func(tx *gorm.DB, d database.Dialect) error {
			bytes := "BLOB"
			if d == database.Postgres {
				bytes = "BYTEA"
			}
			return database.Exec(tx, `CREATE TABLE stamp_codes (
				code_index `+bytes+` PRIMARY KEY,
				job_id BIGINT NOT NULL
			)`)
		}},
	})
}

// PurgeUnrecorded deletes, inside tx, the indexed codes of jobs that
// have no audit record any more: the audit purge removed it (pass it as
// audit.Options.PurgeDependents). An index must not outlive the record
// it points at; a code is written in the transaction that appends its
// event, long after the job's record was made, so no live code is
// without one.
func PurgeUnrecorded(tx *gorm.DB) error {
	err := tx.Exec(`DELETE FROM stamp_codes WHERE NOT EXISTS
		(SELECT 1 FROM audit_jobs a WHERE a.job_id = stamp_codes.job_id)`).Error
	if err != nil {
		return fmt.Errorf("stamp: purge codes of purged job records: %w", err)
	}
	return nil
}

// Codes keeps the index from verification codes to jobs: a keyed HMAC of
// each code (never the code) and the job, written with the code's audit
// event. A code found there is only an answer once the job's audit record
// vouches for it (Lookup).
type Codes struct {
	db   *database.DB
	keys *Keys
}

// NewCodes returns the Codes over db, under keys.
func NewCodes(db *database.DB, keys *Keys) *Codes { return &Codes{db: db, keys: keys} }

// Keys returns the keys codes are made with.
func (c *Codes) Keys() *Keys { return c.keys }

// Event is the audit event of stamping r's job with text, its code
// computed from r.
func (c *Codes) Event(r Record, text string) audit.Event {
	return audit.Event{
		Type: EventStamped, JobID: r.JobID, Owner: r.Owner, Actor: audit.ActorSystem, Queue: r.Queue, Printer: r.Printer,
		Details: map[string]string{DetailCode: c.keys.Code(r), DetailText: text, DetailTime: FormatTime(r.Time)},
	}
}

// Remember indexes r's code inside tx, the transaction that appends its
// event. It reports false when the code was indexed already (the same
// release sent again), in which case the event is recorded already too.
func (c *Codes) Remember(tx *gorm.DB, r Record) (bool, error) {
	idx := c.keys.indexOf(c.keys.code(r))
	// Not (code_index, ...): gorm spreads a byte slice that follows "(".
	res := tx.Exec(`INSERT INTO stamp_codes (job_id, code_index) VALUES (?, ?) ON CONFLICT DO NOTHING`, r.JobID, idx)
	if res.Error != nil {
		return false, fmt.Errorf("stamp: index code of job %d: %w", r.JobID, res.Error)
	}
	if res.RowsAffected == 1 {
		return true, nil
	}
	var owner int64
	if err := tx.Raw(`SELECT job_id FROM stamp_codes WHERE code_index = ?`, idx).Row().Scan(&owner); err != nil {
		return false, fmt.Errorf("stamp: index code of job %d: %w", r.JobID, err)
	}
	if owner != r.JobID {
		// 60 bits make this all but impossible; print nothing that
		// would lead to the wrong job.
		return false, fmt.Errorf("stamp: job %d's code is job %d's already", r.JobID, owner)
	}
	return false, nil
}

// AuditRecord reads jobs' audit records; *audit.Log is one.
type AuditRecord interface {
	Job(ctx context.Context, id int64) (audit.JobRecord, error)
	Timeline(ctx context.Context, id int64) ([]audit.Event, error)
}

// Match is the job a code leads to.
type Match struct {
	// Job is the job's record.
	Job audit.JobRecord
	// Event is the stamped event that holds the code.
	Event audit.Event
	// Code is the code, as printed.
	Code string
	// Time is the release time the code covers.
	Time time.Time
}

// Lookup finds the job that carries code, typed in any form Normalize
// accepts, and checks it: the job's stamped event must hold the code, and
// the code must be the MAC of the job's record (its owner, queue, printer,
// release time and document digest). ErrBadCode, ErrNotFound or
// ErrUnverified otherwise.
func (c *Codes) Lookup(ctx context.Context, rec AuditRecord, code string) (Match, error) {
	n, err := Normalize(code)
	if err != nil {
		return Match{}, err
	}
	var id int64
	err = c.db.WithContext(ctx).Raw(`SELECT job_id FROM stamp_codes WHERE code_index = ?`, c.keys.indexOf(n)).Row().Scan(&id)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Match{}, ErrNotFound
		}
		return Match{}, fmt.Errorf("stamp: look up code: %w", err)
	}
	job, err := rec.Job(ctx, id)
	if err != nil {
		return Match{}, fmt.Errorf("stamp: job %d: %w: %w", id, ErrUnverified, err)
	}
	events, err := rec.Timeline(ctx, id)
	if err != nil {
		return Match{}, fmt.Errorf("stamp: job %d: %w: %w", id, ErrUnverified, err)
	}
	for _, ev := range events {
		if ev.Type != EventStamped {
			continue
		}
		if got, err := Normalize(ev.Details[DetailCode]); err != nil || got != n {
			continue
		}
		t, err := time.Parse(time.RFC3339, ev.Details[DetailTime])
		if err != nil {
			continue
		}
		r := Record{JobID: id, Owner: ev.Owner, Queue: ev.Queue, Printer: ev.Printer, Time: t, SHA256: job.SHA256}
		if c.keys.Check(r, n) {
			return Match{Job: job, Event: ev, Code: group(n), Time: t}, nil
		}
	}
	return Match{}, fmt.Errorf("stamp: job %d: %w", id, ErrUnverified)
}

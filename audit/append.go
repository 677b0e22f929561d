package audit

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/printgate/printgate/internal/database"
	"gorm.io/gorm"
)

// Append adds ev to the chain inside tx, the caller's transaction that
// makes the state change ev records, and returns it as stored: with Seq,
// At, PrevHash and Hash (keyed with Options.Key, which Append needs) set, strings cleaned and a hidden document name
// keyed. It also inserts or updates the job's record. Any error must fail
// the caller's transaction, so that no change goes unrecorded.
//
// Appends serialize on the chain-head row: on PostgreSQL by locking it
// (SELECT ... FOR UPDATE), on SQLite by the transaction itself, which the
// database package opens as BEGIN IMMEDIATE. The lock is held until tx
// ends, so callers should append late in short transactions.
func (l *Log) Append(ctx context.Context, tx *gorm.DB, ev Event) (Event, error) {
	if l.chainKey == nil {
		return Event{}, fmt.Errorf("audit: append %s: %w", ev.Type, ErrNoKey)
	}
	if err := l.prepare(&ev); err != nil {
		return Event{}, fmt.Errorf("audit: append %s: %w", ev.Type, err)
	}
	tx = tx.WithContext(ctx)
	if err := l.append(tx, &ev); err != nil {
		return Event{}, fmt.Errorf("audit: append %s event for job %d: %w", ev.Type, ev.JobID, err)
	}
	return ev, nil
}

// prepare validates ev and brings its values to the form that is hashed
// and stored. It copies what it changes, leaving the caller's values alone.
func (l *Log) prepare(ev *Event) error {
	if ev.Type == "" {
		return fmt.Errorf("%w: no type", ErrInvalidEvent)
	}
	if ev.Type == EventSubmitted && (ev.Job == nil || ev.JobID == 0) {
		return fmt.Errorf("%w: a submitted event needs a job ID and job info", ErrInvalidEvent)
	}
	if ev.Job != nil && ev.JobID == 0 {
		return fmt.Errorf("%w: job info without a job ID", ErrInvalidEvent)
	}
	for _, p := range []*string{&ev.Type, &ev.Owner, &ev.Actor, &ev.Queue, &ev.Device, &ev.Method, &ev.Printer, &ev.Outcome, &ev.Reason} {
		*p = clean(*p)
	}
	if len(ev.Details) > 0 {
		d := make(map[string]string, len(ev.Details))
		for k, v := range ev.Details {
			if isSecretKey(k) {
				return fmt.Errorf("%w: key %q", ErrSecretDetail, k)
			}
			d[clean(k)] = clean(v)
		}
		ev.Details = d
	} else {
		ev.Details = nil
	}
	if ev.Job != nil {
		j := *ev.Job
		for _, p := range []*string{&j.Queue, &j.Owner, &j.ClaimedUser, &j.ClientAddr, &j.DocumentName, &j.Format, &j.PagesReason, &j.Sides, &j.ColorMode, &j.Media} {
			*p = clean(*p)
		}
		j.SHA256 = append([]byte(nil), j.SHA256...)
		if j.Copies < 1 {
			j.Copies = 1
		}
		if j.HideName {
			name, err := l.KeyedName(j.DocumentName)
			if err != nil {
				return fmt.Errorf("hide document name: %w", err)
			}
			j.DocumentName = name
		}
		j.Submitted = dbTime(j.Submitted) // zero stays zero; append sets it
		ev.Job = &j
		if ev.Owner == "" {
			ev.Owner = j.Owner
		}
		if ev.Queue == "" {
			ev.Queue = j.Queue
		}
	}
	return nil
}

// append does the database work of Append.
func (l *Log) append(tx *gorm.DB, ev *Event) error {
	// Read before taking the lock, to hold it no longer than needed.
	if ev.JobID != 0 && ev.Type != EventSubmitted && (ev.Owner == "" || ev.Queue == "") {
		var rec struct{ Owner, Queue string }
		err := tx.Raw(`SELECT owner, queue FROM audit_jobs WHERE job_id = ?`, ev.JobID).Row().Scan(&rec.Owner, &rec.Queue)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			// An event for a job with no record (purged, or recorded by
			// an older version) is still recorded; it is the proof.
		case err != nil:
			return fmt.Errorf("read job record: %w", err)
		default:
			if ev.Owner == "" {
				ev.Owner = rec.Owner
			}
			if ev.Queue == "" {
				ev.Queue = rec.Queue
			}
		}
	}
	var head struct {
		Seq  int64
		Hash []byte
	}
	lock := `SELECT seq, hash FROM audit_chain WHERE id = 1`
	if l.db.Dialect == database.Postgres {
		lock += ` FOR UPDATE`
	}
	if err := tx.Raw(lock).Row().Scan(&head.Seq, &head.Hash); err != nil {
		return fmt.Errorf("lock chain head: %w", err)
	}
	// Taken after the lock, so times follow sequence on one instance.
	ev.Seq = head.Seq + 1
	ev.At = dbTime(l.now())
	ev.PrevHash = head.Hash
	if ev.Job != nil && ev.Job.Submitted.IsZero() {
		ev.Job.Submitted = ev.At
	}

	ev.Hash = newHasher(l.chainKey).sum(ev.PrevHash, ev)

	args, err := eventArgs(ev)
	if err != nil {
		return err
	}
	if err := tx.Exec(`INSERT INTO audit_events (`+eventColumns+`) VALUES (`+placeholders(len(args))+`)`, args...).Error; err != nil {
		return fmt.Errorf("insert event %d: %w", ev.Seq, err)
	}
	res := tx.Exec(`UPDATE audit_chain SET seq = ?, hash = ? WHERE id = 1 AND seq = ?`, ev.Seq, ev.Hash, head.Seq)
	if res.Error != nil {
		return fmt.Errorf("move chain head: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		// Only possible if something appended without the lock.
		return errors.New("move chain head: head moved under the lock")
	}
	if ev.JobID == 0 {
		return nil
	}
	if ev.Type == EventSubmitted {
		return l.insertRecord(tx, ev)
	}
	return updateRecord(tx, ev)
}

// encodeColumns returns the stored JSON of ev's Job and Details, or nil
// (SQL NULL) for absent ones.
func encodeColumns(ev *Event) (job, details any, err error) {
	if ev.Job != nil {
		b, err := json.Marshal(toJobJSON(ev.Job))
		if err != nil {
			return nil, nil, fmt.Errorf("encode job: %w", err)
		}
		job = string(b)
	}
	if len(ev.Details) > 0 {
		b, err := json.Marshal(ev.Details)
		if err != nil {
			return nil, nil, fmt.Errorf("encode details: %w", err)
		}
		details = string(b)
	}
	return job, details, nil
}

// jobJSON is how a JobInfo is stored in an event row. Times use the
// canonical layout and the digest hex, so decoding gives back exactly the
// values that were hashed.
type jobJSON struct {
	Queue        string `json:"queue"`
	Owner        string `json:"owner"`
	ClaimedUser  string `json:"claimed_user,omitempty"`
	ClientAddr   string `json:"client_addr,omitempty"`
	DocumentName string `json:"document_name"`
	HideName     bool   `json:"name_hidden,omitempty"`
	Format       string `json:"format,omitempty"`
	Size         int64  `json:"size"`
	SHA256       string `json:"sha256,omitempty"`
	Pages        int    `json:"pages"`
	PagesKnown   bool   `json:"pages_known"`
	PagesReason  string `json:"pages_reason,omitempty"`
	Copies       int    `json:"copies"`
	Sides        string `json:"sides,omitempty"`
	ColorMode    string `json:"color_mode,omitempty"`
	Media        string `json:"media,omitempty"`
	HasJobPIN    bool   `json:"has_job_pin,omitempty"`
	Submitted    string `json:"submitted"`
}

func toJobJSON(j *JobInfo) jobJSON {
	return jobJSON{
		Queue: j.Queue, Owner: j.Owner, ClaimedUser: j.ClaimedUser, ClientAddr: j.ClientAddr,
		DocumentName: j.DocumentName, HideName: j.HideName, Format: j.Format, Size: j.Size,
		SHA256: hex.EncodeToString(j.SHA256), Pages: j.Pages, PagesKnown: j.PagesKnown,
		PagesReason: j.PagesReason, Copies: j.Copies, Sides: j.Sides, ColorMode: j.ColorMode,
		Media: j.Media, HasJobPIN: j.HasJobPIN, Submitted: formatTime(j.Submitted),
	}
}

func (s jobJSON) info() (*JobInfo, error) {
	digest, err := hex.DecodeString(s.SHA256)
	if err != nil {
		return nil, fmt.Errorf("job sha256: %w", err)
	}
	if len(digest) == 0 {
		digest = nil
	}
	submitted, err := parseTime(s.Submitted)
	if err != nil {
		return nil, fmt.Errorf("job submitted time: %w", err)
	}
	return &JobInfo{
		Queue: s.Queue, Owner: s.Owner, ClaimedUser: s.ClaimedUser, ClientAddr: s.ClientAddr,
		DocumentName: s.DocumentName, HideName: s.HideName, Format: s.Format, Size: s.Size,
		SHA256: digest, Pages: s.Pages, PagesKnown: s.PagesKnown, PagesReason: s.PagesReason,
		Copies: s.Copies, Sides: s.Sides, ColorMode: s.ColorMode, Media: s.Media,
		HasJobPIN: s.HasJobPIN, Submitted: submitted,
	}, nil
}

// decodeColumns is the inverse of encodeColumns.
func decodeColumns(ev *Event, job, details sql.NullString) error {
	if job.Valid {
		var s jobJSON
		if err := json.Unmarshal([]byte(job.String), &s); err != nil {
			return fmt.Errorf("decode job of event %d: %w", ev.Seq, err)
		}
		j, err := s.info()
		if err != nil {
			return fmt.Errorf("decode job of event %d: %w", ev.Seq, err)
		}
		ev.Job = j
	}
	if details.Valid {
		if err := json.Unmarshal([]byte(details.String), &ev.Details); err != nil {
			return fmt.Errorf("decode details of event %d: %w", ev.Seq, err)
		}
	}
	return nil
}

// insertRecord creates the job record from a submitted event.
func (l *Log) insertRecord(tx *gorm.DB, ev *Event) error {
	args := l.recordArgs(ev)
	if err := tx.Exec(`INSERT INTO audit_jobs (`+recordInsertColumns+`) VALUES (`+placeholders(len(args))+`)`, args...).Error; err != nil {
		return fmt.Errorf("insert job record: %w", err)
	}
	return nil
}

// eventArgs returns the values of eventColumns for ev.
func eventArgs(ev *Event) ([]any, error) {
	job, details, err := encodeColumns(ev)
	if err != nil {
		return nil, err
	}
	return []any{ev.Seq, ev.At, ev.Type, ev.JobID, ev.Owner, ev.Actor, ev.Queue, ev.Device, ev.Method,
		ev.Printer, ev.Outcome, ev.Reason, job, details, ev.PrevHash, ev.Hash}, nil
}

// recordInsertColumns are the job record columns a submitted event sets.
const recordInsertColumns = `job_id, queue, owner, claimed_user, client_addr, document_name, name_hidden,
	format, size, sha256, pages, pages_known, pages_reason, copies, sides, color_mode, color, media,
	has_job_pin, impressions, sheets, submitted_at, day, outcome, reason, last_seq`

// recordArgs returns the values of recordInsertColumns for a submitted event.
func (l *Log) recordArgs(ev *Event) []any {
	j := ev.Job
	impr, sheets := impressions(j)
	var digest any // NULL, not an empty string, when unknown
	if len(j.SHA256) > 0 {
		digest = j.SHA256
	}
	return []any{ev.JobID, j.Queue, j.Owner, j.ClaimedUser, j.ClientAddr, j.DocumentName, j.HideName,
		j.Format, j.Size, digest, j.Pages, j.PagesKnown, j.PagesReason, j.Copies, j.Sides, j.ColorMode,
		isColor(j.ColorMode), j.Media, j.HasJobPIN, impr, sheets, j.Submitted, l.day(j.Submitted),
		EventSubmitted, ev.Reason, ev.Seq}
}

// placeholders returns "?, ?, ..." for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// updateRecord applies a later event to the job's record. A release
// attempt and the document's destruction leave the outcome as it is.
func updateRecord(tx *gorm.DB, ev *Event) error {
	set := map[string]any{"last_seq": ev.Seq}
	if ev.Reason != "" {
		set["reason"] = ev.Reason
	}
	outcome := ""
	switch ev.Type {
	case EventHeld, EventPrintFailed:
		outcome = ev.Type
	case EventReleased:
		outcome = ev.Type
		set["released_at"] = ev.At
		maps.Copy(set, nonEmpty(map[string]string{"device": ev.Device, "method": ev.Method, "printer": ev.Printer}))
	case EventPrinted:
		outcome = ev.Type
		set["completed_at"] = ev.At
		maps.Copy(set, nonEmpty(map[string]string{"device": ev.Device, "printer": ev.Printer}))
	case EventCanceled:
		outcome = ev.Type
		set["completed_at"] = ev.At
	case EventExpired:
		outcome = ev.Type
		set["expired_at"] = ev.At
	case EventDocumentDestroyed:
		set["deleted_at"] = ev.At
	}
	if outcome != "" {
		set["outcome"] = outcome
	}
	if err := tx.Table("audit_jobs").Where("job_id = ?", ev.JobID).Updates(set).Error; err != nil {
		return fmt.Errorf("update job record: %w", err)
	}
	return nil
}

func nonEmpty(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

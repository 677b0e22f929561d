package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/printgate/printgate/internal/database"
	"gorm.io/gorm"
)

// Checkpoint vouches for the purged start of the chain: the hash of the
// last purged event, signed with the Log's key, so that the events kept
// after it still verify.
type Checkpoint struct {
	// Seq and Hash are the last purged event's sequence and hash.
	Seq  int64
	Hash []byte
	// LastAt is the last purged event's time; Created is when the
	// checkpoint was written.
	LastAt, Created time.Time
	// Events counts the events this purge removed.
	Events int64
	// Signature is HMAC-SHA256 over the fields above.
	Signature []byte
}

// checkpointVersion starts the signed bytes of a checkpoint.
const checkpointVersion = "printgate-audit-checkpoint/1"

func (c *Checkpoint) signedBytes() []byte {
	b := appendString(nil, checkpointVersion)
	b = appendInt(b, c.Seq)
	b = appendString(b, string(c.Hash))
	b = appendString(b, formatTime(c.LastAt))
	b = appendString(b, formatTime(c.Created))
	return appendInt(b, c.Events)
}

func (l *Log) sign(c *Checkpoint) []byte {
	m := hmac.New(sha256.New, l.signKey)
	m.Write(c.signedBytes())
	return m.Sum(nil)
}

func (l *Log) checkpointValid(c *Checkpoint) bool {
	return l.signKey != nil && hmac.Equal(l.sign(c), c.Signature)
}

// latestCheckpoint returns the checkpoint with the highest sequence, or
// nil when the chain was never purged.
func latestCheckpoint(db *gorm.DB) (*Checkpoint, error) {
	var c Checkpoint
	err := db.Raw(`SELECT seq, hash, last_at, created_at, events, signature FROM audit_checkpoints
		ORDER BY seq DESC LIMIT 1`).Row().Scan(&c.Seq, &c.Hash, &c.LastAt, &c.Created, &c.Events, &c.Signature)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	c.LastAt, c.Created = c.LastAt.UTC(), c.Created.UTC()
	return &c, nil
}

// PurgeReport says what Purge removed.
type PurgeReport struct {
	// Events and Jobs count the events and job records removed.
	Events, Jobs int64
	// Checkpoint is the checkpoint written, nil when nothing was old
	// enough to purge.
	Checkpoint *Checkpoint
	// Event is the "purged" event appended to record the purge.
	Event Event
}

// PurgeExpired purges the events past the configured retention on by's
// behalf.
func (l *Log) PurgeExpired(ctx context.Context, by string) (PurgeReport, error) {
	return l.Purge(ctx, l.RetentionCutoff(), by)
}

// Purge removes the events older than before, and the job records whose
// submitted event it removes (a job submitted before the cutoff leaves the
// history even if a later event of it is kept), in one transaction that also writes a signed
// checkpoint of the last removed event and appends a "purged" event. Only
// a prefix of the chain is ever removed: it ends before the first event
// at or after before, so an event whose clock ran late is kept with
// everything after it. Purge first verifies the range it removes and
// refuses with ErrBrokenChain when it does not verify, so that a
// checkpoint never vouches for a tampered chain. The "purged" event names
// by (ActorSystem for printgate itself). It needs Options.Key.
func (l *Log) Purge(ctx context.Context, before time.Time, by string) (PurgeReport, error) {
	if l.signKey == nil {
		return PurgeReport{}, wrap("purge", ErrNoKey)
	}
	var rep PurgeReport
	err := l.db.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Lock the head so no append runs while the prefix is chosen.
		lock := `SELECT seq FROM audit_chain WHERE id = 1`
		if l.db.Dialect == database.Postgres {
			lock += ` FOR UPDATE`
		}
		var headSeq int64
		if err := tx.Raw(lock).Row().Scan(&headSeq); err != nil {
			return fmt.Errorf("lock chain head: %w", err)
		}
		var firstKept sql.NullInt64
		if err := tx.Raw(`SELECT MIN(seq) FROM audit_events WHERE at >= ?`, dbTime(before)).Row().Scan(&firstKept); err != nil {
			return fmt.Errorf("find first kept event: %w", err)
		}
		through := headSeq
		if firstKept.Valid {
			through = firstKept.Int64 - 1
		}
		prevCP, err := latestCheckpoint(tx)
		if err != nil {
			return err
		}
		var since int64
		if prevCP != nil {
			since = prevCP.Seq
		}
		if through <= since {
			return nil
		}
		// In an upgraded chain's plain part the walk runs on to the next
		// signed mark, so its last hash is not the one the checkpoint
		// vouches for: take event through's own.
		var throughHash []byte
		w := &walker{h: newHasher(l.chainKey), onEvent: func(ev *Event) {
			if ev.Seq == through {
				throughHash = bytes.Clone(ev.Hash)
			}
		}}
		vr, err := l.verify(tx, VerifyOptions{From: since + 1, To: through}, w)
		if err != nil {
			return err
		}
		if !vr.OK() {
			return fmt.Errorf("%w: event %d: %s", ErrBrokenChain, vr.FirstBad, vr.Reason)
		}
		if throughHash == nil {
			return fmt.Errorf("%w: event %d was not verified", ErrBrokenChain, through)
		}
		cp := &Checkpoint{Seq: through, Hash: throughHash, Created: dbTime(l.now()), Events: through - since}
		if err := tx.Raw(`SELECT at FROM audit_events WHERE seq = ?`, through).Row().Scan(&cp.LastAt); err != nil {
			return fmt.Errorf("read event %d: %w", through, err)
		}
		cp.LastAt = dbTime(cp.LastAt)
		cp.Signature = l.sign(cp)
		if err := tx.Exec(`INSERT INTO audit_checkpoints (seq, hash, last_at, created_at, events, signature)
			VALUES (?, ?, ?, ?, ?, ?)`, cp.Seq, cp.Hash, cp.LastAt, cp.Created, cp.Events, cp.Signature).Error; err != nil {
			return fmt.Errorf("write checkpoint: %w", err)
		}
		if l.db.Dialect == database.Postgres {
			// The trigger lets this transaction, and only it, delete the
			// events the checkpoint covers.
			if err := tx.Exec(`SELECT set_config('` + purgeSetting + `', 'on', true)`).Error; err != nil {
				return fmt.Errorf("enable purge: %w", err)
			}
		}
		// A record goes with its submitted event: kept without it, it
		// could no longer be rebuilt from the events, and so not verified.
		res := tx.Exec(`DELETE FROM audit_jobs WHERE last_seq <= ? OR job_id IN
			(SELECT job_id FROM audit_events WHERE seq > ? AND seq <= ? AND type = ?)`, through, since, through, EventSubmitted)
		if res.Error != nil {
			return fmt.Errorf("delete job records: %w", res.Error)
		}
		rep.Jobs = res.RowsAffected
		if l.purgeDependents != nil {
			if err := l.purgeDependents(tx); err != nil {
				return fmt.Errorf("delete what points at job records: %w", err)
			}
		}
		res = tx.Exec(`DELETE FROM audit_events WHERE seq > ? AND seq <= ?`, since, through)
		if res.Error != nil {
			return fmt.Errorf("delete events: %w", res.Error)
		}
		rep.Events = res.RowsAffected
		rep.Checkpoint = cp
		rep.Event, err = l.Append(ctx, tx, Event{
			Type: EventPurged, Actor: by,
			Details: map[string]string{
				"before":       before.UTC().Format(time.RFC3339),
				"through-seq":  strconv.FormatInt(through, 10),
				"events":       strconv.FormatInt(rep.Events, 10),
				"job-records":  strconv.FormatInt(rep.Jobs, 10),
				"checkpoint":   fmt.Sprintf("%x", cp.Hash),
				"last-purged":  formatTime(cp.LastAt),
				"purged-since": strconv.FormatInt(since+1, 10),
			},
		})
		return err
	})
	if err != nil {
		return PurgeReport{}, wrap("purge", err)
	}
	return rep, nil
}

// Checkpoints returns every checkpoint written, oldest first.
func (l *Log) Checkpoints(ctx context.Context) ([]Checkpoint, error) {
	rows, err := l.db.DB.WithContext(ctx).Raw(`SELECT seq, hash, last_at, created_at, events, signature
		FROM audit_checkpoints ORDER BY seq`).Rows()
	if err != nil {
		return nil, wrap("read checkpoints", err)
	}
	defer rows.Close()
	var out []Checkpoint
	for rows.Next() {
		var c Checkpoint
		if err := rows.Scan(&c.Seq, &c.Hash, &c.LastAt, &c.Created, &c.Events, &c.Signature); err != nil {
			return nil, wrap("read checkpoints", err)
		}
		c.LastAt, c.Created = c.LastAt.UTC(), c.Created.UTC()
		out = append(out, c)
	}
	return out, wrap("read checkpoints", rows.Err())
}

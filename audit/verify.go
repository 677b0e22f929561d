package audit

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Report is the result of Verify.
type Report struct {
	// From and To are the sequence range checked, both inclusive.
	From, To int64
	// Checkpoint is the sequence of the retention checkpoint the check
	// started from, 0 when it started at the first event or inside the
	// chain.
	Checkpoint int64
	// Checked counts the events that verified before the first bad one.
	Checked int64
	// FirstBad is the first sequence that does not verify (a changed,
	// missing or misplaced event), 0 when all do; Reason says why.
	FirstBad int64
	Reason   string
	// LastSeq and LastHash are the last event that verified. Recording
	// them outside the database (a ticket, a mail to the auditor) anchors
	// the chain against a rewrite of everything after them.
	LastSeq  int64
	LastHash []byte
	// Elapsed is how long the check took and EventsPerSecond its speed.
	Elapsed         time.Duration
	EventsPerSecond float64
}

// OK reports whether every checked event verified.
func (r Report) OK() bool { return r.FirstBad == 0 }

// Verify recomputes the hash chain over sequences from to to (both
// inclusive; from ≤ 1 means the first event kept, to ≤ 0 the chain head)
// and reports the first sequence that does not verify. It detects a
// changed field (the hash differs), a deleted event (a sequence gap, or a
// head beyond the last event), and moved or swapped events (the sequence
// is hashed, and each event names its predecessor's hash).
//
// A chain shortened by retention starts from its latest checkpoint, whose
// signature is checked with Options.Key. A range starting inside the chain
// trusts the stored hash of the event before it. A broken chain is a
// Report with FirstBad set, not an error; errors are for failing to read.
func (l *Log) Verify(ctx context.Context, from, to int64) (Report, error) {
	start := time.Now()
	r, err := l.verify(l.db.DB.WithContext(ctx), from, to)
	r.Elapsed = time.Since(start)
	if s := r.Elapsed.Seconds(); s > 0 {
		r.EventsPerSecond = float64(r.Checked) / s
	}
	return r, wrap("verify", err)
}

// verify does Verify's work on db, which may be a transaction.
func (l *Log) verify(db *gorm.DB, from, to int64) (Report, error) {
	var r Report
	var head struct {
		seq  int64
		hash []byte
	}
	if err := db.Raw(`SELECT seq, hash FROM audit_chain WHERE id = 1`).Row().Scan(&head.seq, &head.hash); err != nil {
		return r, fmt.Errorf("read chain head: %w", err)
	}
	cp, err := latestCheckpoint(db)
	if err != nil {
		return r, err
	}
	r.From = max(from, 1)
	r.To = head.seq
	checkHead := true
	if to > 0 && to < head.seq {
		r.To, checkHead = to, false
	}
	if r.From > head.seq {
		// Nothing appended there yet.
		r.LastSeq, r.LastHash = head.seq, head.hash
		return r, nil
	}
	var prev []byte
	switch {
	case cp != nil && r.From <= cp.Seq+1:
		r.From, r.Checkpoint = cp.Seq+1, cp.Seq
		if !l.checkpointValid(cp) {
			r.FirstBad, r.Reason = cp.Seq, fmt.Sprintf("checkpoint at %d: signature does not verify", cp.Seq)
			if l.signKey == nil {
				r.Reason = fmt.Sprintf("checkpoint at %d: cannot verify its signature without the key", cp.Seq)
			}
			return r, nil
		}
		prev = cp.Hash
	case r.From == 1:
		prev = zeroHash
	default:
		err := db.Raw(`SELECT hash FROM audit_events WHERE seq = ?`, r.From-1).Row().Scan(&prev)
		if errors.Is(err, sql.ErrNoRows) {
			r.FirstBad, r.Reason = r.From-1, fmt.Sprintf("event %d, before the range, is missing", r.From-1)
			return r, nil
		}
		if err != nil {
			return r, fmt.Errorf("read event %d: %w", r.From-1, err)
		}
	}
	r.LastSeq, r.LastHash = r.From-1, prev
	if r.From > r.To {
		if checkHead && !bytes.Equal(prev, head.hash) {
			r.FirstBad, r.Reason = head.seq, fmt.Sprintf("the chain head (%d) does not match checkpoint %d", head.seq, cp.Seq)
		}
		return r, nil
	}

	rows, err := db.Raw(`SELECT `+eventColumns+` FROM audit_events WHERE seq >= ? AND seq <= ? ORDER BY seq`,
		r.From, r.To).Rows()
	if err != nil {
		return r, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	want := r.From
	for rows.Next() {
		ev, err := scanEvent(rows)
		switch {
		case err != nil:
			// A row that no longer decodes was edited.
			r.FirstBad, r.Reason = want, fmt.Sprintf("event at or after %d cannot be read: %v", want, err)
		case ev.Seq != want:
			r.FirstBad, r.Reason = want, fmt.Sprintf("event %d is missing (the next stored is %d)", want, ev.Seq)
		case !bytes.Equal(ev.PrevHash, prev):
			r.FirstBad, r.Reason = want, fmt.Sprintf("event %d does not follow event %d: its previous hash differs", want, want-1)
		case !bytes.Equal(chainHash(ev.PrevHash, &ev), ev.Hash):
			r.FirstBad, r.Reason = want, fmt.Sprintf("event %d was changed: its hash does not match its content", want)
		}
		if r.FirstBad != 0 {
			return r, nil
		}
		prev = ev.Hash
		r.Checked++
		r.LastSeq, r.LastHash = ev.Seq, ev.Hash
		want++
	}
	if err := rows.Err(); err != nil {
		return r, fmt.Errorf("read events: %w", err)
	}
	if want <= r.To {
		r.FirstBad, r.Reason = want, fmt.Sprintf("event %d is missing (the chain head is at %d)", want, head.seq)
		return r, nil
	}
	if checkHead && !bytes.Equal(prev, head.hash) {
		r.FirstBad, r.Reason = head.seq, fmt.Sprintf("event %d does not match the chain head", head.seq)
	}
	return r, nil
}

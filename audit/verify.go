package audit

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
)

// Report is the result of Verify.
type Report struct {
	// From and To are the sequence range checked, both inclusive. A range
	// is widened to start at a point the key vouches for, and, in the
	// part of a chain hashed before the hash was keyed, to end at one.
	From, To int64
	// Checkpoint is the sequence of the retention checkpoint the check
	// started from, 0 when it started elsewhere.
	Checkpoint int64
	// Checked counts the events that verified before the first bad one.
	Checked int64
	// FirstBad is the first sequence that does not verify (a changed,
	// missing, misplaced or forged event), 0 when all do; Reason says why.
	FirstBad int64
	Reason   string
	// LastSeq and LastHash are the last event that verified.
	LastSeq  int64
	LastHash []byte
	// Jobs counts the job records checked against the events; they are
	// checked when the whole chain is. JobsBad counts those that differ
	// from the record the events make, and BadJobs lists the first of
	// them (at most maxProblems).
	Jobs, JobsBad int64
	BadJobs       []JobProblem
	// Anchors counts the anchors checked (VerifyOptions.Anchors) and
	// AnchorsPurged those older than the kept events, which the retention
	// checkpoint covers; BadAnchors lists those the chain contradicts.
	Anchors, AnchorsPurged int
	BadAnchors             []AnchorProblem
	// Elapsed is how long the check took and EventsPerSecond its speed.
	Elapsed         time.Duration
	EventsPerSecond float64
}

// JobProblem is a job whose record differs from its events.
type JobProblem struct {
	JobID  int64
	Reason string
}

// AnchorProblem is an anchor that does not verify or that the chain
// contradicts; Line is its place in the anchors given (from 1).
type AnchorProblem struct {
	Seq    int64
	Line   int
	Reason string
}

// maxProblems caps the job and anchor problems a Report lists.
const maxProblems = 100

// OK reports whether every checked event, job record and anchor verified.
func (r Report) OK() bool { return r.FirstBad == 0 && r.JobsBad == 0 && len(r.BadAnchors) == 0 }

// VerifyOptions says what VerifyWith checks.
type VerifyOptions struct {
	// From and To are the sequence range, both inclusive; From ≤ 1 means
	// the first event kept, To ≤ 0 the chain head.
	From, To int64
	// Anchors are heads recorded outside the database (ParseAnchors);
	// each must carry a valid MAC and be contained in the chain.
	Anchors []Anchor
}

// Verify is VerifyWith over the range from to to.
func (l *Log) Verify(ctx context.Context, from, to int64) (Report, error) {
	return l.VerifyWith(ctx, VerifyOptions{From: from, To: to})
}

// VerifyWith recomputes the keyed hash chain over a range and reports the
// first sequence that does not verify. It detects a changed field (the
// hash differs), a deleted event (a sequence gap, or a head beyond the
// last event), moved or swapped events (the sequence is hashed, and each
// event names its predecessor's hash), and a forged or rehashed event
// (its hash is a MAC under a key the database does not hold).
//
// The check starts only from a point the key vouches for: the chain's
// start, the latest retention checkpoint (its signature checked), a
// signed mark, or a keyed event whose own MAC it checks. Checking the
// whole chain also rebuilds every job record from the events and names
// each job whose record differs. Anchors are checked against the events
// they name: one beyond the chain head means the chain was cut back.
// A broken chain is a Report that is not OK, not an error; errors are for
// failing to read.
func (l *Log) VerifyWith(ctx context.Context, o VerifyOptions) (Report, error) {
	start := time.Now()
	db := l.db.DB.WithContext(ctx)
	w := &walker{h: newHasher(l.chainKey), records: db}
	r, err := l.verify(db, o, w)
	r.Elapsed = time.Since(start)
	if s := r.Elapsed.Seconds(); s > 0 {
		r.EventsPerSecond = float64(r.Checked) / s
	}
	return r, wrap("verify", err)
}

// walker is one pass over the chain: how each event is checked and what
// else looks at the events that verify.
type walker struct {
	h *hasher
	// keyedFrom is the first sequence with a keyed hash; 0 means it is
	// taken from the marks.
	keyedFrom int64
	// marks are the signed hashes by sequence.
	marks map[int64][]byte
	// records, when set, is where job records are read to check them
	// against the events, when the whole chain is checked.
	records *gorm.DB
	// onEvent sees each event that verified.
	onEvent func(*Event)
}

// verify does VerifyWith's work on db, which may be a transaction.
func (l *Log) verify(db *gorm.DB, o VerifyOptions, w *walker) (Report, error) {
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
	marks, err := readMarks(db)
	if err != nil {
		return r, err
	}
	if bad, reason := l.loadMarks(w, marks); bad != 0 {
		r.FirstBad, r.Reason = bad, reason
		return r, nil
	}
	anchors := l.newAnchorCheck(&r, o.Anchors)
	r.From = max(o.From, 1)
	r.To = head.seq
	checkHead := true
	if o.To > 0 && o.To < head.seq {
		r.To, checkHead = o.To, false
	}
	if r.From > head.seq {
		// Nothing appended there yet.
		r.LastSeq, r.LastHash = head.seq, head.hash
		anchors.finish(head.seq, cp, w.marks, checkHead)
		return r, nil
	}
	prev, err := l.startPoint(db, &r, cp, w)
	if err != nil || r.FirstBad != 0 {
		return r, err
	}
	if !checkHead && r.To < w.keyedFrom-1 {
		// In the plain part only a signed mark ahead vouches for the range.
		for _, m := range marks {
			if m.Seq >= r.To {
				r.To = m.Seq
				break
			}
		}
	}
	whole := checkHead && (r.From == 1 || r.Checkpoint != 0)
	var jobs *jobChecker
	if whole && w.records != nil {
		jobs = newJobChecker(w.records, &r)
	}
	r.LastSeq, r.LastHash = r.From-1, prev
	if r.From <= r.To {
		if err := l.walk(db, &r, w, prev, jobs, anchors); err != nil || r.FirstBad != 0 {
			return r, err
		}
	}
	if checkHead && !bytes.Equal(r.LastHash, head.hash) {
		r.FirstBad, r.Reason = head.seq, fmt.Sprintf("event %d does not match the chain head", head.seq)
		if r.LastSeq < r.From {
			r.Reason = fmt.Sprintf("the chain head (%d) does not match checkpoint %d", head.seq, r.Checkpoint)
		}
		return r, nil
	}
	if jobs != nil {
		if err := jobs.finish(db, r.To); err != nil {
			return r, err
		}
	}
	anchors.finish(r.To, cp, w.marks, checkHead)
	return r, nil
}

// loadMarks checks every mark's signature and fills w's marks and, unless
// set, where the keyed hashes start. It returns the sequence and reason of
// a mark that does not verify (1 for the keyed start at 0, so that the
// report is never mistaken for a good one), or 0.
func (l *Log) loadMarks(w *walker, marks []Mark) (int64, string) {
	w.marks = make(map[int64][]byte, len(marks))
	keyedFrom, seenStart := int64(1), false
	for _, m := range marks {
		if !l.markValid(&m) {
			if l.signKey == nil {
				return max(m.Seq, 1), fmt.Sprintf("mark at %d: cannot verify its signature without the key", m.Seq)
			}
			return max(m.Seq, 1), fmt.Sprintf("mark at %d: signature does not verify (another key, or forged)", m.Seq)
		}
		if m.Kind == MarkKeyedFrom {
			if keyedFrom != 1 || seenStart {
				return max(m.Seq, 1), fmt.Sprintf("mark at %d: a second start of the keyed chain", m.Seq)
			}
			seenStart = true
			keyedFrom = m.Seq + 1
		}
		w.marks[m.Seq] = m.Hash
	}
	if w.keyedFrom == 0 {
		w.keyedFrom = keyedFrom
	}
	return 0, ""
}

// startPoint moves r.From back to the nearest point the key vouches for
// and returns its hash; a point that does not verify sets r.FirstBad.
func (l *Log) startPoint(db *gorm.DB, r *Report, cp *Checkpoint, w *walker) ([]byte, error) {
	switch {
	case cp != nil && r.From <= cp.Seq+1:
		r.From, r.Checkpoint = cp.Seq+1, cp.Seq
		if !l.checkpointValid(cp) {
			r.FirstBad, r.Reason = cp.Seq, fmt.Sprintf("checkpoint at %d: signature does not verify", cp.Seq)
			if l.signKey == nil {
				r.Reason = fmt.Sprintf("checkpoint at %d: cannot verify its signature without the key", cp.Seq)
			}
			return nil, nil
		}
		return cp.Hash, nil
	case r.From == 1:
		return zeroHash, nil
	case r.From-1 >= w.keyedFrom:
		// A keyed event's hash is its own signature: checking it vouches
		// for the hash the range starts from.
		seq := r.From - 1
		ev, bad, err := readOneEvent(db, seq)
		switch {
		case err != nil:
			return nil, err
		case bad != nil:
			r.FirstBad, r.Reason = seq, fmt.Sprintf("event %d, before the range, cannot be read: %v", seq, bad)
		case ev == nil:
			r.FirstBad, r.Reason = seq, fmt.Sprintf("event %d, before the range, is missing", seq)
		case l.chainKey == nil:
			r.FirstBad, r.Reason = seq, fmt.Sprintf("event %d: cannot verify its keyed hash without the key", seq)
		case !bytes.Equal(w.h.sum(ev.PrevHash, ev), ev.Hash):
			r.FirstBad, r.Reason = seq, fmt.Sprintf("event %d, before the range, was changed: its hash does not match its content", seq)
		default:
			return ev.Hash, nil
		}
		return nil, nil
	}
	// In the plain part: start from the nearest signed mark before the
	// range, else from the start of what is kept.
	seqs := make([]int64, 0, len(w.marks))
	for s := range w.marks {
		if s < r.From && (cp == nil || s > cp.Seq) {
			seqs = append(seqs, s)
		}
	}
	if len(seqs) > 0 {
		s := slices.Max(seqs)
		r.From = s + 1
		return w.marks[s], nil
	}
	r.From = 1
	return l.startPoint(db, r, cp, w)
}

// walk checks the events from r.From to r.To in order, each against its
// predecessor and its hash.
func (l *Log) walk(db *gorm.DB, r *Report, w *walker, prev []byte, jobs *jobChecker, anchors *anchorCheck) error {
	rows, err := db.Raw(`SELECT `+eventColumns+` FROM audit_events WHERE seq >= ? AND seq <= ? ORDER BY seq`,
		r.From, r.To).Rows()
	if err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	want := r.From
	for rows.Next() {
		ev, stored, err := scanStoredEvent(rows)
		switch {
		case err != nil:
			// A row that no longer decodes was edited.
			r.FirstBad, r.Reason = want, fmt.Sprintf("event at or after %d cannot be read: %v", want, err)
		case ev.Seq != want:
			r.FirstBad, r.Reason = want, fmt.Sprintf("event %d is missing (the next stored is %d)", want, ev.Seq)
		case !stored.canonical(&ev):
			r.FirstBad, r.Reason = want, fmt.Sprintf("event %d was changed: its job or details are not stored as printgate writes them", want)
		case !bytes.Equal(ev.PrevHash, prev):
			r.FirstBad, r.Reason = want, fmt.Sprintf("event %d does not follow event %d: its previous hash differs", want, want-1)
		case want < w.keyedFrom && !bytes.Equal(chainHash(ev.PrevHash, &ev), ev.Hash):
			r.FirstBad, r.Reason = want, fmt.Sprintf("event %d was changed: its hash does not match its content", want)
		case want >= w.keyedFrom && l.chainKey == nil:
			r.FirstBad, r.Reason = want, fmt.Sprintf("event %d: cannot verify its keyed hash without the key", want)
		case want >= w.keyedFrom && !bytes.Equal(w.h.sum(ev.PrevHash, &ev), ev.Hash):
			r.FirstBad, r.Reason = want, fmt.Sprintf("event %d was changed or forged: its hash does not match its content under the key", want)
		}
		if m, ok := w.marks[want]; ok && r.FirstBad == 0 && !bytes.Equal(m, ev.Hash) {
			r.FirstBad, r.Reason = want, fmt.Sprintf("event %d does not match the signed mark of its hash", want)
		}
		if r.FirstBad != 0 {
			return nil
		}
		prev = ev.Hash
		r.Checked++
		r.LastSeq, r.LastHash = ev.Seq, ev.Hash
		anchors.event(&ev)
		if w.onEvent != nil {
			w.onEvent(&ev)
		}
		if jobs != nil {
			if err := jobs.event(&ev); err != nil {
				return err
			}
		}
		want++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	if want <= r.To {
		r.FirstBad, r.Reason = want, fmt.Sprintf("event %d is missing (the range ends at %d)", want, r.To)
	}
	return nil
}

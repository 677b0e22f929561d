package audit

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"slices"

	"gorm.io/gorm"
)

// Append adds ev to the chain inside tx, the caller's transaction that
// makes the state change ev records, and returns it as stored: with Seq,
// At, PrevHash and Hash (keyed with Options.Key, which Append needs) set,
// strings cleaned and a hidden document name keyed. It also inserts or
// updates the job's record. Any error must fail the caller's transaction,
// so that no change goes unrecorded.
//
// Appends serialize on the chain-head row: on PostgreSQL by locking it
// (SELECT ... FOR UPDATE), on SQLite by the transaction itself, which the
// database package opens as BEGIN IMMEDIATE. The lock is held until tx
// ends, so callers should append late in short transactions.
//
// Append is AppendBatch of one event.
func (l *Log) Append(ctx context.Context, tx *gorm.DB, ev Event) (Event, error) {
	if l.chainKey == nil {
		return Event{}, fmt.Errorf("audit: append %s: %w", ev.Type, ErrNoKey)
	}
	evs := [1]Event{ev}
	if err := l.appendBatch(ctx, tx, evs[:]); err != nil {
		if ee, ok := errors.AsType[*EventError](err); ok {
			return Event{}, fmt.Errorf("audit: append %s: %w", ev.Type, ee.Err)
		}
		return Event{}, fmt.Errorf("audit: append %s event for job %d: %w", ev.Type, ev.JobID, err)
	}
	return evs[0], nil
}

// AppendBatch appends evs to the chain inside tx, in order, and returns
// them as stored. The result is exactly that of calling Append for each
// event in turn in tx, with the same clock readings: the same sequence
// numbers, times, hashes, job records, and the same errors refuse the same
// events. A job's record must be made by its submitted event (with JobID
// and Job set) before or in the batch, as with Append.
//
// Unlike Append in a loop it reads and locks the chain head once, writes
// the events with multi-row INSERTs, and writes each job's record once: a
// job submitted in the batch is inserted with its later events of the
// batch already applied, and the record of a job submitted earlier is
// updated once for all its events in the batch. The head stays locked
// until tx ends.
//
// An event refused before anything is written (invalid, a secret in its
// details, a job submitted twice in the batch) makes an *EventError that
// names it; then nothing was written. Any other error leaves part of the
// batch written: the caller must roll back tx, as after any error of
// Append. An empty batch writes nothing and locks nothing.
func (l *Log) AppendBatch(ctx context.Context, tx *gorm.DB, evs []Event) ([]Event, error) {
	if l.chainKey == nil {
		return nil, wrap("append batch", ErrNoKey)
	}
	out := slices.Clone(evs)
	if err := l.appendBatch(ctx, tx, out); err != nil {
		if _, ok := errors.AsType[*EventError](err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("audit: append batch of %d events: %w", len(evs), err)
	}
	return out, nil
}

// EventError is AppendBatch's error for an event it refused before
// writing anything. A caller batching the work of several clients can
// fail that event's client alone and append the others again.
type EventError struct {
	// Index is the event's place in the batch, from 0.
	Index int
	// Type and JobID are the event's.
	Type  string
	JobID int64
	// Err says why: it wraps ErrInvalidEvent, ErrSecretDetail or ErrNoKey.
	Err error
}

func (e *EventError) Error() string {
	return fmt.Sprintf("audit: append batch: event %d (%s, job %d): %v", e.Index, e.Type, e.JobID, e.Err)
}

func (e *EventError) Unwrap() error { return e.Err }

// appendBatch does the work of AppendBatch on evs in place.
func (l *Log) appendBatch(ctx context.Context, tx *gorm.DB, evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	c, err := l.conn(ctx, tx)
	if err != nil {
		return err
	}
	b := l.getBatch()
	defer l.putBatch(b)
	// Before taking the lock, to hold it no longer than needed.
	if err := l.ready(c, b, evs); err != nil {
		return err
	}
	head, err := l.lockHead(c)
	if err != nil {
		return err
	}
	l.chain(b, evs, head)
	if err := l.insertEvents(c, b, evs); err != nil {
		return err
	}
	if err := l.writeRecords(c, b, evs); err != nil {
		return err
	}
	last := &evs[len(evs)-1]
	if err := l.moveHead(c, b, head.seq, last); err != nil {
		return err
	}
	// Known only if the caller's transaction commits; AppendAlone finds
	// out when it does not.
	l.known.set(chainHead{seq: last.Seq, hash: last.Hash})
	return nil
}

// ready prepares and plans evs in b, and fills them from their stored
// job records: the queue of a record never changes, and its owner only
// by an owner-assigned event, which like every later event of the job
// names the owner itself, so this needs no lock.
func (l *Log) ready(c conn, b *batch, evs []Event) error {
	for i := range evs {
		if err := l.prepare(&evs[i], b); err != nil {
			return &EventError{Index: i, Type: evs[i].Type, JobID: evs[i].JobID, Err: err}
		}
	}
	if err := b.plan(evs); err != nil {
		return err
	}
	return l.fillFromRecords(c, b, evs)
}

// prepare validates ev and brings its values to the form that is hashed
// and stored. It copies what it changes, leaving the caller's values alone.
func (l *Log) prepare(ev *Event, b *batch) error {
	if ev.Type == "" {
		return fmt.Errorf("%w: no type", ErrInvalidEvent)
	}
	if ev.Type == EventSubmitted && (ev.Job == nil || ev.JobID == 0) {
		return fmt.Errorf("%w: a submitted event needs a job ID and job info", ErrInvalidEvent)
	}
	if ev.Job != nil && ev.JobID == 0 {
		return fmt.Errorf("%w: job info without a job ID", ErrInvalidEvent)
	}
	for _, p := range [...]*string{&ev.Type, &ev.Owner, &ev.Actor, &ev.Queue, &ev.Device, &ev.Method, &ev.Printer, &ev.Outcome, &ev.Reason} {
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
		for _, p := range [...]*string{&j.Queue, &j.Owner, &j.ClaimedUser, &j.ClientAddr, &j.DocumentName, &j.Format, &j.PagesReason, &j.Sides, &j.ColorMode, &j.Media} {
			*p = clean(*p)
		}
		j.SHA256 = slices.Clone(j.SHA256)
		if j.Copies < 1 {
			j.Copies = 1
		}
		if j.HideName {
			name, err := l.keyedName(b.nameMAC(l), j.DocumentName)
			if err != nil {
				return fmt.Errorf("hide document name: %w", err)
			}
			j.DocumentName = name
		}
		j.Submitted = dbTime(j.Submitted) // zero stays zero; the append sets it
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

// plan finds each job's record in the batch: a submitted event makes one
// to insert (a job submitted twice is refused), any other event of a job
// changes the record made earlier in the batch, or else the stored one.
// An event missing its owner or queue takes them from a record made
// earlier in the batch, or is marked to read them from the stored one.
func (b *batch) plan(evs []Event) error {
	for i := range evs {
		ev := &evs[i]
		b.entry = append(b.entry, -1)
		if ev.JobID == 0 {
			if ev.Type == EventDeviceJobObserved {
				b.entry[i] = len(b.records)
				b.records = append(b.records, pendingRecord{insert: true, observed: true, first: i})
			}
			continue
		}
		k, ok := b.jobs[ev.JobID]
		if ev.Type == EventSubmitted {
			if ok && b.records[k].insert {
				return &EventError{Index: i, Type: ev.Type, JobID: ev.JobID,
					Err: fmt.Errorf("%w: job submitted twice in one batch", ErrInvalidEvent)}
			}
			// Events before it in the batch went to a stored record, if
			// any: they stay an update of that, written before the insert.
			b.jobs[ev.JobID] = len(b.records)
			b.entry[i] = len(b.records)
			b.records = append(b.records, pendingRecord{insert: true, first: i})
			continue
		}
		if !ok {
			k = len(b.records)
			b.jobs[ev.JobID] = k
			b.records = append(b.records, pendingRecord{first: i})
		}
		b.entry[i] = k
		if ev.Owner != "" && ev.Queue != "" {
			continue
		}
		if r := &b.records[k]; r.insert {
			j := evs[r.first].Job
			ev.Owner, ev.Queue = or(ev.Owner, j.Owner), or(ev.Queue, j.Queue)
		} else {
			b.fromStored = append(b.fromStored, i)
		}
	}
	return nil
}

// or returns s, or else alt.
func or(s, alt string) string {
	if s != "" {
		return s
	}
	return alt
}

// keyedName is KeyedName with a MAC under the name key that the caller
// reuses.
func (l *Log) keyedName(mac hash.Hash, name string) (string, error) {
	if mac == nil {
		return "", ErrNoKey
	}
	mac.Reset()
	mac.Write([]byte(clean(name)))
	var sum [32]byte
	return KeyedNamePrefix + hex.EncodeToString(mac.Sum(sum[:0])), nil
}

// chain numbers, times and hashes the events after the head. The clock is
// read once per event, in order, as appending them one by one would.
func (l *Log) chain(b *batch, evs []Event, head chainHead) {
	hashes := make([]byte, 0, len(evs)*32) // returned with the events
	prev := head.hash
	for i := range evs {
		ev := &evs[i]
		ev.Seq = head.seq + int64(i) + 1
		ev.At = dbTime(l.now())
		ev.PrevHash = prev
		if ev.Job != nil && ev.Job.Submitted.IsZero() {
			ev.Job.Submitted = ev.At
		}
		n := len(hashes)
		hashes = b.h.appendSum(hashes, prev, ev)
		ev.Hash = hashes[n:len(hashes):len(hashes)]
		prev = ev.Hash
	}
}

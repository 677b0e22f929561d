package release

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release/journal"
	"github.com/printgate/printgate/release/spool"
)

// The journal-first submission path (SQLite, Options.JournalDir;
// docs/PIPELINE.md, "The journal"). The committer makes a batch durable
// with one append to the journal and answers its clients; the applier
// writes the batches to the database later, many at a time, off the
// clients' path. Every transaction, and every read of the jobs' and the
// audit trail's tables outside one, first waits until what was
// acknowledged before it began is applied (database.DB.SetBarrier), so
// that no reader can tell the difference but by the time it takes.

// record is what the journal keeps of a submission: everything its rows
// are written from.
type record struct {
	// Job carries the wrapped key too (Job.WrappedKey).
	Job    Job           `json:"job"`
	Events []audit.Event `json:"events"`
	// Doc, the sealed small document, follows the JSON in the journal
	// as it is: base64 would cost more than the rest of the record.
	Doc []byte `json:"-"`
}

// encode appends r to buf[:0] as the journal keeps it: the JSON's length,
// the JSON, the document.
func (r *record) encode(buf []byte) ([]byte, error) {
	meta, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	out := slices.Grow(buf[:0], 4+len(meta)+len(r.Doc))
	out = binary.BigEndian.AppendUint32(out, uint32(len(meta)))
	out = append(out, meta...)
	return append(out, r.Doc...), nil
}

func decodeRecord(b []byte) (record, error) {
	var r record
	if len(b) < 4 || uint64(binary.BigEndian.Uint32(b)) > uint64(len(b)-4) {
		return r, errors.New("record cut short")
	}
	n := 4 + int(binary.BigEndian.Uint32(b))
	if err := json.Unmarshal(b[4:n], &r); err != nil {
		return r, err
	}
	if n < len(b) {
		r.Doc = slices.Clone(b[n:])
	}
	return r, nil
}

// journaled is the state of the journal-first path.
type journaled struct {
	j *journal.Journal
	// appended is the sequence number of the last record acknowledged,
	// set before its client hears of it; applied that of the last record
	// in the database.
	appended, applied atomic.Uint64

	// applying is held by whoever writes pending records to the
	// database: the applier, or the committer before a batch it writes
	// straight (commitDirect).
	applying sync.Mutex
	// applyScratch is where the applier puts the small documents of the
	// records it writes end to end on PostgreSQL (applyAlone), under
	// applying.
	applyScratch []byte

	mu sync.Mutex
	// moved is closed, and replaced, whenever applied moves.
	moved chan struct{}
	// pending are the records appended and not yet applied, in order;
	// heldPending their documents' bytes by owner.
	pending     []pendingRecord
	heldPending map[string]int64
	// lastOf is the number of each owner's last pending record.
	lastOf map[string]uint64
	// since is when the oldest pending record was appended; delay is how
	// long it may wait for more (applyDelay; tests hold it longer).
	since time.Time
	delay time.Duration
	// more wakes the applier: records came, or a reader waits.
	more chan struct{}
	// hurry is set by a reader waiting at the barrier: the applier
	// writes what is pending at once instead of waiting for more.
	hurry bool

	// failing holds the error of the last apply, while applies fail: the
	// committer then refuses submissions, as the path without a journal
	// does when it cannot write a job's audit events, and readers do not
	// wait for records that cannot be applied.
	failing atomic.Pointer[error]

	// nextID and lastID are the range of job IDs the committer reserved.
	nextID, lastID int64
	lastRetire     time.Time

	// segs writes applied records' documents into the spool's segments
	// (segments.go), under applying; lastSweep is when the applier last
	// looked for segments to remove.
	segs      *spool.SegmentWriter
	lastSweep time.Time
	// segsFailed is set once a sync of segs failed (syncSegments).
	segsFailed bool
	// kept are segments no sweep removes (keepSegments).
	kept map[uint64]bool

	bufs recordBufs

	// unlock ends lockJournal's hold.
	unlock func()
}

type pendingRecord struct {
	seq uint64
	rec record
	// buf holds the record as appended, rec.Doc included; it goes back to
	// the pool once the record is applied (nil for a replayed record).
	buf *[]byte
}

// recordBufs keeps the buffers records are encoded into: each held a
// document until its record was applied, and a new one for every job
// was a fifth of what the submission path allocated.
type recordBufs struct{ pool sync.Pool }

// maxPooledRecord is the largest buffer kept for another record: a
// document of up to DefaultSmallDocument and its JSON. The buffers of a
// larger threshold (Options.SmallDocument) are left to the collector.
const maxPooledRecord = 256 << 10

func (p *recordBufs) get() *[]byte {
	if b, ok := p.pool.Get().(*[]byte); ok {
		return b
	}
	return new([]byte)
}

// put clears b, whose bytes were a sealed document and its job's wrapped
// key, and keeps it for another record.
func (p *recordBufs) put(b *[]byte) {
	if b == nil || cap(*b) > maxPooledRecord {
		return
	}
	clear((*b)[:cap(*b)])
	*b = (*b)[:0]
	p.pool.Put(b)
}

// Apply the pending records once there are applyBatch of them, or once
// the oldest has waited applyDelay: many jobs a transaction cost less
// CPU a job than one, and no client waits for it.
const (
	applyBatch = 128
	applyDelay = 10 * time.Millisecond
	// directBatch is the size from which a batch is written straight to
	// the database rather than through the journal (commitDirect).
	directBatch = 8
	// directSubmitting is how many Print-Job requests under way make a
	// server busy: its batches, of any size, go straight too.
	directSubmitting = 12
	// maxPending is how many records may wait for the applier before
	// batches go straight to the database, taking them along.
	maxPending = 2 * applyBatch
	// journalIDs is how many job IDs the committer reserves at a time.
	journalIDs = 1024
	// journalPrealloc is the size of the segments a busy journal writes
	// ahead, zeros, so that its appends overwrite instead of growing a
	// file (journal.Options.Preallocate): 800 jobs of 10 KB.
	journalPrealloc = 8 << 20
	// retireEvery is how often the applier syncs the database's log and
	// retires the applied segments.
	retireEvery = time.Second
	// barrierWait bounds a reader's wait: one longer means the applier
	// is stuck (its error is logged), and the reader goes on.
	barrierWait = 10 * time.Second
)

// commitJournaled is commitBatch on the journal: batch is admitted,
// numbered, appended and answered; its rows follow.
func (s *Service) commitJournaled(ctx context.Context, batch []*submission) {
	jn := s.journal
	live := stillWaiting(batch)
	if len(live) == 0 {
		return
	}
	fail := func(err error) {
		for _, sub := range live {
			sub.done <- err
		}
	}
	if p := jn.failing.Load(); p != nil {
		// Jobs acknowledged earlier wait in the journal with their
		// events; no more are taken until they can be written.
		fail(fmt.Errorf("release: commit jobs: the journal's jobs cannot be written to the database: %w", *p))
		return
	}
	if s.goDirect(live) && s.commitDirect(ctx, live) {
		return
	}
	if slices.ContainsFunc(live, func(sub *submission) bool { return sub.doc.file }) {
		if err := s.spool.SyncDir(); err != nil {
			fail(fmt.Errorf("release: commit jobs: %w", err))
			return
		}
	}
	admitted, err := s.admitJournaled(ctx, live)
	if err != nil {
		fail(dbErr("commit jobs", err))
		return
	}
	recs := make([][]byte, len(admitted))
	pend := make([]pendingRecord, len(admitted))
	ids := make([]int64, len(admitted))
	for i, sub := range admitted {
		if sub.job.ID, err = s.takeJobID(ctx); err != nil {
			fail(dbErr("number jobs", err))
			return
		}
		ids[i] = sub.job.ID
		r := record{Job: *sub.job, Events: submittedEvents(sub.q, sub.job)}
		if sub.doc.sealed != nil {
			r.Doc = *sub.doc.sealed
		}
		buf := jn.bufs.get()
		if *buf, err = r.encode(*buf); err != nil {
			fail(fmt.Errorf("release: journal job: %w", err))
			return
		}
		recs[i] = *buf
		if r.Doc != nil {
			// The client's buffer goes back to its pool once answered;
			// the pending record keeps the copy that encode made.
			r.Doc = recs[i][len(recs[i])-len(r.Doc):]
		}
		pend[i].rec, pend[i].buf = r, buf
	}
	if s.beforeCommit != nil && len(ids) > 0 {
		s.beforeCommit(ids)
	}
	if len(recs) > 0 {
		first, err := jn.j.Append(ctx, recs)
		if err != nil {
			// The records may be on disk all the same: documents stay.
			s.log.Error("release: journal append failed", "jobs", len(recs), "err", err)
			for _, sub := range admitted {
				sub.done <- fmt.Errorf("%w: %w: %w", errUnsynced, ErrUnavailable, err)
			}
			for _, sub := range live {
				if sub.refused != nil {
					sub.done <- sub.refused
				}
			}
			return
		}
		for i := range pend {
			pend[i].seq = first + uint64(i)
		}
		jn.add(pend)
	}
	for _, sub := range live {
		sub.done <- sub.refused
	}
}

// goDirect reports whether batch goes straight to the database: a large
// batch, a busy server, or an applier that has fallen behind, whose
// pending records (each holding its document) would otherwise grow for
// as long as the clients keep up their pace. The same on both databases:
// on PostgreSQL too, a batch of a few clients costs less through the
// journal, whose applier writes many at a time, than in a statement of
// its own (docs/PIPELINE.md, "The journal").
func (s *Service) goDirect(batch []*submission) bool {
	if len(batch) >= directBatch || s.submitting.Load() > directSubmitting {
		return true
	}
	jn := s.journal
	jn.mu.Lock()
	defer jn.mu.Unlock()
	return len(jn.pending) >= maxPending
}

// commitDirect writes a large batch the way the path without a journal
// does, in a transaction with one fsync of the database's log, and the
// records still pending first in that same transaction: where many
// clients wait at once, the processor is the limit, and the journal would
// only add its own write and record to each job (docs/PIPELINE.md, "The
// journal"). It returns false, having answered nobody, when the pending
// records cannot be written; the batch then goes to the journal.
func (s *Service) commitDirect(ctx context.Context, batch []*submission) bool {
	jn := s.journal
	jn.applying.Lock()
	defer jn.applying.Unlock()
	if s.texts.Dialect() == database.Postgres {
		return s.commitDirectPG(ctx, batch)
	}
	jn.mu.Lock()
	pending := jn.pending
	jn.mu.Unlock()
	// Numbered from the journal's block, so that job IDs keep rising in
	// the order clients are answered.
	for _, sub := range batch {
		id, err := s.takeJobID(ctx)
		if err != nil {
			for _, sub := range batch {
				sub.job.ID = 0
			}
			return false
		}
		sub.job.ID = id
	}
	err := s.group.Err()
	if err == nil {
		if err = s.writePendingFirst(ctx, batch, pending); err == nil {
			s.answerSynced(ctx, batch)
			return true
		}
	}
	// Written apart, a batch that fails is tried job by job (commitBatch)
	// instead of taking the pending records down with it. A commit that
	// failed may have landed all the same: then the pending records are
	// there (their position moved with them), and commitBatch finds the
	// batch's jobs (committedAnyway).
	if len(pending) > 0 && !s.settlePending(ctx, pending) && !errors.Is(err, errUnsynced) {
		return false
	}
	if errors.Is(err, errUnsynced) {
		// Written, or perhaps, with documents that did not sync
		// (placed.done): neither answered as safe nor written again.
		for _, sub := range batch {
			sub.done <- err
		}
		return true
	}
	s.commitBatch(ctx, batch)
	return true
}

// settlePending writes the pending records that commitDirect's failed
// transaction carried, unless it landed all the same, and reports
// whether they are in the database now.
func (s *Service) settlePending(ctx context.Context, pending []pendingRecord) bool {
	n, err := s.dropLanded()
	if err == nil && n < len(pending) {
		rest := pending[n:]
		if err = s.applyRecords(ctx, rest); err == nil {
			s.journal.unpend(rest)
		}
	}
	if err != nil {
		s.log.Warn("release: write the journaled jobs that a failed batch carried; they wait for the applier", "jobs", len(pending), "err", err)
		return false
	}
	return true
}

// writePendingFirst writes pending, then batch, in one transaction.
func (s *Service) writePendingFirst(ctx context.Context, batch []*submission, pending []pendingRecord) error {
	if slices.ContainsFunc(batch, func(sub *submission) bool { return sub.doc.file }) {
		// A job must never commit before the name of its document's file
		// is durable (writeBatch).
		if err := s.spool.SyncDir(); err != nil {
			return fmt.Errorf("release: commit jobs: %w", err)
		}
	}
	if len(pending) > 0 && s.beforeApply != nil {
		if err := s.beforeApply(); err != nil {
			return err
		}
	}
	if err := s.moveToSegments(pending); err != nil {
		return err
	}
	seg := s.directToSegment(batch)
	err := s.writeLocked(database.WithoutBarrier(ctx), batch, pending)
	if seg != nil {
		o := written
		if err != nil {
			o = rolledBack
		}
		err = seg.done(err, o)
	}
	if err != nil {
		// Pending records that were written all the same are found by
		// commitDirect (journalApplied).
		return err
	}
	if len(pending) > 0 {
		s.journal.markApplied(pending)
		s.journal.unpend(pending)
	}
	return nil
}

// wake wakes the applier, unless it is already awake.
func (jn *journaled) wake() {
	select {
	case jn.more <- struct{}{}:
	default:
	}
}

// add hands appended records to the applier; they count as acknowledged
// from here on.
func (jn *journaled) add(pend []pendingRecord) {
	jn.mu.Lock()
	first := len(jn.pending) == 0
	if first {
		jn.since = time.Now()
	}
	jn.pending = append(jn.pending, pend...)
	for _, p := range pend {
		jn.heldPending[p.rec.Job.Owner] += p.rec.Job.Size
		jn.lastOf[p.rec.Job.Owner] = p.seq
	}
	jn.appended.Store(pend[len(pend)-1].seq)
	full := len(jn.pending) >= applyBatch
	jn.mu.Unlock()
	// The applier needs waking only to start its wait (the first record)
	// or to end it early (a full batch): woken for every record, it cost
	// the committer a thread's wake-up on every job.
	if first || full {
		jn.wake()
	}
}

// admitJournaled is admitHeld for the journal: what an owner holds is
// what the database says plus what waits to be applied.
func (s *Service) admitJournaled(ctx context.Context, batch []*submission) ([]*submission, error) {
	if s.maxHeld <= 0 {
		return batch, nil
	}
	held := map[string]int64{}
	for _, sub := range batch {
		held[sub.job.Owner] = 0
	}
	for o := range held {
		n, err := s.heldNow(ctx, o)
		if err != nil {
			return nil, err
		}
		held[o] = n
	}
	return s.admit(batch, held), nil
}

// takeJobID returns the next job ID: on PostgreSQL from the jobs'
// sequence, as the path without a journal numbers its jobs (idSupply); on
// SQLite from a block reserved in SQLite's own counter (sqlite_sequence),
// so that a job inserted the ordinary way meanwhile (Create-Job) takes an
// ID above every one handed out here.
func (s *Service) takeJobID(ctx context.Context) (int64, error) {
	jn := s.journal
	if s.texts.Dialect() == database.Postgres {
		ids, err := s.ids.take(ctx, 1)
		if err != nil {
			return 0, err
		}
		return ids[0], nil
	}
	if jn.nextID == 0 || jn.nextID > jn.lastID {
		var last int64
		// On the pool, not the applier's connection, which another
		// goroutine uses; past the barrier, which would wait for it.
		err := s.db.WithContext(database.WithoutBarrier(ctx)).Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec(`INSERT INTO sqlite_sequence (name, seq) SELECT 'jobs', 0
				WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'jobs')`).Error; err != nil {
				return err
			}
			return tx.Raw(`UPDATE sqlite_sequence SET seq = max(seq, (SELECT COALESCE(MAX(id), 0) FROM jobs)) + ?
				WHERE name = 'jobs' RETURNING seq`, journalIDs).Row().Scan(&last)
		})
		if err != nil {
			return 0, fmt.Errorf("reserve job IDs: %w", err)
		}
		jn.nextID, jn.lastID = last-journalIDs+1, last
	}
	id := jn.nextID
	jn.nextID++
	return id, nil
}

// startJournal opens the committer's connection and the journal, and
// starts the applier.
func (s *Service) startJournal(ctx context.Context) error {
	g, err := s.db.NewGroupCommitter(ctx)
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	s.group = g
	unlock, err := s.lockJournal(ctx)
	if err != nil {
		return err
	}
	if err := s.openJournal(ctx, s.journalDir); err != nil {
		unlock()
		return err
	}
	s.journal.unlock = unlock
	s.goBackground(s.applier)
	return nil
}

// openJournal opens the journal and applies what a stop left in it,
// before anything else reads the jobs.
func (s *Service) openJournal(ctx context.Context, dir string) error {
	var applied uint64
	if err := s.db.WithContext(ctx).Raw(`SELECT COALESCE(MAX(seq), 0) FROM journal_applied WHERE instance = ?`, s.journalName).Row().Scan(&applied); err != nil {
		return dbErr("read the journal's position", err)
	}
	j, err := journal.Open(ctx, dir, journalKeys{db: s.db, spool: s.spool, name: s.journalName}, journal.Options{Now: s.now, Applied: applied, Preallocate: journalPrealloc})
	if err != nil {
		return fmt.Errorf("release: open the journal: %w", err)
	}
	jn := &journaled{j: j, moved: make(chan struct{}), more: make(chan struct{}, 1), heldPending: map[string]int64{}, lastOf: map[string]uint64{}, delay: applyDelay}
	jn.applied.Store(applied)
	jn.appended.Store(applied)
	s.journal = jn
	if err := s.openSegments(ctx, applied); err != nil {
		j.Close()
		s.journal = nil
		return err
	}
	var batch []pendingRecord
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.applyRecords(ctx, batch)
		batch = batch[:0]
		return err
	}
	n := 0
	err = j.Replay(ctx, applied, func(seq uint64, raw []byte) error {
		r, err := decodeRecord(raw)
		if err != nil {
			return fmt.Errorf("release: journal record %d: %w", seq, err)
		}
		batch = append(batch, pendingRecord{seq: seq, rec: r})
		n++
		if len(batch) == applyBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil {
		err = s.group.Sync()
	}
	if err == nil {
		// The replayed documents went to spool segments unsynced; the
		// journal, which holds them too, goes only once they are durable,
		// as in applyPending.
		var serr error
		if n > 0 {
			serr = s.syncSegments(false)
		}
		if serr != nil {
			s.log.Error("release: sync the spool segments of the jobs replayed from the journal; "+
				"the journal keeps their documents until the next start writes them again", "err", serr)
		} else {
			err = j.Retire(ctx, jn.applied.Load())
		}
	}
	if err != nil {
		j.Close()
		s.journal = nil
		return fmt.Errorf("release: apply the journal: %w", err)
	}
	if n > 0 {
		s.log.Warn("release: applied submitted jobs a stop left in the journal", "jobs", n)
	}
	jn.appended.Store(jn.applied.Load())
	s.db.SetBarrier(jn.barrier)
	return nil
}

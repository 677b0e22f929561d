package release

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
)

// The committer makes submitted jobs durable in groups (docs/PIPELINE.md).
// A submission whose document has been received waits on s.commits; the
// committer takes the first one that comes, then every other one already
// waiting, up to maxBatch, and writes them all in one transaction (on
// PostgreSQL first tried as one statement, alone.go): the jobs, their
// keys, their small documents and their audit events, with one commit.
// Then it makes the batch durable with one fsync of SQLite's log
// (database.GroupCommitter; nothing on PostgreSQL, where the commit was
// durable) and only then answers each waiting client. Nothing waits on
// purpose for a batch to fill: the submissions that arrive while one
// batch commits and syncs form the next.
//
// Committing the next batch while the previous one's fsync ran (a syncer
// of its own, until 2026-12-03) made batches of 1.9 jobs at 8 clients
// instead of 3.3, each with its own fixed pages in the log, and cost more
// CPU a job than the overlap saved (docs/PERFORMANCE.md). Under the load
// that sends batches straight past the journal (commitDirect), where
// batches are large anyway, a syncer overlaps them again (syncer.go).

// maxBatch bounds the jobs of one transaction. Small documents take at
// most DefaultSmallDocument each, so a batch stays under 10 MB.
const maxBatch = 64

// errUnsynced marks the failure of a batch that committed, or may have,
// but is not known to be durable: its jobs may exist, so their documents
// must stay.
var errUnsynced = errors.New("release: committed, but not synced")

// submission is a job whose document has been received, waiting for the
// committer.
type submission struct {
	// ctx is the client's request: a client gone before its batch starts
	// is left out, and its job never written.
	ctx context.Context
	q   Queue
	job *Job
	doc received
	// refused is set when the committer refuses the job (admitHeld).
	refused error
	// done receives the outcome exactly once.
	done chan error
}

// commit hands sub to the committer and waits for the outcome: nil once
// sub's job, document and events are durable. A client whose request ends
// while its job waits is still answered: either its job was left out (an
// error), or its batch had started and the job exists, recorded, as if
// the answer had been lost on its way.
func (s *Service) commit(ctx context.Context, sub *submission) error {
	sub.ctx, sub.done = ctx, make(chan error, 1)
	s.waiting.Add(1)
	select {
	case s.commits <- sub:
		s.waiting.Add(-1)
	case <-ctx.Done():
		s.waiting.Add(-1)
		return fmt.Errorf("release: commit job: %w", ctx.Err())
	case <-s.ctx.Done():
		s.waiting.Add(-1)
		return fmt.Errorf("release: commit job: shutting down: %w", ErrUnavailable)
	}
	return <-sub.done
}

// committer runs until ctx ends, committing batches of submissions. The
// channel is unbuffered, so a submission is either still with its
// client or taken by the committer, which then always answers it: at
// once if it fails, after the fsync once durable.
func (s *Service) committer(ctx context.Context) {
	batch := make([]*submission, 0, maxBatch)
	for {
		select {
		case <-ctx.Done():
			return
		case sub := <-s.commits:
			batch = append(batch[:0], sub)
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case sub := <-s.commits:
				batch = append(batch, sub)
			default:
				break fill
			}
		}
		if s.journal != nil {
			s.commitJournaled(ctx, batch)
		} else {
			s.commitBatch(ctx, batch)
		}
		clear(batch)
		if cap(s.docScratch) > maxDocScratch {
			s.docScratch = nil
		}
	}
}

// maxDocScratch is the most the committer keeps of its buffer of
// documents between batches (pgDocuments).
const maxDocScratch = 1 << 20

// commitBatch writes batch and answers its clients once it is durable.
// If the batch fails, each job is tried alone, so that one job refused
// (its owner over the held-bytes limit, say) does not fail the others.
func (s *Service) commitBatch(ctx context.Context, batch []*submission) {
	if err := s.group.Err(); err != nil {
		// A failed fsync of the log: nothing written now could be
		// acknowledged as durable.
		for _, sub := range batch {
			sub.done <- fmt.Errorf("release: commit job: %w: %w", ErrUnavailable, err)
		}
		return
	}
	live := stillWaiting(batch)
	if len(live) == 0 {
		return
	}
	err := s.writeBatch(ctx, live)
	if err == nil {
		s.answer(live)
		return
	}
	if errors.Is(err, errUnsynced) {
		for _, sub := range live {
			sub.done <- err
		}
		return
	}
	// A failed commit may still have committed (a connection lost during
	// COMMIT): jobs that exist are answered as committed, never written
	// twice, and their documents kept.
	committed, rest, lerr := s.committedAnyway(live)
	if lerr != nil {
		for _, sub := range live {
			sub.done <- fmt.Errorf("%w: the commit's outcome is unknown (%w): %w", errUnsynced, lerr, err)
		}
		return
	}
	if len(committed) > 0 {
		s.log.Warn("release: a failed commit had committed", "jobs", len(committed), "err", err)
		s.syncAndAnswer(committed)
	}
	if len(rest) == 1 && len(live) == 1 {
		rest[0].done <- err
		return
	}
	s.log.Debug("release: batch failed; committing its jobs one by one", "jobs", len(rest), "err", err)
	for _, sub := range rest {
		if err := s.writeBatch(ctx, []*submission{sub}); err != nil {
			sub.done <- err
			continue
		}
		s.answer([]*submission{sub})
	}
}

// stillWaiting answers the submissions of batch whose clients have gone
// and returns the others: a job whose client left before its batch began
// is never written.
func stillWaiting(batch []*submission) []*submission {
	live := make([]*submission, 0, len(batch))
	for _, sub := range batch {
		if err := sub.ctx.Err(); err != nil {
			sub.done <- fmt.Errorf("release: commit job: %w", err)
			continue
		}
		live = append(live, sub)
	}
	return live
}

// syncAndAnswer makes every transaction committed so far durable with
// one fsync and answers the clients of committed.
func (s *Service) syncAndAnswer(committed []*submission) {
	if s.beforeLogSync != nil {
		s.beforeLogSync()
	}
	var err error
	if serr := s.group.Sync(); serr != nil {
		err = fmt.Errorf("%w: %w", errUnsynced, serr)
		s.log.Error("release: submitted jobs committed but not synced to disk", "jobs", len(committed), "err", serr)
	}
	for _, sub := range committed {
		sub.done <- err
	}
}

// writeBatch writes the jobs of all in one statement (PostgreSQL,
// alone.go) or in one transaction, but those that admitHeld refuses
// (sub.refused). On failure no job of it exists (but after errUnsynced,
// when nobody knows), their IDs are what they were and none is refused.
func (s *Service) writeBatch(ctx context.Context, all []*submission) error {
	if slices.ContainsFunc(all, func(sub *submission) bool { return sub.doc.file }) {
		// Before the transaction: a job must never commit before the name
		// of its document's file is durable.
		if err := s.spool.SyncDir(); err != nil {
			return fmt.Errorf("release: commit jobs: %w", err)
		}
	}
	if s.texts.Dialect() == database.Postgres {
		if err := s.writeAlone(ctx, all); !errors.Is(err, errTryLocked) {
			return err
		}
	}
	err := s.writeLocked(ctx, all, nil)
	if overHeldLimit(err) {
		// A one-statement batch of another instance took an owner past
		// what admitHeld read: read again, and refuse what no longer fits.
		err = s.writeLocked(ctx, all, nil)
	}
	return err
}

// writeLocked is writeBatch's transaction, which writes the journal's
// pending records first (commitDirect). On failure each job's ID is what
// it was before: zero, or the one the journal's block gave it, which a
// retry keeps.
func (s *Service) writeLocked(ctx context.Context, all []*submission, pending []pendingRecord) error {
	ids := make([]int64, len(all))
	for i, sub := range all {
		ids[i] = sub.job.ID
	}
	if s.texts.Dialect() == database.SQLite {
		// On SQLite the batch runs to its end even when printgate stops
		// (a few milliseconds; the busy timeout and the write gate bound
		// its waits). A context that can end costs every statement a
		// goroutine of the driver's that watches it: threads woken and
		// put back to sleep on every job, a few per cent of printgate's
		// CPU (docs/BENCHMARKS.md). PostgreSQL's driver watches without a
		// goroutine, and only the context ends a statement stuck on a
		// connection gone silent.
		ctx = context.WithoutCancel(ctx)
	}
	err := s.group.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var evs []audit.Event
		if len(pending) > 0 {
			var err error
			if evs, err = writePending(batchSQL{tx: tx, texts: s.texts}, s.journalName, pending); err != nil {
				return err
			}
		}
		batch, err := s.admitHeld(tx, all)
		if err != nil || len(batch) == 0 {
			return s.appendSubmitted(ctx, tx, evs, err)
		}
		// Each job's row locks its owner's held_bytes row (a trigger,
		// createHeldBytes) on PostgreSQL: rows in owner order make two
		// instances' batches take those locks in the same order, even
		// without admitHeld's locks (no per-user limit).
		batch = slices.SortedStableFunc(slices.Values(batch), func(a, b *submission) int {
			return strings.Compare(a.job.Owner, b.job.Owner)
		})
		b := batchSQL{tx: tx, texts: s.texts}
		if err := b.insertJobs(batch); err != nil {
			return err
		}
		if err := b.insertKeysAndDocuments(batch, &s.docScratch); err != nil {
			return err
		}
		for _, sub := range batch {
			evs = append(evs, submittedEvents(sub.q, sub.job)...)
		}
		if err := s.appendSubmitted(ctx, tx, evs, nil); err != nil {
			return err
		}
		if s.beforeCommit != nil {
			ids := make([]int64, len(batch))
			for i, sub := range batch {
				ids[i] = sub.job.ID
			}
			s.beforeCommit(ids)
		}
		return nil
	})
	if err != nil {
		for i, sub := range all {
			sub.job.ID, sub.refused = ids[i], nil
		}
		return dbErr("commit jobs", err)
	}
	return nil
}

// appendSubmitted appends a batch's events to the chain in tx, unless
// err already failed the transaction.
func (s *Service) appendSubmitted(ctx context.Context, tx *gorm.DB, evs []audit.Event, err error) error {
	if err != nil || len(evs) == 0 {
		return err
	}
	if _, err := s.audit.AppendBatch(ctx, tx, evs); err != nil {
		return fmt.Errorf("release: audit %d events of submitted jobs: %w", len(evs), err)
	}
	return nil
}

// answer answers the refused submissions of a committed batch at once
// and the others once they are durable.
func (s *Service) answer(batch []*submission) {
	if written := answerRefused(batch); len(written) > 0 {
		s.syncAndAnswer(written)
	}
}

// answerRefused answers the submissions of batch that admitHeld refused
// and returns the others, whose jobs were written.
func answerRefused(batch []*submission) (written []*submission) {
	written = batch[:0:0]
	for _, sub := range batch {
		if sub.refused != nil {
			sub.done <- sub.refused
			continue
		}
		written = append(written, sub)
	}
	return written
}

// committedAnyway sorts the submissions of a batch whose commit failed
// into those whose jobs exist all the same, with their IDs set, and the
// rest; an error means the database cannot tell.
func (s *Service) committedAnyway(batch []*submission) (committed, rest []*submission, err error) {
	names := make([]string, len(batch))
	for i, sub := range batch {
		names[i] = sub.job.Spool
	}
	var rows []struct {
		ID    int64
		Spool string
	}
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	if err := s.db.WithContext(ctx).Model(&Job{}).Select("id, spool").Where("spool IN ?", names).Scan(&rows).Error; err != nil {
		return nil, nil, dbErr("look up jobs after a failed commit", err)
	}
	ids := make(map[string]int64, len(rows))
	for _, r := range rows {
		ids[r.Spool] = r.ID
	}
	for _, sub := range batch {
		if id, ok := ids[sub.job.Spool]; ok {
			sub.job.ID = id
			committed = append(committed, sub)
			continue
		}
		rest = append(rest, sub)
	}
	return committed, rest, nil
}

// admitHeld refuses, before anything is written, each submission of
// batch that would take its owner's held documents over the per-user
// limit, in the order the submissions came, and returns the others. The
// refused keep their refusal in sub.refused: one user past the limit
// costs the batch nothing, where a batch that failed would have been
// tried again job by job. Owners are locked in the order of their names
// (on PostgreSQL), so that instances locking the same owners never wait
// on each other in a circle.
func (s *Service) admitHeld(tx *gorm.DB, batch []*submission) ([]*submission, error) {
	if s.maxHeld <= 0 {
		return batch, nil
	}
	held := map[string]int64{}
	for _, sub := range batch {
		held[sub.job.Owner] = 0
	}
	owners := slices.Sorted(maps.Keys(held))
	for _, o := range owners {
		n, err := s.lockHeld(tx, o)
		if err != nil {
			return nil, err
		}
		held[o] = n
	}
	return s.admit(batch, held), nil
}

// admit returns the submissions of batch that keep their owners within
// the limit, given what each holds, in the order they came, and marks
// the others refused.
func (s *Service) admit(batch []*submission, held map[string]int64) []*submission {
	admitted := batch[:0:0]
	for _, sub := range batch {
		o := sub.job.Owner
		if held[o]+sub.job.Size > s.maxHeld {
			sub.refused = s.errUserFull(held[o])
			continue
		}
		held[o] += sub.job.Size
		admitted = append(admitted, sub)
	}
	return admitted
}

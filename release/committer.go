package release

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
)

// The committer makes submitted jobs durable in groups (docs/PIPELINE.md).
// A submission whose document has been received waits on s.commits; the
// committer takes the first one that comes, then every other one already
// waiting, up to maxBatch, and writes them all in one transaction: the
// jobs, their keys, their small documents and their audit events, with
// one commit. It hands the committed batch to the syncer and goes on with
// the next batch; the syncer makes every batch committed so far durable
// with one fsync of SQLite's log (database.GroupCommitter; nothing on
// PostgreSQL, where the commit was durable) and only then answers each
// waiting client. Nothing waits on purpose for a batch to fill: under
// load the submissions that arrive while one batch commits form the next.

// maxBatch bounds the jobs of one transaction. Small documents take at
// most DefaultSmallDocument each, so a batch stays under 10 MB.
const maxBatch = 64

// maxUnsynced bounds the batches committed and waiting for the syncer;
// past it the committer waits for the disk.
const maxUnsynced = 16

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
// client or taken by the committer, which then always sees it answered:
// at once if it fails, through the syncer once durable.
func (s *Service) committer(ctx context.Context) {
	defer close(s.unsynced)
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
		s.commitBatch(ctx, batch)
		clear(batch)
	}
}

// commitBatch writes batch and hands it to the syncer. If the batch
// fails, each job is tried alone, so that one job refused (its owner over
// the held-bytes limit, say) does not fail the others.
func (s *Service) commitBatch(ctx context.Context, batch []*submission) {
	if err := s.group.Err(); err != nil {
		// A failed fsync of the log: nothing written now could be
		// acknowledged as durable.
		for _, sub := range batch {
			sub.done <- fmt.Errorf("release: commit job: %w: %w", ErrUnavailable, err)
		}
		return
	}
	live := make([]*submission, 0, len(batch))
	for _, sub := range batch {
		if err := sub.ctx.Err(); err != nil {
			sub.done <- fmt.Errorf("release: commit job: %w", err)
			continue
		}
		live = append(live, sub)
	}
	if len(live) == 0 {
		return
	}
	err := s.writeBatch(ctx, live)
	if err == nil {
		s.unsynced <- live
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
		s.unsynced <- committed
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
		s.unsynced <- []*submission{sub}
	}
}

// syncer answers the clients of committed batches once they are durable:
// it takes every batch committed so far, syncs them with one fsync, and
// answers them all. It runs until the committer has stopped and every
// batch it handed over is answered.
func (s *Service) syncer(context.Context) {
	var pending []*submission
	for batch := range s.unsynced {
		pending = append(pending[:0], batch...)
	more:
		for {
			select {
			case b, ok := <-s.unsynced:
				if !ok {
					break more
				}
				pending = append(pending, b...)
			default:
				break more
			}
		}
		var err error
		if serr := s.group.Sync(); serr != nil {
			err = fmt.Errorf("%w: %w", errUnsynced, serr)
			s.log.Error("release: submitted jobs committed but not synced to disk", "jobs", len(pending), "err", serr)
		}
		for _, sub := range pending {
			sub.done <- err
		}
		clear(pending)
	}
}

// writeBatch writes the jobs of batch in one transaction. On failure no
// job of it exists and their IDs are zero again.
func (s *Service) writeBatch(ctx context.Context, batch []*submission) error {
	if slices.ContainsFunc(batch, func(sub *submission) bool { return sub.doc.file }) {
		// Before the transaction: a job must never commit before the name
		// of its document's file is durable.
		if err := s.spool.SyncDir(); err != nil {
			return fmt.Errorf("release: commit jobs: %w", err)
		}
	}
	err := s.group.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		b := batchSQL{tx: tx, texts: s.texts}
		if err := b.insertJobs(batch); err != nil {
			return err
		}
		if err := s.checkHeldBatch(tx, batch); err != nil {
			return err
		}
		if err := b.insertKeys(batch); err != nil {
			return err
		}
		if err := b.insertDocuments(batch); err != nil {
			return err
		}
		evs := make([]audit.Event, 0, 2*len(batch))
		for _, sub := range batch {
			evs = append(evs, submittedEvents(sub.q, sub.job)...)
		}
		if _, err := s.audit.AppendBatch(ctx, tx, evs); err != nil {
			return fmt.Errorf("release: audit %d submitted jobs: %w", len(batch), err)
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
		for _, sub := range batch {
			sub.job.ID = 0
		}
		return dbErr("commit jobs", err)
	}
	return nil
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

// checkHeldBatch runs checkHeld for each owner with jobs in batch, in the
// order of their names so that instances locking the same owners on
// PostgreSQL never wait on each other in a circle.
func (s *Service) checkHeldBatch(tx *gorm.DB, batch []*submission) error {
	if s.maxHeld <= 0 {
		return nil
	}
	sizes := map[string]int64{}
	for _, sub := range batch {
		sizes[sub.job.Owner] += sub.job.Size
	}
	owners := make([]string, 0, len(sizes))
	for o := range sizes {
		owners = append(owners, o)
	}
	slices.Sort(owners)
	for _, o := range owners {
		if err := s.checkHeld(tx, o, sizes[o]); err != nil {
			return err
		}
	}
	return nil
}

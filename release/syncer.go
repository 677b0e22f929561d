package release

import "context"

// The syncer makes SQLite's log durable beside the committer. A batch
// that commitDirect wrote (many clients at once) is handed to it after
// its COMMIT, and the committer goes on to the next batch while the
// log's fdatasync runs: the committer's statements of one batch overlap
// the fsync of the one before, where they took turns. A client still
// hears of its job only after an fsync that began after its batch's
// COMMIT, and a batch's documents were synced before it was handed over
// (placed.done), so a job made durable by any later fsync, the
// applier's or the copier's, still has its document.

// syncer answers the batches handed to it, each after one fsync of the
// log that covers it, until ctx ends; then the committer answers its
// batches itself (answerSynced).
func (s *Service) syncer(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case batch := <-s.syncs:
			s.syncAndAnswer(batch)
		}
	}
}

// answerSynced answers batch, a batch committed, once the log is synced:
// through the syncer, which takes it as soon as the fsync of the batch
// before has ended, or here once printgate is stopping.
func (s *Service) answerSynced(ctx context.Context, batch []*submission) {
	written := answerRefused(batch)
	if len(written) == 0 {
		return
	}
	select {
	case s.syncs <- written:
	case <-ctx.Done():
		s.syncAndAnswer(written)
	}
}

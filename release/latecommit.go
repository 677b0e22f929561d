package release

import (
	"context"
	"time"

	"github.com/printgate/printgate/internal/database"
)

// On PostgreSQL a batch's statement commits by itself once PostgreSQL
// has run it, even after the printgate that sent it has crashed, and so
// does a transaction whose COMMIT was on its way: after a lock wait, that
// can be after the next start has begun. Its jobs would then point to
// documents (a batch's file, its segment) that start-up, seeing no job
// refer to them, had removed as leftovers. So start-up first waits until
// every statement that was running, in a transaction that writes jobs,
// when it began has ended: such a transaction holds the jobs table's ROW
// EXCLUSIVE lock until it ends. (What the
// crashed process had sent whole, PostgreSQL began as it arrived; what
// it had not, PostgreSQL never runs. A transaction of it left idle
// cannot commit any more, and is not waited for.) It watches pg_locks
// rather than
// taking a lock that conflicts: a lock waiting in the queue would stop
// every other instance's writes behind it. Transactions of other roles,
// whose start PostgreSQL does not show, are not waited for: printgate's
// writers all connect as its own.

// earlierWritesWait bounds start-up's wait: a writer still running after
// it is left to its fate, and said so.
const earlierWritesWait = time.Minute

// earlierWritesPoll is how often start-up looks whether they have ended.
const earlierWritesPoll = 10 * time.Millisecond

// awaitEarlierWrites waits, on PostgreSQL, until every statement that
// was writing jobs when it began has ended, for at most
// earlierWritesWait.
func (s *Service) awaitEarlierWrites(ctx context.Context) error {
	if s.texts.Dialect() != database.Postgres {
		return nil
	}
	db := s.db.WithContext(ctx)
	var began time.Time // PostgreSQL's clock, as xact_start is
	if err := db.Raw("SELECT now()").Scan(&began).Error; err != nil {
		return dbErr("wait for earlier writes of jobs", err)
	}
	deadline := time.NewTimer(earlierWritesWait) // wall time: this bounds a wait
	defer deadline.Stop()
	for {
		var writers int
		if err := db.Raw(`SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE l.locktype = 'relation' AND l.relation = 'jobs'::regclass AND l.mode = 'RowExclusiveLock'
			AND a.state = 'active' AND a.xact_start < ? AND a.pid <> pg_backend_pid()`, began).Scan(&writers).Error; err != nil {
			return dbErr("wait for earlier writes of jobs", err)
		}
		if writers == 0 {
			return nil
		}
		if s.awaitingEarlierWrites != nil {
			s.awaitingEarlierWrites()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			s.log.Warn("release: statements writing jobs were still running when start-up stopped waiting for them; a document one of them commits a job for later may have been removed as a leftover",
				"statements", writers, "waited", earlierWritesWait)
			return nil
		case <-time.After(earlierWritesPoll):
		}
	}
}

package release

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
)

// On PostgreSQL a batch's statement commits by itself once PostgreSQL
// has run it, even after the printgate that sent it has crashed, and so
// may a transaction whose COMMIT was on its way: after a lock wait, that
// can be after the next start has begun. Its jobs would then point to
// documents (a batch's file, its segment) that start-up, seeing no job
// refer to them, had removed as leftovers. So start-up first waits for
// every transaction that was writing jobs to end: all of them hold the
// jobs table's ROW EXCLUSIVE lock until they end, which SHARE mode waits
// for. A statement of the crashed process not yet begun never will be:
// PostgreSQL ends a connection whose client is gone at its next read.

// earlierWritesWait bounds start-up's wait for them: a writer still
// running after it is left to its fate, and said so.
const earlierWritesWait = "60s"

// awaitEarlierWrites waits, on PostgreSQL, until every transaction that
// was writing jobs when it began has ended.
func (s *Service) awaitEarlierWrites(ctx context.Context) error {
	if s.texts.Dialect() != database.Postgres {
		return nil
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SET LOCAL lock_timeout = '" + earlierWritesWait + "'").Error; err != nil {
			return err
		}
		return tx.Exec("LOCK TABLE jobs IN SHARE MODE").Error
	})
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok && pe.Code == "55P03" {
		s.log.Warn("release: a transaction writing jobs was still running after " + earlierWritesWait +
			"; start-up goes on, and a document it commits a job for later may have been removed as a leftover")
		return nil
	}
	return dbErr("wait for earlier writes of jobs", err)
}

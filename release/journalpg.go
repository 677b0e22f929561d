package release

import (
	"context"
	"errors"
	"fmt"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
)

// The journal on PostgreSQL (docs/PIPELINE.md, "The journal"): a batch
// that goes straight to the database (goDirect) goes in its one
// statement, and the journal's rows in the database are its instance's,
// which one process at a time may use.

// commitDirectPG is commitDirect on PostgreSQL, under jn.applying: the
// pending records are applied first, in a statement of their own, and
// the batch then goes as it goes without a journal, in one statement
// (writeAlone), its documents into the applier's segments. A
// transaction for both would cost the batch its one statement, and the
// records are at most maxPending.
func (s *Service) commitDirectPG(ctx context.Context, batch []*submission) bool {
	jn := s.journal
	jn.mu.Lock()
	pending := jn.pending
	jn.mu.Unlock()
	if len(pending) > 0 {
		// An apply whose commit failed may have landed all the same:
		// settlePending looks before it writes them again.
		if err := s.applyRecords(ctx, pending); err == nil {
			jn.unpend(pending)
		} else if !s.settlePending(ctx, pending) {
			return false
		}
	}
	// Nothing is pending now but what the committer itself appends.
	s.commitBatch(database.WithoutBarrier(ctx), batch)
	return true
}

// applyAlone writes batch's records on PostgreSQL in one statement with
// the journal's position, as writeAlone writes a batch: one round trip
// where the transaction took one for BEGIN, two for each chunk of
// applyRows records, the events', the position's and COMMIT's. The
// held-bytes limit is not asked for: the jobs were acknowledged. Under
// jn.applying. It answers errTryLocked when the transaction must write
// the records: the chain head moved under it too often, or a deadlock
// chose it.
func (s *Service) applyAlone(ctx context.Context, batch []pendingRecord) error {
	jn := s.journal
	subs, evs := pendingSubmissions(batch)
	if len(evs) == 0 {
		return errTryLocked
	}
	owners := ownersOf(subs)
	if err := s.counterRows(ctx, owners); err != nil {
		return err
	}
	a := &audit.Alone{Select: lockOwners, SelectArgs: []any{owners}}
	s.aloneWrites(a, subs, &jn.applyScratch)
	defer func() {
		// Sealed bytes, but the records' buffers are zeroed too.
		clear(jn.applyScratch)
		if cap(jn.applyScratch) > maxDocScratch {
			jn.applyScratch = nil
		}
	}()
	a.Writes.Add(s.texts.Bind(movePosition), s.journalName, batch[len(batch)-1].seq)
	pool := s.group.DB.Statement.ConnPool
	var err error
	for range aloneTries {
		_, err = s.audit.AppendAlone(ctx, pool, a, evs)
		if s.aloneApplied != nil {
			s.aloneApplied(err)
		}
		if !errors.Is(err, audit.ErrHeadMoved) {
			break
		}
	}
	switch {
	case errors.Is(err, audit.ErrHeadMoved) || deadlocked(err):
		return errTryLocked
	case database.IsUnavailable(err):
		// Unlike the transaction, the statement may commit after its
		// connection is gone: the documents it points to stay.
		jobs := make([]*Job, len(subs))
		for i, sub := range subs {
			jobs[i] = sub.job
		}
		jn.keepSegments(jobs)
	}
	return err
}

// lockJournal makes this process the only one that uses the journal's
// rows in the database, on PostgreSQL, until the returned function is
// called: two instances started from copies of one data dir (one
// instance.id) would share them, and each would take the other's
// position for its own and skip records of its own at its next start.
func (s *Service) lockJournal(ctx context.Context) (unlock func(), err error) {
	if s.texts.Dialect() != database.Postgres {
		return func() {}, nil
	}
	sqlDB, err := s.db.DB.DB()
	if err != nil {
		return nil, fmt.Errorf("release: lock the journal: %w", err)
	}
	c, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, dbErr("lock the journal", err)
	}
	const lock = `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`
	name := "printgate journal " + s.journalName
	var ok bool
	if err := c.QueryRowContext(ctx, lock, name).Scan(&ok); err != nil {
		c.Close()
		return nil, dbErr("lock the journal", err)
	}
	if !ok {
		c.Close()
		return nil, fmt.Errorf("release: another printgate with this data dir's instance id (%q, in instance.id) uses the database: "+
			"instances sharing a database each need a data dir of their own (a copied data dir keeps the id: remove its instance.id)", s.journalName)
	}
	return func() {
		// The session's lock would outlive the connection's return to
		// the pool.
		if _, err := c.ExecContext(context.Background(), `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, name); err != nil {
			s.log.Warn("release: unlock the journal", "err", err)
		}
		c.Close()
	}, nil
}

// JournalName is the name under which the journal of instance keeps its
// rows in the database: "" on SQLite, which has one instance, and the
// instance's name on PostgreSQL, where each instance sharing the database
// has a journal of its own.
func JournalName(d database.Dialect, instance string) string {
	if d == database.SQLite {
		return ""
	}
	return instance
}

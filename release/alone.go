package release

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
)

// On PostgreSQL a batch goes to the database in one statement of its own
// (docs/PIPELINE.md): the jobs, named by IDs taken from their sequence
// ahead, their keys and small documents, and their audit events
// (audit.Log.AppendAlone), committed together by PostgreSQL without
// BEGIN or COMMIT. A transaction took six round trips. The per-user limit
// of held bytes is checked by the trigger that counts them
// (heldLimitCheck), which this statement asks for; a batch that would
// take someone past it, like one that finds the chain head moved too
// often, is written by the transaction instead, where admitHeld refuses
// exactly the jobs that do not fit.

// errTryLocked sends a batch from the one-statement path to the
// transaction.
var errTryLocked = errors.New("release: batch needs the transaction")

// aloneTries is how many times a batch is sent as one statement when
// other writers keep moving the chain head, before it takes the lock.
const aloneTries = 3

// heldLimitSetting is the setting by which a statement asks the held-bytes
// trigger to refuse what goes past the per-user limit (heldLimitCheck).
const heldLimitSetting = "printgate.held_limit"

// writeAlone writes all in one statement, or answers errTryLocked.
func (s *Service) writeAlone(ctx context.Context, all []*submission) error {
	batch := slices.SortedStableFunc(slices.Values(all), func(a, b *submission) int {
		return strings.Compare(a.job.Owner, b.job.Owner)
	})
	ids, err := s.ids.take(ctx, len(batch))
	if err != nil {
		return err
	}
	for i, sub := range batch {
		sub.job.ID = ids[i]
	}
	owners := ownersOf(batch)
	if err := s.counterRows(ctx, owners); err != nil {
		return err
	}
	seg := s.toSegment(batch)
	if s.journal != nil {
		// commitDirectPG holds the applier's lock, which guards its
		// segments.
		seg = s.directToSegment(batch)
	}
	a := s.aloneFor(batch, owners, &s.docScratch)
	if s.beforeCommit != nil {
		s.beforeCommit(ids)
	}
	err = s.appendAlone(ctx, batch, a)
	if seg != nil {
		o := notWritten
		switch {
		case err == nil:
			o = written
		case database.IsUnavailable(err):
			o = unknown
		}
		err = seg.done(err, o)
	}
	if err == nil {
		return nil
	}
	for _, sub := range batch {
		sub.job.ID = 0
	}
	switch {
	case errors.Is(err, audit.ErrHeadMoved) || overHeldLimit(err) || deadlocked(err):
		return errTryLocked
	case database.IsUnavailable(err):
		// Unlike a transaction, which a lost connection rolls back, the
		// statement commits by itself whenever it gets its locks, even
		// after its connection is gone: nobody can tell yet whether the
		// jobs exist, so their documents stay.
		// The client hears "unavailable" (dbErr), as for any failure while
		// the database is away.
		return fmt.Errorf("%w: the statement's outcome is unknown: %w", errUnsynced, dbErr("commit jobs", err))
	case errors.As(err, new(*audit.EventError)):
		return err
	}
	return dbErr("commit jobs", err)
}

// appendAlone sends batch's statement, a, again while the chain head
// moves under it, up to aloneTries times.
func (s *Service) appendAlone(ctx context.Context, batch []*submission, a *audit.Alone) error {
	pool := s.group.DB.Statement.ConnPool
	var err error
	for range aloneTries {
		evs := make([]audit.Event, 0, 2*len(batch))
		for _, sub := range batch {
			evs = append(evs, submittedEvents(sub.q, sub.job)...)
		}
		_, err = s.audit.AppendAlone(ctx, pool, a, evs)
		if !errors.Is(err, audit.ErrHeadMoved) {
			break
		}
	}
	if overHeldLimit(err) {
		s.log.Debug("release: a batch would take an owner past the held-bytes limit; sorting it out in a transaction")
	}
	return err
}

// counterRows makes sure each of owners has its row of held_bytes, so that
// writeAlone's statement locks it before the head: an owner's first job
// would otherwise create it in its trigger, after the head's lock. Rows
// stay (createHeldBytes), so each owner is seen to once per process.
func (s *Service) counterRows(ctx context.Context, owners []string) error {
	var missing []string
	for _, o := range owners {
		if !s.counted[o] {
			missing = append(missing, o)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := s.group.DB.Statement.ConnPool.ExecContext(ctx,
		`INSERT INTO held_bytes (owner, bytes) SELECT o, 0 FROM unnest($1::text[]) o ON CONFLICT (owner) DO NOTHING`, missing); err != nil {
		return dbErr("count held bytes", err)
	}
	if len(s.counted) > maxCounted {
		clear(s.counted)
	}
	for _, o := range missing {
		s.counted[o] = true
	}
	return nil
}

// maxCounted bounds the owners counterRows remembers.
const maxCounted = 100_000

// deadlocked reports whether err is PostgreSQL's deadlock detector
// choosing the statement: nothing was written, and the transaction path
// takes its locks in the right order.
func deadlocked(err error) bool {
	pe, ok := errors.AsType[*pgconn.PgError](err)
	return ok && pe.Code == "40P01"
}

// aloneFor returns the parts of writeAlone's statement for batch, whose
// jobs are owners' and have their IDs, gathering the documents in
// scratch.
func (s *Service) aloneFor(batch []*submission, owners []string, scratch *[]byte) *audit.Alone {
	a := new(audit.Alone)
	s.aloneWrites(a, batch, scratch)
	// The owners' counter rows are locked first, in name order, then the
	// chain head: the order of every transaction, whose jobs' triggers
	// lock the rows before it appends. The other way round, a submission
	// and a release of the same owner deadlocked.
	a.Select, a.SelectArgs = lockOwners, []any{owners}
	if s.maxHeld > 0 {
		a.Select += ", set_config('" + heldLimitSetting + "', $2, true)"
		a.SelectArgs = append(a.SelectArgs, strconv.FormatInt(s.maxHeld, 10))
	}
	return a
}

// lockOwners locks the held_bytes rows of the owners in $1, in name
// order, as audit.Alone's Select.
const lockOwners = "(SELECT count(*) FROM (SELECT 1 FROM held_bytes WHERE owner = ANY($1) ORDER BY owner FOR UPDATE) lk)"

// ownersOf returns the owners of batch, which is in owners' order, each
// once.
func ownersOf(batch []*submission) []string {
	owners := make([]string, len(batch))
	for i, sub := range batch {
		owners[i] = sub.job.Owner
	}
	return slices.Compact(owners)
}

// aloneWrites gathers into a the writes of batch's jobs, keys and small
// documents, the documents last (audit.Alone.Tail), in scratch.
func (s *Service) aloneWrites(a *audit.Alone, batch []*submission, scratch *[]byte) {
	w := &a.Writes
	args := make([]any, 0, len(batch)*(len(jobColumns)+1))
	keys := make([]any, 0, 2*len(batch))
	for _, sub := range batch {
		args = append(append(args, sub.job.ID), jobValues(sub.job)...)
		keys = append(keys, sub.job.ID, sub.job.WrappedKey)
	}
	q, args := s.texts.InsertRows("jobs", "id, "+jobColumnList, jobColumnTypes, len(batch), args)
	w.Add(q, args...)
	q, keys = s.texts.InsertRows("job_keys", "job_id, wrapped_key", []string{"bigint", "bytea"}, len(batch), keys)
	w.Add(q, keys...)
	if q, docs := pgDocuments(batch, scratch); q != "" {
		a.Tail.Add(q, docs...)
	}
}

// overHeldLimit reports whether err is the held-bytes trigger refusing a
// job past the per-user limit (heldLimitCheck).
func overHeldLimit(err error) bool {
	pe, ok := errors.AsType[*pgconn.PgError](err)
	return ok && pe.ConstraintName == "held_bytes_limit"
}

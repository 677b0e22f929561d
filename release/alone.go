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

// idBlock is how many job IDs the committer takes from the sequence at a
// time: one round trip for 64 jobs rather than one per batch.
const idBlock = 64

// heldLimitSetting is the setting by which a statement asks the held-bytes
// trigger to refuse what goes past the per-user limit (heldLimitCheck).
const heldLimitSetting = "printgate.held_limit"

// writeAlone writes all in one statement, or answers errTryLocked.
func (s *Service) writeAlone(ctx context.Context, all []*submission) error {
	batch := slices.SortedStableFunc(slices.Values(all), func(a, b *submission) int {
		return strings.Compare(a.job.Owner, b.job.Owner)
	})
	ids, err := s.jobIDs(ctx, len(batch))
	if err != nil {
		return err
	}
	for i, sub := range batch {
		sub.job.ID = ids[i]
	}
	var a audit.Alone
	s.aloneWrites(&a.Writes, batch)
	if s.maxHeld > 0 {
		a.Select = "set_config('" + heldLimitSetting + "', $1, true)"
		a.SelectArgs = []any{strconv.FormatInt(s.maxHeld, 10)}
	}
	if s.beforeCommit != nil {
		s.beforeCommit(ids)
	}
	pool := s.group.DB.Statement.ConnPool
	for range aloneTries {
		evs := make([]audit.Event, 0, 2*len(batch))
		for _, sub := range batch {
			evs = append(evs, submittedEvents(sub.q, sub.job)...)
		}
		_, err = s.audit.AppendAlone(ctx, pool, &a, evs)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, audit.ErrHeadMoved):
			continue
		case overHeldLimit(err):
			s.log.Debug("release: a batch would take an owner past the held-bytes limit; sorting it out in a transaction")
		case errors.As(err, new(*audit.EventError)):
			return err
		}
		break
	}
	for _, sub := range batch {
		sub.job.ID = 0
	}
	if err == nil || errors.Is(err, audit.ErrHeadMoved) || overHeldLimit(err) {
		return errTryLocked
	}
	return dbErr("commit jobs", err)
}

// aloneWrites gathers into w the writes of batch's jobs, keys and small
// documents.
func (s *Service) aloneWrites(w *database.Chained, batch []*submission) {
	args := make([]any, 0, len(batch)*(len(jobColumns)+1))
	keys := make([]any, 0, 2*len(batch))
	var docs []any
	for _, sub := range batch {
		args = append(append(args, sub.job.ID), jobValues(sub.job)...)
		keys = append(keys, sub.job.ID, sub.job.WrappedKey)
		if sub.doc.sealed != nil {
			docs = append(docs, sub.job.ID, *sub.doc.sealed)
		}
	}
	w.Add(s.texts.Insert("jobs", "id, "+jobColumnList, len(jobColumns)+1, len(batch), ""), args...)
	w.Add(s.texts.Insert("job_keys", "job_id, wrapped_key", 2, len(batch), ""), keys...)
	if len(docs) > 0 {
		w.Add(s.texts.Insert("job_documents", "job_id, data", 2, len(docs)/2, ""), docs...)
	}
}

// jobIDs returns n IDs for new jobs from the jobs' sequence, taking a
// block ahead when the committer has too few left. Only the committer
// calls it.
func (s *Service) jobIDs(ctx context.Context, n int) ([]int64, error) {
	if len(s.idsAhead) < n {
		rows, err := s.group.DB.Statement.ConnPool.QueryContext(ctx,
			`SELECT nextval(pg_get_serial_sequence('jobs', 'id')) FROM generate_series(1, $1)`, max(n, idBlock))
		if err != nil {
			return nil, dbErr("take job IDs", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return nil, dbErr("take job IDs", err)
			}
			s.idsAhead = append(s.idsAhead, id)
		}
		if err := rows.Err(); err != nil {
			return nil, dbErr("take job IDs", err)
		}
		if len(s.idsAhead) < n {
			return nil, fmt.Errorf("release: take job IDs: %d for %d jobs", len(s.idsAhead), n)
		}
	}
	ids := slices.Clone(s.idsAhead[:n])
	s.idsAhead = slices.Delete(s.idsAhead, 0, n)
	return ids, nil
}

// overHeldLimit reports whether err is the held-bytes trigger refusing a
// job past the per-user limit (heldLimitCheck).
func overHeldLimit(err error) bool {
	pe, ok := errors.AsType[*pgconn.PgError](err)
	return ok && pe.ConstraintName == "held_bytes_limit"
}

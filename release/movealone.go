package release

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
)

// On PostgreSQL a move that keeps the document (a claim, releasing to
// printing) goes as one statement, as a batch of submissions does
// (alone.go): the job's conditional update and its audit events, committed
// by PostgreSQL without BEGIN or COMMIT. The transaction took five round
// trips (BEGIN, the update, the head's lock, the events, COMMIT), each on
// a release's way to the printer. The update runs first in the statement,
// so the job's row is locked before the chain head, as in the transaction;
// if it finds the job moved (another device claimed it first), the
// statement fails as a whole and the move is lost. A move that destroys
// the document, or that records a submission, takes the transaction:
// their triggers and writes lock other rows before the head.

// errNotMoved is the statement finding the job no longer in a state the
// move starts from.
var errNotMoved = errors.New("release: the job was moved first")

// moveAlone makes the move with the job update set in one statement. It
// reports whether this caller won, or errTryLocked when the chain head
// kept moving and the transaction must do it.
func (s *Service) moveAlone(ctx context.Context, j, next *Job, c change, set map[string]any) (bool, error) {
	var a audit.Alone
	q, args := moveUpdate(j.ID, c, set)
	a.Writes.Add(q, args...)
	// Evaluated first, so the job's row is locked before the head.
	a.Select = "jobs_expect_moved((SELECT count(*) FROM s0))"
	pool := s.db.Statement.ConnPool
	evs := s.moveEvents(next, j.State, c.to, c.by, false, c.details)
	var err error
	for range aloneTries {
		_, err = s.audit.AppendAlone(ctx, pool, &a, evs)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, audit.ErrHeadMoved):
			continue
		case notMoved(err):
			return false, nil
		}
		break
	}
	switch {
	case errors.Is(err, audit.ErrHeadMoved) || deadlocked(err):
		return false, errTryLocked
	case errors.As(err, new(*audit.EventError)):
		return false, fmt.Errorf("release: audit job %d: %w", j.ID, err)
	}
	return false, dbErr(fmt.Sprintf("job %d: %s", j.ID, c.to), err)
}

// moveUpdate is the conditional update of a move, in PostgreSQL's text,
// returning a row when it changed the job.
func moveUpdate(id int64, c change, set map[string]any) (string, []any) {
	cols := slices.Sorted(maps.Keys(set))
	var b strings.Builder
	args := make([]any, 0, len(cols)+3)
	b.WriteString("UPDATE jobs SET ")
	for i, col := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		v := set[col]
		if st, ok := v.(State); ok {
			v = string(st)
		}
		args = append(args, v)
		b.WriteString(col + " = $" + strconv.Itoa(len(args)))
	}
	from := make([]string, len(c.from))
	for i, st := range c.from {
		from[i] = string(st)
	}
	args = append(args, id, from)
	b.WriteString(" WHERE id = $" + strconv.Itoa(len(args)-1) + " AND state = ANY($" + strconv.Itoa(len(args)) + ")")
	if c.unlessReason != "" {
		args = append(args, c.unlessReason)
		b.WriteString(" AND reason <> $" + strconv.Itoa(len(args)))
	}
	b.WriteString(" RETURNING 1")
	return b.String(), args
}

// notMoved reports whether err is jobs_expect_moved failing the
// statement: the job was not in a state the move starts from, and nothing
// was written.
func notMoved(err error) bool {
	pe, ok := errors.AsType[*pgconn.PgError](err)
	return ok && pe.Code == "P0002" && strings.Contains(pe.Message, errNotMoved.Error())
}

// createJobsExpectMoved adds, on PostgreSQL, the function that fails a move's
// one statement as a whole when its update found the job elsewhere
// (moveAlone): n is the rows the update changed.
func createJobsExpectMoved(tx *gorm.DB, d database.Dialect) error {
	return database.CreateExpectOne(tx, d, "jobs_expect_moved", errNotMoved.Error(), "no_data_found")
}

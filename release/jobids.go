package release

import (
	"context"
	"fmt"
	"slices"

	"github.com/printgate/printgate/internal/database"
)

// idBlock is how many job IDs the committer takes from the sequence at a
// time, and idsLow how few it may have left before it asks for the next
// block, in the background. Taken when it ran out, a block of 64 was a
// round trip of 1.7 ms in one batch of five at 32 clients, with
// PostgreSQL busy: 7 % of the committer's time (docs/PERFORMANCE.md).
// IDs taken and never used are gaps, as those of a rolled-back insert
// are.
const (
	idBlock = 256
	idsLow  = idBlock / 2
)

// idSupply hands the committer job IDs taken ahead from the jobs'
// sequence, fetching the next block while the last one is used. Only the
// committer calls take.
type idSupply struct {
	// fetch takes n IDs from the sequence.
	fetch func(ctx context.Context, n int) ([]int64, error)
	// goFetch runs a fetch in the background (Service.goBackground).
	goFetch func(func(ctx context.Context))

	ahead []int64
	// next delivers the block being fetched; nil when none is.
	next chan fetched
}

type fetched struct {
	ids []int64
	err error
}

// take returns n IDs, waiting for them only when fewer are at hand.
func (s *idSupply) take(ctx context.Context, n int) ([]int64, error) {
	for len(s.ahead) < n {
		ahead := s.next != nil // fetched ahead, maybe long before
		if !ahead {
			s.start(max(n-len(s.ahead), idBlock))
		}
		select {
		case f := <-s.next:
			s.next = nil
			if f.err != nil && ahead {
				continue // a failure then (the database away) is no news now
			}
			if f.err != nil {
				return nil, f.err
			}
			s.ahead = append(s.ahead, f.ids...)
		case <-ctx.Done():
			return nil, fmt.Errorf("release: take job IDs: %w", ctx.Err())
		}
	}
	ids := slices.Clone(s.ahead[:n])
	s.ahead = slices.Delete(s.ahead, 0, n)
	if len(s.ahead) < idsLow && s.next == nil {
		s.start(idBlock)
	}
	return ids, nil
}

// start fetches n IDs in the background.
func (s *idSupply) start(n int) {
	next := make(chan fetched, 1) // never blocks the fetch
	s.next = next
	s.goFetch(func(ctx context.Context) {
		ids, err := s.fetch(ctx, n)
		if err == nil && len(ids) < n {
			err = fmt.Errorf("release: take job IDs: %d for %d jobs", len(ids), n)
		}
		next <- fetched{ids, err}
	})
}

// fetchJobIDs takes n IDs from the jobs' sequence (PostgreSQL).
func (s *Service) fetchJobIDs(ctx context.Context, n int) ([]int64, error) {
	// Past the journal's barrier: the sequence is not what it waits for.
	rows, err := s.group.DB.Statement.ConnPool.QueryContext(database.WithoutBarrier(ctx),
		`SELECT nextval(pg_get_serial_sequence('jobs', 'id')) FROM generate_series(1, $1)`, n)
	if err != nil {
		return nil, dbErr("take job IDs", err)
	}
	defer rows.Close()
	ids := make([]int64, 0, n)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, dbErr("take job IDs", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("take job IDs", err)
	}
	return ids, nil
}

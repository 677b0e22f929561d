package release

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release/spool"
)

// A PostgreSQL backend that has not yet run the committer's statement
// pays for it the first time: the statement's parse and plans, its
// tables' and indexes' descriptions, the triggers' PL/pgSQL, the TOAST
// of a document. A server started cold took 180–200 ms to answer its
// first 32 clients where the next 32 took 60–110 (docs/PERFORMANCE.md).
// Prime pays for it before the server listens, by writing made-up
// batches in a transaction it rolls back.

// primeOwner owns the made-up jobs. Nothing of theirs outlives the
// rolled-back transaction, so the name only has to be one no account
// takes, whose counter row would otherwise be locked for a moment.
const primeOwner = "printgate:prime"

// primeDocument is the size of a made-up job's sealed document: above
// PostgreSQL's TOAST threshold, as a one-page PDF's is.
const primeDocument = 10 << 10

// Prime makes c, a connection of the service's database, ready for the
// committer's batches (PostgreSQL only): it writes a batch of one job and
// one of more than database.ArrayRows, the two forms of the statement
// (InsertRows), the second with its documents in a segment where the
// committer would put them there (toSegment), with their events, in a
// transaction it then rolls back.
// Nothing is written and no job ID is used; the audit log forgets the
// head the rolled-back events moved. The caller decides what a failure
// costs: only time, as the first batches then pay it.
func (s *Service) Prime(ctx context.Context, c *sql.Conn) error {
	if s.texts.Dialect() != database.Postgres {
		return nil
	}
	q, ok := s.primeQueue()
	if !ok {
		return nil
	}
	for _, n := range []int{1, database.ArrayRows + 1} {
		if err := s.rehearse(ctx, c, q, n); err != nil {
			return fmt.Errorf("release: prime a connection with a batch of %d: %w", n, err)
		}
	}
	return nil
}

// primeQueue returns a hold queue, whose jobs are the committer's usual
// batch, or any queue.
func (s *Service) primeQueue() (Queue, bool) {
	var first Queue
	found := false
	for _, q := range s.queues {
		if q.Mode == Hold {
			return q, true
		}
		first, found = q, true
	}
	return first, found
}

// rehearse writes a made-up batch of n jobs of q on c as writeAlone
// does, and rolls it back.
func (s *Service) rehearse(ctx context.Context, c *sql.Conn, q Queue, n int) (err error) {
	if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
		return err
	}
	defer func() {
		_, rbErr := c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		s.audit.ForgetHead()
		err = errors.Join(err, rbErr)
	}()
	if _, err := c.ExecContext(ctx, `INSERT INTO held_bytes (owner, bytes) VALUES ($1, 0) ON CONFLICT (owner) DO NOTHING`, primeOwner); err != nil {
		return err
	}
	sealed := make([]byte, primeDocument)
	rand.Read(sealed)
	now := s.now()
	batch := make([]*submission, n)
	evs := make([]audit.Event, 0, 2*n)
	for i := range batch {
		j := &Job{
			// Negative IDs are no sequence's, and no job's but these.
			ID: -int64(i + 1), Queue: q.Name, Owner: primeOwner, Name: "prime", Format: "application/pdf",
			State: StateHeld, Copies: 1, DocInDB: true, WrappedKey: sealed[:64], Size: primeDocument,
			SHA256: sealed[:32], Pages: 1, CreatedAt: now, UpdatedAt: now,
		}
		if n >= segmentBatch && (s.segs != nil || s.journal != nil && s.journal.segs != nil) {
			// As the committer sends such a batch: its documents in a
			// segment (toSegment, directToSegment), the statement
			// without them.
			pointAt(j, spool.Loc{Segment: 1, Offset: int64(i * primeDocument), Length: primeDocument})
		}
		batch[i] = &submission{q: q, job: j, doc: received{sealed: &sealed}}
		evs = append(evs, submittedEvents(q, j)...)
	}
	var scratch []byte
	a := s.aloneFor(batch, []string{primeOwner}, &scratch)
	_, err = s.audit.AppendAlone(ctx, c, a, evs)
	return err
}

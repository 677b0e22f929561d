package database

import (
	"context"
	"database/sql"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// SQLite lets one connection write at a time. A connection that finds the
// write lock taken sleeps in its busy handler, 1, 2, 5, 10 ms and longer,
// and tries again: a release that came just after a submission's batch or
// a printed job's end waited 5 to 25 ms for a lock held for one. The
// writeGate queues this process's writers in Go instead: a writer takes
// the gate before it begins its transaction and gives it back when the
// transaction ends, and the next one runs at once. SQLite's lock still
// decides (other processes, statements that write outside the gate): a
// writer that waited gateWait without getting the gate goes on without it.

// gateWait is how long a writer waits for the gate before it goes on
// without it. A writer that could wait longer is one whose own process
// holds the lock in a transaction it is inside of, which SQLite's busy
// timeout would end as well.
const gateWait = time.Second

// writeGate orders the writing transactions of one process.
type writeGate chan struct{}

func newWriteGate() writeGate { return make(writeGate, 1) }

// enter waits for the gate, at most gateWait, and returns the function
// that gives it back (a no-op when the wait ran out).
func (g writeGate) enter(ctx context.Context) (leave func(), err error) {
	if g == nil {
		return func() {}, nil // PostgreSQL's pool: no gate
	}
	select {
	case g <- struct{}{}:
		return g.leave, nil
	default:
	}
	t := time.NewTimer(gateWait)
	defer t.Stop()
	select {
	case g <- struct{}{}:
		return g.leave, nil
	case <-t.C:
		return func() {}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (g writeGate) leave() { <-g }

// gatedPool is the pool of a database. On SQLite its transactions, all
// writers (_txlock=immediate), and its statements outside a transaction
// that write pass the gate; PostgreSQL's has no gate. On both, they
// wait at the barrier (SetBarrier).
type gatedPool struct {
	*sql.DB
	gate    writeGate
	barrier atomic.Pointer[Barrier]
}

// GetDBConn gives gorm the pool (gorm.GetDBConnector).
func (p *gatedPool) GetDBConn() (*sql.DB, error) { return p.DB, nil }

// BeginTx begins a transaction once through the gate
// (gorm.ConnPoolBeginner).
func (p *gatedPool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	if err := p.wait(ctx, ""); err != nil {
		return nil, err
	}
	leave, err := p.gate.enter(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := p.DB.BeginTx(ctx, opts)
	if err != nil {
		leave()
		return nil, err
	}
	return &gatedTx{Tx: tx, leave: leave}, nil
}

// ExecContext runs a statement outside a transaction through the gate:
// on this pool, statements run with Exec write.
func (p *gatedPool) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if err := p.wait(ctx, ""); err != nil {
		return nil, err
	}
	leave, err := p.gate.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	return p.DB.ExecContext(ctx, q, args...)
}

// gatedTx is a transaction that holds the gate until it ends.
type gatedTx struct {
	*sql.Tx
	leave func()
	left  bool // the transaction ended and gave the gate back
}

// Commit commits the transaction and gives the gate back.
func (t *gatedTx) Commit() error {
	defer t.release()
	return t.Tx.Commit()
}

// Rollback rolls the transaction back and gives the gate back.
func (t *gatedTx) Rollback() error {
	defer t.release()
	return t.Tx.Rollback()
}

func (t *gatedTx) release() {
	if !t.left {
		t.left = true
		t.leave()
	}
}

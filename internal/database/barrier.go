package database

import (
	"context"
	"database/sql"
	"slices"
	"strings"
)

// Barrier waits until the database holds every write acknowledged before
// it was called, for a writer that acknowledges before it writes (the
// journal of release's submissions).
type Barrier func(ctx context.Context) error

// SetBarrier makes every transaction, every statement run with Exec, and
// every other query that names a job or audit table wait for b first.
// nil removes the barrier. A
// context marked WithoutBarrier passes: the writer's own work, and reads
// that may lag.
func (db *DB) SetBarrier(b Barrier) {
	if db.pool == nil {
		return
	}
	if b == nil {
		db.pool.barrier.Store(nil)
		return
	}
	db.pool.barrier.Store(&b)
}

type noBarrier struct{}

// WithoutBarrier marks ctx to pass the barrier (SetBarrier).
func WithoutBarrier(ctx context.Context) context.Context {
	return context.WithValue(ctx, noBarrier{}, true)
}

// waitedTables are the tables whose rows a barrier's writer writes late:
// a query that names none of them does not wait.
var waitedTables = []string{"job", "audit_", "held_bytes"}

// wait runs the barrier for a statement q ("" for a transaction or a
// write, which always wait).
func (p *gatedPool) wait(ctx context.Context, q string) error {
	b := p.barrier.Load()
	if b == nil || ctx.Value(noBarrier{}) != nil {
		return nil
	}
	if q != "" && !slices.ContainsFunc(waitedTables, func(t string) bool { return strings.Contains(q, t) }) {
		return nil
	}
	return (*b)(ctx)
}

// QueryContext runs a query outside a transaction, after the barrier.
func (p *gatedPool) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if err := p.wait(ctx, q); err != nil {
		return nil, err
	}
	return p.DB.QueryContext(ctx, q, args...)
}

// QueryRowContext runs a query outside a transaction, after the barrier.
func (p *gatedPool) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	// The barrier fails only once ctx has ended, and then so does the
	// query, with ctx's error in its Row.
	_ = p.wait(ctx, q)
	return p.DB.QueryRowContext(ctx, q, args...)
}

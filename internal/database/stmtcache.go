package database

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"gorm.io/gorm"
)

// The SQLite driver parses a statement's text anew at every execution
// unless the statement was prepared; on the committer's path that parse
// was an eighth of the server's time (docs/PIPELINE.md). gorm's
// PrepareStmt does not help inside a transaction: it prepares on the
// transaction, which closes the statement at its end. stmtConn keeps the
// statements of one pinned connection prepared across its transactions.

// maxCachedStmts bounds the statements kept between transactions. Texts
// differ only by their number of rows per INSERT, so a batch size of up
// to 64 gives a few hundred at most; past the bound the cache starts
// afresh at the next transaction.
const maxCachedStmts = 256

// stmtConn is a gorm.ConnPool over one connection whose transactions run
// each statement through a cache of prepared statements.
type stmtConn struct {
	*sql.Conn
	gate writeGate

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func newStmtConn(conn *sql.Conn, gate writeGate) *stmtConn {
	return &stmtConn{Conn: conn, gate: gate, stmts: make(map[string]*sql.Stmt)}
}

// BeginTx begins a transaction on the connection (gorm.ConnPoolBeginner).
// A full cache starts afresh here, between transactions, never under a
// statement of one whose rows are still being read.
func (c *stmtConn) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	c.mu.Lock()
	if len(c.stmts) >= maxCachedStmts {
		c.closeStmtsLocked()
	}
	c.mu.Unlock()
	leave, err := c.gate.enter(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := c.Conn.BeginTx(ctx, opts)
	if err != nil {
		leave()
		return nil, err
	}
	return &stmtTx{gatedTx: gatedTx{Tx: tx, leave: leave}, c: c}, nil
}

// stmt returns q prepared on the connection. The transaction's statements
// run through it directly rather than through Tx.StmtContext, which
// prepares a connection's statement anew in each transaction: SQLite's
// transaction belongs to the connection, so they run in it all the same.
// It is not prepared on the pool, which would need a connection of the
// pool while this one holds the write lock that the others wait for.
func (c *stmtConn) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[q]; ok {
		return st, nil
	}
	st, err := c.Conn.PrepareContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	c.stmts[q] = st
	return st, nil
}

func (c *stmtConn) closeStmtsLocked() {
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
}

// Close closes the cached statements and the connection.
func (c *stmtConn) Close() error {
	c.mu.Lock()
	c.closeStmtsLocked()
	c.mu.Unlock()
	return c.Conn.Close()
}

// stmtTx is a transaction of a stmtConn: every statement runs prepared.
// The statements run on the connection, not through sql.Tx, so stmtTx
// keeps sql.Tx's rule itself: nothing runs once the transaction ended.
type stmtTx struct {
	gatedTx // holds the write gate; ended once committed or rolled back
	c       *stmtConn
}

// prepared returns q prepared, or sql.ErrTxDone once t ended.
func (t *stmtTx) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	if t.left {
		return nil, sql.ErrTxDone
	}
	return t.c.stmt(ctx, q)
}

func (t *stmtTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := t.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (t *stmtTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := t.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (t *stmtTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	st, err := t.prepared(ctx, q)
	if err != nil {
		// A Row carries no error of its own making: let the transaction
		// prepare it and report why.
		return t.Tx.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

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

// maxCachedStmts bounds the statements kept. Texts differ only by their
// number of rows per INSERT, so a batch size of up to 64 gives a few
// hundred at most; past the bound the cache starts afresh.
const maxCachedStmts = 256

// stmtConn is a gorm.ConnPool over one connection whose transactions run
// each statement through a cache of prepared statements.
type stmtConn struct {
	*sql.Conn
	db *sql.DB

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func newStmtConn(db *sql.DB, conn *sql.Conn) *stmtConn {
	return &stmtConn{Conn: conn, db: db, stmts: make(map[string]*sql.Stmt)}
}

// BeginTx begins a transaction on the connection (gorm.ConnPoolBeginner).
func (c *stmtConn) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	tx, err := c.Conn.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &stmtTx{Tx: tx, c: c}, nil
}

// stmt returns q prepared. It is prepared on the pool, not on the
// connection: database/sql reuses a pool's statement in every transaction
// of a connection it has once been prepared on, but prepares a
// connection's own statement anew in each.
func (c *stmtConn) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[q]; ok {
		return st, nil
	}
	if len(c.stmts) >= maxCachedStmts {
		c.closeStmtsLocked()
	}
	st, err := c.db.PrepareContext(ctx, q)
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
type stmtTx struct {
	*sql.Tx
	c *stmtConn
}

func (t *stmtTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := t.c.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return t.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
}

func (t *stmtTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := t.c.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return t.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
}

func (t *stmtTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	st, err := t.c.stmt(ctx, q)
	if err != nil {
		// A Row carries no error of its own making: let the transaction
		// prepare it and report why.
		return t.Tx.QueryRowContext(ctx, q, args...)
	}
	return t.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
}

package database

import (
	"context"
	"database/sql"
	"errors"
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
	// begin, commit and rollback are the transactions' own statements,
	// kept apart from the cache's texts.
	begin, commit, rollback *sql.Stmt
	// ended is a database/sql transaction that has ended: the Row of its
	// QueryRowContext carries sql.ErrTxDone, as no Row made here can.
	ended *sql.Tx
	// copier, when set, copies the log beside the commits: each commit
	// that leaves the copy to it wakes it (checkpointMode).
	copier *walCopier
	// inline is whether the connection's commits copy the log
	// themselves (checkpointMode): at first SQLite's own setting.
	inline bool
}

func newStmtConn(ctx context.Context, conn *sql.Conn, gate writeGate) (*stmtConn, error) {
	c := &stmtConn{Conn: conn, gate: gate, stmts: make(map[string]*sql.Stmt), inline: true}
	var err error
	// IMMEDIATE, as the pool's _txlock asks: the write lock is taken at
	// the start, never in the middle of a transaction that has read.
	for q, st := range map[string]**sql.Stmt{"BEGIN IMMEDIATE": &c.begin, "COMMIT": &c.commit, "ROLLBACK": &c.rollback} {
		if *st, err = conn.PrepareContext(ctx, q); err != nil {
			c.closeStmts()
			return nil, fmt.Errorf("prepare: %w", err)
		}
	}
	// Read-only: a plain deferred BEGIN, which takes no lock outside the
	// write gate.
	if c.ended, err = conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}); err == nil {
		err = c.ended.Rollback()
	}
	if err != nil {
		c.closeStmts()
		return nil, err
	}
	return c, nil
}

// BeginTx begins a transaction on the connection (gorm.ConnPoolBeginner).
// A full cache starts afresh here, between transactions, never under a
// statement of one whose rows are still being read.
//
// The transaction is SQLite's own BEGIN IMMEDIATE, COMMIT and ROLLBACK
// run on the connection, not a database/sql Tx: a Tx starts a goroutine
// that waits for its end, and its commit wakes that goroutine, a thread
// woken on the other core and put back to sleep for every batch
// (docs/BENCHMARKS.md). The connection is this committer's alone, and
// its statements already ran outside the Tx (stmtTx).
func (c *stmtConn) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	if opts != nil && (opts.ReadOnly || opts.Isolation != sql.LevelDefault) {
		return nil, errors.New("database: the committer's transactions are SQLite's default ones")
	}
	c.mu.Lock()
	if len(c.stmts) >= maxCachedStmts {
		c.closeStmtsLocked()
	}
	c.mu.Unlock()
	if err := c.checkpointMode(ctx); err != nil {
		return nil, err
	}
	leave, err := c.gate.enter(ctx)
	if err != nil {
		return nil, err
	}
	// The gate has heeded ctx; the BEGIN does not. The driver reports a
	// context that ended just after a statement ran as that statement's
	// failure, and a BEGIN that took effect but was called a failure
	// would leave the connection in a transaction nobody ends. The busy
	// timeout bounds its wait.
	if _, err := c.begin.ExecContext(context.WithoutCancel(ctx)); err != nil {
		c.rollbackStale()
		leave()
		return nil, err
	}
	return &stmtTx{c: c, leave: leave}, nil
}

// rollbackStale ends a transaction that may have been left open on the
// connection after a failure: this connection's transactions are one
// goroutine's, so none should be open. With none open SQLite answers
// that there is nothing to roll back, which says nothing more.
func (c *stmtConn) rollbackStale() {
	_, _ = c.rollback.ExecContext(context.Background())
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

// closeStmts closes every statement of the connection.
func (c *stmtConn) closeStmts() {
	c.mu.Lock()
	c.closeStmtsLocked()
	c.mu.Unlock()
	for _, st := range []*sql.Stmt{c.begin, c.commit, c.rollback} {
		if st != nil {
			st.Close()
		}
	}
}

// Close closes the statements and the connection.
func (c *stmtConn) Close() error {
	c.closeStmts()
	return c.Conn.Close()
}

// stmtTx is a transaction of a stmtConn: every statement runs prepared,
// on the connection. stmtTx keeps sql.Tx's rule itself: nothing runs once
// the transaction ended.
type stmtTx struct {
	c     *stmtConn
	leave func() // gives the write gate back
	left  bool   // the transaction ended and gave the gate back
}

// Commit commits the transaction and gives the gate back. A COMMIT that
// fails (a deferred constraint, a busy database) leaves SQLite's
// transaction open on the connection: it is rolled back, so that the
// next BEGIN finds none and nothing of this one is kept.
func (t *stmtTx) Commit() error {
	if t.left {
		return sql.ErrTxDone
	}
	t.left = true
	defer t.leave()
	// The end runs whatever became of the context the work ran under.
	ctx := context.Background()
	_, err := t.c.commit.ExecContext(ctx)
	if err != nil {
		t.c.rollbackStale()
		return err
	}
	if t.c.copier != nil && !t.c.inline {
		t.c.copier.wake()
	}
	return nil
}

// Rollback rolls the transaction back and gives the gate back.
func (t *stmtTx) Rollback() error {
	if t.left {
		return sql.ErrTxDone
	}
	t.left = true
	defer t.leave()
	_, err := t.c.rollback.ExecContext(context.Background())
	return err
}

// prepared returns q prepared, or sql.ErrTxDone once t ended.
func (t *stmtTx) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	if t.left {
		return nil, sql.ErrTxDone
	}
	return t.c.stmt(ctx, q)
}

// PrepareContext prepares q for the caller, who closes it
// (gorm.ConnPool).
func (t *stmtTx) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	if t.left {
		return nil, sql.ErrTxDone
	}
	return t.c.Conn.PrepareContext(ctx, q)
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
		// A Row carries no error of its own making: let the connection
		// prepare it and report why (or that the transaction ended).
		if t.left {
			return t.c.ended.QueryRowContext(ctx, q, args...)
		}
		return t.c.Conn.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

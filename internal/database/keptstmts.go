package database

import (
	"context"
	"database/sql/driver"
	"errors"
	"reflect"
)

// The SQLite driver prepares a statement's text anew at every execution
// and throws it away after (modernc.org/sqlite: conn.exec), and database/sql
// cannot keep a statement prepared across the pool's transactions: a Stmt
// of the pool is prepared on some connection, and Tx.StmtContext prepares it
// again on the transaction's. A release's claim spent two thirds of its
// audit append in sqlite3_prepare_v2 (docs/PERFORMANCE.md). keptConn keeps,
// on each connection of the pool, the statements it ran last prepared, so
// that every caller, in a transaction or not, finds them ready.

// keptStmts bounds the statements a connection keeps: each holds SQLite's
// compiled program (a few KiB) and the pool has four connections, under the
// server's memory target. The least recently used one goes first. The
// committer's connection keeps more of its own (stmtConn): its texts vary
// with the number of rows a batch inserts.
const keptStmts = 32

// keptConnector opens the connections of a pool as keptConns.
type keptConnector struct{ driver.Connector }

// Connect opens a connection (driver.Connector).
func (k keptConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := k.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return newKeptConn(c)
}

// conn is what keptConn needs of the driver's connection.
type conn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

func newKeptConn(c driver.Conn) (*keptConn, error) {
	dc, ok := c.(conn)
	if !ok {
		c.Close()
		return nil, errors.New("database: the SQLite driver's connection does not implement what keptConn forwards")
	}
	return &keptConn{conn: dc, stmts: make(map[string]*keptStmt)}, nil
}

// keptConn is a connection that keeps its last statements prepared.
// database/sql uses a connection from one goroutine at a time, so it has
// no lock of its own.
type keptConn struct {
	conn
	stmts map[string]*keptStmt
	tick  uint64
}

// keptStmt is a statement a connection keeps. busy is set while rows it
// returned are open: a query of the same text meanwhile (in a loop over
// them) runs unkept.
type keptStmt struct {
	stmt interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	}
	used uint64
	busy bool
}

// kept returns q prepared on the connection, preparing it if need be, or
// nil when q is to run the driver's way: its statement is busy, or the
// driver's statement cannot run with a context.
func (c *keptConn) kept(ctx context.Context, q string) (*keptStmt, error) {
	c.tick++
	if s, ok := c.stmts[q]; ok {
		if s.busy {
			return nil, nil
		}
		s.used = c.tick
		return s, nil
	}
	ds, err := c.conn.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	st, ok := ds.(interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	})
	if !ok {
		ds.Close()
		return nil, nil
	}
	if len(c.stmts) >= keptStmts {
		c.evict()
	}
	s := &keptStmt{stmt: st, used: c.tick}
	c.stmts[q] = s
	return s, nil
}

// evict closes the least recently used statement that is not busy.
func (c *keptConn) evict() {
	var oldest string
	var at uint64
	for q, s := range c.stmts {
		if !s.busy && (oldest == "" || s.used < at) {
			oldest, at = q, s.used
		}
	}
	if oldest != "" {
		c.stmts[oldest].stmt.Close()
		delete(c.stmts, oldest)
	}
}

// ExecContext runs q prepared (driver.ExecerContext).
func (c *keptConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.kept(ctx, q)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.conn.ExecContext(ctx, q, args)
	}
	return s.stmt.ExecContext(ctx, args)
}

// QueryContext runs q prepared (driver.QueryerContext); its statement is
// busy until the rows are closed.
func (c *keptConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.kept(ctx, q)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.conn.QueryContext(ctx, q, args)
	}
	rows, err := s.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &keptRows{Rows: rows, s: s}, nil
}

// Close closes the kept statements, then the connection.
func (c *keptConn) Close() error {
	var errs []error
	for q, s := range c.stmts {
		errs = append(errs, s.stmt.Close())
		delete(c.stmts, q)
	}
	return errors.Join(append(errs, c.conn.Close())...)
}

// keptRows frees its statement for the next query once closed.
type keptRows struct {
	driver.Rows
	s *keptStmt
}

func (r *keptRows) Close() error {
	err := r.Rows.Close()
	r.s.busy = false
	return err
}

// The column types are the driver's rows' own: database/sql asks for them
// through these interfaces, and gorm reads them.

func (r *keptRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *keptRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *keptRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *keptRows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *keptRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

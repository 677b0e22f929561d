package database

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/fsync"
)

// GroupCommitter writes transactions whose durability may be settled
// later, for a writer that commits batch after batch and answers each
// batch's clients only once it is durable (release's committer). Its
// transactions run on DB; Sync makes every one committed before it
// durable.
//
// On SQLite a commit with synchronous=FULL fsyncs the write-ahead log
// while it holds the only write lock, so the next batch waits for the
// disk. A GroupCommitter's connection commits with synchronous=NORMAL
// instead (SQLite still syncs the log before every checkpoint, so nothing
// committed is lost to one), and Sync fsyncs the log: the next batch is
// written while the previous one's fsync runs, and one fsync covers every
// batch committed before it. A crash before Sync leaves each transaction
// whole or absent, never in part. Every other connection keeps
// synchronous=FULL.
//
// On PostgreSQL each commit is durable when it returns: DB is the pool
// and Sync does nothing.
type GroupCommitter struct {
	// DB runs the transactions: on SQLite pinned to one connection.
	DB   *gorm.DB
	conn *stmtConn
	wal  *os.File
	// failed holds the error of the first fsync that failed. After one,
	// the kernel may have dropped the unwritten pages and report later
	// fsyncs as successful, so no later commit can be called durable.
	failed atomic.Pointer[error]
	// copier copies the log into the database file beside the commits
	// (walcopy.go); nil on PostgreSQL.
	copier *walCopier
}

// NewGroupCommitter opens a GroupCommitter on db. Close it when done.
func (db *DB) NewGroupCommitter(ctx context.Context) (*GroupCommitter, error) {
	if db.Dialect != SQLite {
		return &GroupCommitter{DB: db.DB}, nil
	}
	sqlDB, err := db.DB.DB()
	if err != nil {
		return nil, fmt.Errorf("database: group committer: %w", err)
	}
	sc, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("database: group committer: %w", err)
	}
	conn, err := newStmtConn(ctx, sc, db.gate)
	if err != nil {
		sc.Close()
		return nil, fmt.Errorf("database: group committer: %w", err)
	}
	g := &GroupCommitter{conn: conn}
	// Held open for the committer's life, this connection also keeps the
	// log file from being deleted and created anew (SQLite deletes it
	// when its last connection closes), so the file Sync holds stays the
	// log. synchronous=NORMAL is a setting of this connection only.
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
		g.Close()
		return nil, fmt.Errorf("database: group committer: %w", err)
	}
	g.copier = newWALCopier(sqlDB, db.gate, db.log)
	conn.copier = g.copier
	if err := conn.checkpointMode(ctx); err != nil {
		g.Close()
		return nil, err
	}
	// A read opens the log, creating the file if no connection had yet.
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
		g.Close()
		return nil, fmt.Errorf("database: group committer: %w", err)
	}
	if g.wal, err = os.OpenFile(db.path+"-wal", os.O_RDWR, 0); err != nil {
		g.Close()
		return nil, fmt.Errorf("database: group committer: %w", err)
	}
	pinned := db.DB.Session(&gorm.Session{NewDB: true, Context: ctx})
	pinned.Statement.ConnPool = conn
	g.DB = pinned
	return g, nil
}

// CopyLogInline marks ctx so that a transaction begun with it on a
// GroupCommitter's connection copies the write-ahead log into the database
// file itself when its commit takes the log past 1,000 frames, before the
// commit returns (SQLite's automatic checkpoint). Without the mark a
// commit copies nothing and the copier beside the commits does
// (walcopy.go), so that no client waiting for the commit waits for the
// copy. A writer that no client waits for (the journal's applier) marks
// its transactions: at one client the copier's copies, made while the log
// grows, wrote more and took some 5 % of the rate. Elsewhere, and on
// PostgreSQL, the mark does nothing.
func CopyLogInline(ctx context.Context) context.Context {
	return context.WithValue(ctx, copyInline{}, true)
}

type copyInline struct{}

// checkpointMode sets who copies the log after the transactions c begins
// next (CopyLogInline): a connection setting, changed only between
// transactions, where BeginTx calls it, so that it holds for the whole of
// the one that follows.
func (c *stmtConn) checkpointMode(ctx context.Context) error {
	inline := ctx.Value(copyInline{}) != nil
	if c.copier == nil || inline == c.inline {
		return nil
	}
	frames := 0
	if inline {
		frames = defaultAutocheckpoint
	}
	if _, err := c.Conn.ExecContext(context.Background(), fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", frames)); err != nil {
		return fmt.Errorf("database: group committer: checkpoint mode: %w", err)
	}
	c.inline = inline
	return nil
}

// Sync makes every transaction committed through g so far durable.
// Once an fsync has failed, Sync fails for good (see Err).
func (g *GroupCommitter) Sync() error {
	if err := g.Err(); err != nil {
		return err
	}
	if g.wal == nil {
		return nil
	}
	if err := fsync.Data(g.wal); err != nil {
		err = fmt.Errorf("database: sync the write-ahead log (nothing committed from now on can be acknowledged; restart printgate): %w", err)
		g.failed.CompareAndSwap(nil, &err)
		return *g.failed.Load()
	}
	return nil
}

// Err returns the error of the fsync that failed, if one did: from then
// on no transaction of g can be made durable, whatever later fsyncs say,
// and its writer must stop.
func (g *GroupCommitter) Err() error {
	if p := g.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// Close gives the connection back; transactions committed since the last
// Sync are synced first.
func (g *GroupCommitter) Close() error {
	var errs []error
	if g.wal != nil {
		errs = append(errs, g.Sync(), g.wal.Close())
	}
	if g.copier != nil {
		g.copier.close()
	}
	if g.conn != nil {
		// SQLite keeps the setting inside a transaction: one left open
		// ends first.
		g.conn.rollbackStale()
		// The pool's other connections expect synchronous=FULL and
		// checkpoints of their own.
		_, err := g.conn.ExecContext(context.Background(), "PRAGMA synchronous = FULL")
		_, aerr := g.conn.ExecContext(context.Background(), fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", defaultAutocheckpoint))
		errs = append(errs, err, aerr, g.conn.Close())
	}
	return errors.Join(errs...)
}

package database

import (
	"context"
	"database/sql"
	"os"
)

// SetWAL replaces the file g syncs, for tests that make an fsync fail.
func (g *GroupCommitter) SetWAL(f *os.File) { g.wal = f }

// CachedStatements reports how many prepared statements g's connection
// keeps (0 on PostgreSQL, whose driver keeps its own).
func (g *GroupCommitter) CachedStatements() int {
	if g.conn == nil {
		return 0
	}
	g.conn.mu.Lock()
	defer g.conn.mu.Unlock()
	return len(g.conn.stmts)
}

// MaxCachedStmts is maxCachedStmts, for the test of the bound.
const MaxCachedStmts = maxCachedStmts

// GateHeld reports whether a transaction of db holds its write gate
// (SQLite).
func (db *DB) GateHeld() bool { return len(db.gate) == 1 }

// KeptStatements reports how many statements the connection c keeps
// prepared (keptConn), or -1 when c is not a keptConn.
func KeptStatements(ctx context.Context, c *sql.Conn) (n int, err error) {
	err = c.Raw(func(dc any) error {
		n = -1
		if kc, ok := dc.(*keptConn); ok {
			n = len(kc.stmts)
		}
		return nil
	})
	return n, err
}

// KeptStmts is keptStmts, for the test of the bound.
const KeptStmts = keptStmts

// StopCopier stops g's copier of the log (walcopy.go), as if it had
// fallen behind for good.
func (g *GroupCommitter) StopCopier() { g.copier.close() }

// SetRestartFrames lowers the length of the log past which g's copier
// restarts it.
func (g *GroupCommitter) SetRestartFrames(n int64) { g.copier.restartAt.Store(n) }

// CopierRestarts reports how many times g's copier restarted the log.
func (g *GroupCommitter) CopierRestarts() int64 { return g.copier.restarts.Load() }

// RestartLog has g's copier restart the log now, as it does past its
// bound.
func (g *GroupCommitter) RestartLog(ctx context.Context) error {
	conn, err := g.copier.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return g.copier.restart(ctx, conn)
}

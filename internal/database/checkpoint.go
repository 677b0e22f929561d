package database

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrCheckpointBusy says readers kept SQLite from emptying its write-ahead
// log; the caller tries again later.
var ErrCheckpointBusy = errors.New("database: checkpoint blocked by readers")

// Checkpoint copies SQLite's write-ahead log into the database file and
// truncates the log to zero bytes, so that content deleted since (with
// secure_delete, zeroed in the database file) survives in no file. Of the
// checkpoint modes only TRUNCATE does that: PASSIVE, FULL and RESTART
// leave the old frames in printgate.db-wal until later writes overwrite
// them. On PostgreSQL it does nothing.
//
// A TRUNCATE checkpoint holds the writer lock while it waits for readers,
// so it runs on a connection of its own that waits at most
// checkpointWait: a long reader (an export) then costs a retry, not a
// stall of every submission.
func (db *DB) Checkpoint(ctx context.Context) (err error) {
	if db.Dialect != SQLite {
		return nil
	}
	sqlDB, err := db.DB.DB()
	if err != nil {
		return fmt.Errorf("database: checkpoint: %w", err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("database: checkpoint: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", checkpointWait.Milliseconds())); err != nil {
		return fmt.Errorf("database: checkpoint: %w", err)
	}
	defer func() {
		// The connection goes back to the pool: give it back its wait.
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA busy_timeout = %d", sqliteBusyTimeout)); rerr != nil && err == nil {
			err = fmt.Errorf("database: checkpoint: %w", rerr)
		}
	}()
	var busy, frames, copied int
	// A PASSIVE checkpoint copies the log while writers go on; the
	// TRUNCATE after it, which writers must wait for, has only the frames
	// written meanwhile left to copy. They wait at the write gate, which
	// lets the next one in as soon as it is done, not at SQLite's lock,
	// whose busy handler sleeps for milliseconds between tries.
	// Should the PASSIVE one fail, the TRUNCATE does all the work.
	_ = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
	leave, err := db.gate.enter(ctx)
	if err != nil {
		return fmt.Errorf("database: checkpoint: %w", err)
	}
	defer leave()
	err = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &copied)
	if err != nil {
		if isBusy(err) {
			return ErrCheckpointBusy
		}
		return fmt.Errorf("database: checkpoint: %w", err)
	}
	if busy != 0 {
		return ErrCheckpointBusy
	}
	return nil
}

// checkpointWait is how long a checkpoint waits for the writer lock and
// for readers before it gives up, to be retried.
const checkpointWait = 200 * time.Millisecond

// isBusy reports whether err is SQLite's "database is locked": a wait
// for the lock that ran out.
func isBusy(err error) bool {
	return strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked")
}

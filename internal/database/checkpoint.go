package database

import (
	"context"
	"errors"
	"fmt"
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
func (db *DB) Checkpoint(ctx context.Context) error {
	if db.Dialect != SQLite {
		return nil
	}
	var busy, frames, copied int
	err := db.WithContext(ctx).Raw("PRAGMA wal_checkpoint(TRUNCATE)").Row().Scan(&busy, &frames, &copied)
	if err != nil {
		return fmt.Errorf("database: checkpoint: %w", err)
	}
	if busy != 0 {
		return ErrCheckpointBusy
	}
	return nil
}

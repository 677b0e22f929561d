package siem

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
)

// Migrate creates the table of forwarding cursors.
func Migrate(ctx context.Context, db *database.DB) error {
	return db.Migrate(ctx, "siem", []database.Migration{{Name: "siem_cursors", Up: createCursors}})
}

func createCursors(tx *gorm.DB, d database.Dialect) error {
	bytes, tm := "BLOB", "DATETIME"
	if d == database.Postgres {
		bytes, tm = "BYTEA", "TIMESTAMPTZ"
	}
	// One row per destination: the last event the collector is known to
	// have read, and its hash, to notice a chain that went back under it.
	return database.Exec(tx, `CREATE TABLE siem_cursors (
		name TEXT PRIMARY KEY,
		seq BIGINT NOT NULL,
		hash `+bytes+`,
		updated_at `+tm+` NOT NULL
	)`)
}

// cursor is where forwarding stands: every event up to seq was read by
// the collector.
type cursor struct {
	seq  int64
	hash []byte
}

// readCursor returns the cursor called name, creating it at 0. It writes
// only when the cursor is missing: on SQLite every write takes the one
// writer's turn that submissions wait for, and this runs at every poll.
func readCursor(ctx context.Context, db *database.DB, name string, now time.Time) (cursor, error) {
	g := db.DB.WithContext(ctx)
	for created := false; ; created = true {
		var c cursor
		err := g.Raw(`SELECT seq, hash FROM siem_cursors WHERE name = ?`, name).Row().Scan(&c.seq, &c.hash)
		switch {
		case err == nil:
			return c, nil
		case !errors.Is(err, sql.ErrNoRows) || created:
			return cursor{}, fmt.Errorf("siem: read cursor %s: %w", name, err)
		}
		if err := g.Exec(`INSERT INTO siem_cursors (name, seq, updated_at) VALUES (?, 0, ?) ON CONFLICT (name) DO NOTHING`,
			name, now.UTC()).Error; err != nil {
			return cursor{}, fmt.Errorf("siem: create cursor %s: %w", name, err)
		}
	}
}

// moveCursor moves the cursor called name from from to to. It moves it
// only from where this forwarder read it, so that two instances
// forwarding from one database never move it back (they only send some
// events twice); it reports whether it moved.
func moveCursor(ctx context.Context, db *database.DB, name string, from, to cursor, now time.Time) (bool, error) {
	res := db.DB.WithContext(ctx).Exec(`UPDATE siem_cursors SET seq = ?, hash = ?, updated_at = ? WHERE name = ? AND seq = ?`,
		to.seq, to.hash, now.UTC(), name, from.seq)
	if res.Error != nil {
		return false, fmt.Errorf("siem: move cursor %s to %d: %w", name, to.seq, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// Cursor returns the last sequence the collector of the cursor called
// name is known to have read (0 when none, or no such cursor).
func Cursor(ctx context.Context, db *database.DB, name string) (int64, error) {
	var seq int64
	err := db.DB.WithContext(ctx).Raw(`SELECT COALESCE(MAX(seq), 0) FROM siem_cursors WHERE name = ?`, name).Row().Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("siem: read cursor %s: %w", name, err)
	}
	return seq, nil
}

package database

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/gorm"
)

// IdentityFile is the file, in a data dir (and in a spool dir configured
// apart from it), naming the database the dir's documents belong to. A
// document is readable only with the key kept in its job's row, so a dir
// used with another database holds documents that database cannot know.
const IdentityFile = "database-id"

// MismatchError says a dir belongs to another database than the one open.
type MismatchError struct {
	Dir string
	// Recorded and RecordedID name the database the dir belongs to.
	Recorded, RecordedID string
	// Current and CurrentID name the database open now.
	Current, CurrentID string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("database: %s belongs to the database %s (id %s), not to %s (id %s)",
		e.Dir, e.Recorded, e.RecordedID, e.Current, e.CurrentID)
}

// ID returns the database's identity: a random text made the first time
// it is asked for and kept in the database itself, so that a copy of the
// database (a backup restored, a replica promoted) keeps it.
func (db *DB) ID(ctx context.Context) (string, error) {
	err := db.Migrate(ctx, "database", []Migration{{Name: "identity", Up: func(tx *gorm.DB, d Dialect) error {
		ts := d.TimeType()
		return Exec(tx, `CREATE TABLE printgate_identity (
			one INTEGER PRIMARY KEY CHECK (one = 1),
			id TEXT NOT NULL,
			created_at `+ts+` NOT NULL
		)`)
	}}})
	if err != nil {
		return "", err
	}
	// Of several instances starting at once on one PostgreSQL, the first
	// insert wins and all read its ID.
	err = db.WithContext(ctx).Exec(`INSERT INTO printgate_identity (one, id, created_at) VALUES (1, ?, ?)
		ON CONFLICT (one) DO NOTHING`, rand.Text(), time.Now().UTC()).Error
	if err != nil {
		return "", fmt.Errorf("database: identity: %w", err)
	}
	var id string
	if err := db.WithContext(ctx).Raw(`SELECT id FROM printgate_identity WHERE one = 1`).Scan(&id).Error; err != nil {
		return "", fmt.Errorf("database: identity: %w", err)
	}
	return id, nil
}

// Bind checks that dir belongs to db, recording that it does when dir
// belongs to no database yet; fresh reports that it did so now. It
// returns a *MismatchError when dir belongs to another database, and
// changes nothing then.
//
// A dir from before identity files existed belongs to the embedded
// database when it holds a non-empty printgate.db: such a dir is not
// bound to PostgreSQL.
func (db *DB) Bind(ctx context.Context, dir string) (fresh bool, err error) {
	id, err := db.ID(ctx)
	if err != nil {
		return false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("database: %w", err)
	}
	path := filepath.Join(dir, IdentityFile)
	rec, err := readIdentity(path)
	if errors.Is(err, fs.ErrNotExist) {
		if db.Dialect == Postgres {
			if fi, err := os.Stat(filepath.Join(dir, SQLiteFile)); err == nil && fi.Size() > 0 {
				return false, &MismatchError{Dir: dir, Recorded: "sqlite:" + filepath.Join(dir, SQLiteFile),
					RecordedID: "not recorded", Current: db.where, CurrentID: id}
			}
		}
		werr := writeIdentity(path, identity{ID: id, Database: db.where})
		if werr != nil && !errors.Is(werr, fs.ErrExist) {
			return false, fmt.Errorf("database: record identity in %s: %w", dir, werr)
		}
		fresh = werr == nil
		// Another instance may have bound the dir meanwhile: what is on
		// disk decides.
		rec, err = readIdentity(path)
	}
	if err != nil {
		return false, err
	}
	if rec.ID != id {
		return false, &MismatchError{Dir: dir, Recorded: rec.Database, RecordedID: rec.ID, Current: db.where, CurrentID: id}
	}
	return fresh, nil
}

// identity is what an IdentityFile holds.
type identity struct {
	ID       string
	Database string
}

const identityHeader = "# printgate: the documents in this directory belong to this database (docs/DATA.md).\n"

func readIdentity(path string) (identity, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return identity{}, fmt.Errorf("database: read %s: %w", path, err)
	}
	var rec identity
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		switch {
		case !ok:
		case k == "id":
			rec.ID = strings.TrimSpace(v)
		case k == "database":
			rec.Database = strings.TrimSpace(v)
		}
	}
	if rec.ID == "" {
		return identity{}, fmt.Errorf("database: %s names no database id; restore it or remove it if this directory holds no documents", path)
	}
	return rec, nil
}

// writeIdentity creates path if it does not exist: written under a
// temporary name, then linked into place, so that no reader ever sees a
// partial file and of two writers one wins.
func writeIdentity(path string, rec identity) error {
	tmp := path + "." + rand.Text()[:8] + ".tmp"
	body := identityHeader + "id=" + rec.ID + "\ndatabase=" + rec.Database + "\n"
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		return err
	}
	defer os.Remove(tmp)
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return err
	}
	return os.Link(tmp, path)
}

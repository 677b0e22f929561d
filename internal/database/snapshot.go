package database

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strings"

	"gorm.io/gorm"
)

// SnapshotSQLite writes a consistent copy of the embedded database to the
// new file path with VACUUM INTO, while other connections (a running
// server) go on reading and writing. The copy is built afresh: it holds
// no free pages, so nothing deleted before the snapshot is in it.
func (db *DB) SnapshotSQLite(ctx context.Context, path string) error {
	if db.Dialect != SQLite {
		return fmt.Errorf("database: snapshot: %s is not SQLite", db)
	}
	if err := db.WithContext(ctx).Exec("VACUUM INTO ?", path).Error; err != nil {
		return fmt.Errorf("database: snapshot: %w", err)
	}
	return nil
}

// Snapshot is a read-only PostgreSQL transaction whose snapshot it
// exports, so that pg_dump (DumpPostgres) and the transaction's own
// queries see the same database.
type Snapshot struct {
	// Tx reads the snapshot.
	Tx *gorm.DB
	// ID names the snapshot for pg_dump --snapshot.
	ID string
}

// BeginSnapshot opens a Snapshot; End it once pg_dump has finished.
func (db *DB) BeginSnapshot(ctx context.Context) (*Snapshot, error) {
	if db.Dialect != Postgres {
		return nil, fmt.Errorf("database: snapshot: %s is not PostgreSQL", db)
	}
	tx := db.WithContext(ctx).Begin(&sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if tx.Error != nil {
		return nil, fmt.Errorf("database: snapshot: %w", tx.Error)
	}
	var id string
	if err := tx.Raw("SELECT pg_export_snapshot()").Scan(&id).Error; err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("database: snapshot: %w", err)
	}
	return &Snapshot{Tx: tx, ID: id}, nil
}

// End ends the snapshot's transaction.
func (s *Snapshot) End() { s.Tx.Rollback() }

// DumpPostgres writes pg_dump's custom-format archive of the database at
// rawURL, as of the exported snapshot, to w. The password travels in
// pg_dump's environment, never on its command line.
func DumpPostgres(ctx context.Context, rawURL, snapshot string, w io.Writer) error {
	args := []string{"--format=custom", "--no-owner", "--no-privileges"}
	if snapshot != "" {
		args = append(args, "--snapshot="+snapshot)
	}
	if err := runPG(ctx, "pg_dump", rawURL, args, nil, w); err != nil {
		return fmt.Errorf("database: dump: %w", err)
	}
	return nil
}

// RestorePostgres loads a DumpPostgres archive from r into the database at
// rawURL, in one transaction: a failure leaves the database as it was.
func RestorePostgres(ctx context.Context, rawURL string, r io.Reader) error {
	args := []string{"--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"}
	if err := runPG(ctx, "pg_restore", rawURL, args, r, io.Discard); err != nil {
		return fmt.Errorf("database: restore: %w", err)
	}
	return nil
}

// Empty reports whether the database holds no table of its own (in the
// connection's current schema on PostgreSQL).
func (db *DB) Empty(ctx context.Context) (bool, error) {
	q := "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
	if db.Dialect == Postgres {
		q = "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
	}
	var n int64
	if err := db.WithContext(ctx).Raw(q).Scan(&n).Error; err != nil {
		return false, fmt.Errorf("database: %w", err)
	}
	return n == 0, nil
}

// runPG runs a PostgreSQL client program against rawURL, its password
// (from the URL's user part or its password parameter) moved into
// PGPASSWORD.
func runPG(ctx context.Context, program, rawURL string, args []string, stdin io.Reader, stdout io.Writer) error {
	path, err := exec.LookPath(program)
	if err != nil {
		return fmt.Errorf("%s (Debian package postgresql-client): %w", program, err)
	}
	dbname, env, err := pgConnection(rawURL)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, path, append(args, "--dbname="+dbname)...)
	cmd.Env, cmd.Stdin, cmd.Stdout = append(os.Environ(), env...), stdin, stdout
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 8 << 10}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", program, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// pgConnection splits rawURL into the URL without its password, for the
// command line, and the environment that carries the password.
func pgConnection(rawURL string) (dbname string, env []string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", nil, errors.New("the database URL does not parse")
	}
	if pw, ok := u.User.Password(); ok {
		env = append(env, "PGPASSWORD="+pw)
		u.User = url.User(u.User.Username())
	}
	if q := u.Query(); q.Has("password") {
		env = append(env, "PGPASSWORD="+q.Get("password"))
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	return u.String(), env, nil
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

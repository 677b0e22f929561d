// Package database opens printgate's database, embedded SQLite or
// PostgreSQL, and runs the versioned migrations each package owns.
package database

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/libtnb/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	msqlite "modernc.org/sqlite"
)

// Dialect names the SQL flavour of a database.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// TimeType is the column type of a time in d's DDL: PostgreSQL's with
// its zone, SQLite's TIMESTAMP (stored as UTC text by the driver).
func (d Dialect) TimeType() string {
	if d == Postgres {
		return "TIMESTAMPTZ"
	}
	return "TIMESTAMP"
}

// DB is an open database.
type DB struct {
	*gorm.DB
	Dialect Dialect
	// where names the database for people: the SQLite file, or the
	// PostgreSQL DSN without its password.
	where string
	// path is the SQLite file; empty on PostgreSQL.
	path string
	// gate orders this process's writers on SQLite (writegate.go).
	gate writeGate
	// pool is the pool, where the barrier applies.
	pool *gatedPool
	// log takes what goes wrong out of the callers' sight (walCopier).
	log *slog.Logger
}

// Open connects to rawURL: "" opens (creating) printgate.db in dataDir,
// "postgres://..." connects to PostgreSQL.
func Open(ctx context.Context, rawURL, dataDir string, log *slog.Logger) (*DB, error) {
	cfg := &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		TranslateError:         true,
	}
	var (
		dialect Dialect
		gdb     *gorm.DB
		err     error
		where   string
		path    string
	)
	switch {
	case rawURL == "":
		dialect = SQLite
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("database: create data dir: %w", err)
		}
		path = filepath.Join(dataDir, SQLiteFile)
		where = "sqlite:" + path
		dsn := sqliteDSN(path)
		var base driver.Connector
		if base, err = msqlite.NewConnector(dsn); err == nil {
			gdb, err = gorm.Open(sqlite.New(sqlite.Config{DSN: dsn, Conn: sql.OpenDB(keptConnector{base})}), cfg)
		}
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		dialect = Postgres
		where = RedactURL(rawURL)
		gdb, err = gorm.Open(postgres.Open(rawURL), cfg)
	default:
		return nil, errors.New("database: url must be empty (embedded SQLite) or postgres://...")
	}
	if err != nil {
		return nil, fmt.Errorf("database: open %s: %w", dialect, redactErr(err, rawURL))
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	var gate writeGate
	var pool *gatedPool
	if dialect == SQLite {
		// One writer at a time is all SQLite allows; a small pool of
		// readers keeps Get-Jobs from queueing behind uploads.
		sqlDB.SetMaxOpenConns(4)
		gate = newWriteGate()
		pool = &gatedPool{DB: sqlDB, gate: gate}
		gdb.ConnPool, gdb.Statement.ConnPool = pool, pool
	} else {
		// Connections are kept between bursts (database/sql keeps 2 by
		// default): a burst of submissions otherwise closes what it opened
		// and the next one waits for PostgreSQL to start backends again.
		sqlDB.SetMaxOpenConns(pgConns)
		sqlDB.SetMaxIdleConns(pgConns)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		// No gate: PostgreSQL takes writers side by side. The pool is
		// wrapped for the barrier alone (SetBarrier).
		pool = &gatedPool{DB: sqlDB}
		gdb.ConnPool, gdb.Statement.ConnPool = pool, pool
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("database: connect %s: %w", dialect, redactErr(err, rawURL))
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &DB{DB: gdb, Dialect: dialect, where: where, path: path, gate: gate, pool: pool, log: log}, nil
}

// pgConns is the most connections printgate opens to PostgreSQL.
const pgConns = 16

// Warm opens up to n of the pool's connections to PostgreSQL ahead of
// need, so that the first burst of submissions after start-up finds
// them open instead of waiting, each, for a backend to start on a machine
// the burst keeps busy (docs/BENCHMARKS.md). It does nothing on SQLite,
// whose connections are in-process. Unless prime is nil, it runs prime
// on each of them, one connection at a time, before they go back to the
// pool, and returns prime's first error.
func (db *DB) Warm(ctx context.Context, n int, prime func(context.Context, *sql.Conn) error) error {
	if db.Dialect != Postgres {
		return nil
	}
	sqlDB, err := db.DB.DB()
	if err != nil {
		return fmt.Errorf("database: warm: %w", err)
	}
	conns := make([]*sql.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close() // back to the pool, which keeps it
		}
	}()
	for range min(n, pgConns) {
		c, err := sqlDB.Conn(ctx)
		if err == nil {
			err = c.PingContext(ctx)
			conns = append(conns, c)
		}
		if err != nil {
			return fmt.Errorf("database: warm: %w", err)
		}
	}
	if prime == nil {
		return nil
	}
	for _, c := range conns {
		if err := prime(ctx, c); err != nil {
			return fmt.Errorf("database: warm: %w", err)
		}
	}
	return nil
}

// SQLiteFile is the embedded database's file in the data dir; SQLite
// keeps SQLiteFile+"-wal" and SQLiteFile+"-shm" beside it.
const SQLiteFile = "printgate.db"

// String names the database for people and logs: "sqlite:" and the file,
// or the PostgreSQL URL without its password.
func (db *DB) String() string { return db.where }

// RedactURL returns a database URL without its secrets: the password,
// and every parameter pgx reads as a secret (pgSecretParams).
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	for _, k := range pgSecretParams {
		if q.Has(k) {
			q.Set(k, "xxxxx")
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}

// URLHasSecret reports whether a database URL carries a secret: a
// password, or a parameter pgx reads as a secret (pgSecretParams).
func URLHasSecret(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	if _, ok := u.User.Password(); ok {
		return true
	}
	q := u.Query()
	for _, k := range pgSecretParams {
		if q.Has(k) {
			return true
		}
	}
	return false
}

// sqliteBusyTimeout is how many milliseconds a statement waits for a lock
// before SQLITE_BUSY.
const sqliteBusyTimeout = 10000

// sqliteDSN asks for WAL with full fsync (an acknowledged job must survive
// a power cut), a busy timeout instead of instant SQLITE_BUSY, and
// immediate transactions so writers queue instead of deadlocking on the
// read-to-write upgrade. secure_delete makes SQLite overwrite deleted
// content with zeros, so a destroyed document key leaves no bytes in the
// database file (Checkpoint removes them from the WAL). temp_store keeps
// statement journals in memory: a batch's multi-row INSERT of documents
// outgrew the in-memory journal and wrote a temporary file, nine writes
// per job. cache_size bounds each connection's page cache at 512 KiB
// (SQLite's default is 2 MiB): four connections filled theirs with 10,000
// held jobs, which took the server past its memory target (issue 12), and
// a page not cached is read from the kernel's page cache. The driver runs
// every _pragma on every new connection.
func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "secure_delete(ON)")
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", "cache_size(-512)")
	q.Add("_txlock", "immediate")
	// What the gorm dialector adds to a DSN it opens itself: times kept as
	// SQLite's text, and read back into time.Time.
	q.Add("_texttotime", "1")
	q.Add("_inttotime", "1")
	q.Add("_time_format", "sqlite")
	return "file:" + path + "?" + q.Encode()
}

// redactErr keeps a database URL's secrets out of error text: pgx quotes
// a URL it cannot parse with its parameters (pgSecretParams) as given.
func redactErr(err error, rawURL string) error {
	u, perr := url.Parse(rawURL)
	if perr != nil {
		return err
	}
	var secrets []string
	if pw, ok := u.User.Password(); ok {
		secrets = append(secrets, pw)
	}
	for _, kv := range strings.Split(u.RawQuery, "&") {
		k, raw, _ := strings.Cut(kv, "=")
		v, _ := url.QueryUnescape(raw)
		if slices.Contains(pgSecretParams, k) {
			secrets = append(secrets, raw, v)
		}
	}
	msg := err.Error()
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "***")
		}
	}
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}

// Close closes the connection pool.
func (db *DB) Close() error {
	sqlDB, err := db.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

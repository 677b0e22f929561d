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
	"path/filepath"
	"slices"
	"strings"
	"unicode"

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
// rawURL, as of the exported snapshot, to w. The URL's secrets travel in
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

// schemaObjects lists what the current schema holds that DROP can name:
// relations, routines and types of their own (a table's row type goes
// with the table), each as "KIND:schema.name"; relations first, which
// take the sequences of their columns with them (a sequence an identity
// column owns cannot be dropped on its own).
const schemaObjects = `SELECT kind || ':' || name FROM (
	SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
			WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END AS kind,
		format('%I.%I', n.nspname, c.relname) AS name
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
	UNION ALL
	SELECT 'ROUTINE', format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
	FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
	WHERE n.nspname = current_schema() AND p.prokind IN ('f', 'p')
	UNION ALL
	SELECT 'TYPE', format('%I.%I', n.nspname, t.typname)
	FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
	WHERE n.nspname = current_schema() AND (t.typtype IN ('e', 'd', 'r')
		OR t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))
) o ORDER BY kind = 'SEQUENCE' OR kind = 'ROUTINE' OR kind = 'TYPE', kind, name`

// SchemaObjects returns what the connection's current schema holds on
// PostgreSQL (tables, views, sequences, routines, types), for
// DropSchemaObjects.
func (db *DB) SchemaObjects(ctx context.Context) ([]string, error) {
	if db.Dialect != Postgres {
		return nil, fmt.Errorf("database: %s is not PostgreSQL", db)
	}
	var objs []string
	if err := db.WithContext(ctx).Raw(schemaObjects).Scan(&objs).Error; err != nil {
		return nil, fmt.Errorf("database: list the schema: %w", err)
	}
	return objs, nil
}

// DropSchemaObjects drops, in one transaction, what the current schema
// holds that keep (SchemaObjects of before) does not: a restore that
// fails after loading its dump leaves the database as it found it, so
// that the next restore finds it empty.
func (db *DB) DropSchemaObjects(ctx context.Context, keep []string) error {
	objs, err := db.SchemaObjects(ctx)
	if err != nil {
		return err
	}
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, o := range objs {
			if slices.Contains(keep, o) {
				continue
			}
			// CASCADE and IF EXISTS: a table's sequences, triggers and
			// dependants go with it, whatever the order.
			kind, name, _ := strings.Cut(o, ":")
			if err := tx.Exec("DROP " + kind + " IF EXISTS " + name + " CASCADE").Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("database: drop what was loaded: %w", err)
	}
	return nil
}

// pgSecretParams are the parameters of a database URL that pgx reads as
// secrets (pgconn's config.go): the password and the client key's
// passphrase. RedactURL hides them, and a client program gets them only
// through its environment or a private file.
var pgSecretParams = []string{"password", "sslpassword"}

// runPG runs a PostgreSQL client program against rawURL, the URL's
// secrets moved off its command line (pgClient).
func runPG(ctx context.Context, program, rawURL string, args []string, stdin io.Reader, stdout io.Writer) error {
	path, err := exec.LookPath(program)
	if err != nil {
		return fmt.Errorf("%s (Debian package postgresql-client): %w", program, err)
	}
	c, err := pgConnection(rawURL)
	if err != nil {
		return err
	}
	env, done, err := c.environ()
	if err != nil {
		return err
	}
	defer done()
	cmd := exec.CommandContext(ctx, path, append(args, "--dbname="+c.dbname)...)
	cmd.Env, cmd.Stdin, cmd.Stdout = append(os.Environ(), env...), stdin, stdout
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 8 << 10}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", program, err, clientMessages(program, stderr.String()))
	}
	return nil
}

// clientMessages keeps of a client program's stderr what says what
// failed and drops what may quote the data: the lines the program writes
// itself ("pg_restore: error: COPY failed for table ..."), each cut
// before the first quotation in the server's message that follows
// ("ERROR:  invalid input syntax for type bigint: \"...\""), and none of
// the server's CONTEXT, DETAIL or LINE lines, nor "Command was:". A COPY
// that fails quotes its row, which may hold a job's name, a key wrapped
// or a hash, and the message reaches the terminal and the journal.
func clientMessages(program, stderr string) string {
	var kept []string
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(line, program+":") {
			continue
		}
		if own, server, ok := strings.Cut(line, "ERROR:"); ok {
			server, _, _ = strings.Cut(server, `"`)
			server, _, _ = strings.Cut(server, ": ")
			line = own + "ERROR:" + strings.TrimRight(server, " :")
		}
		kept = append(kept, strings.TrimSpace(line))
	}
	return strings.Join(kept, "; ")
}

// pgClient is how a client program (libpq) connects: the URL without its
// secrets, for the command line, where every user of the machine can read
// it, and the secrets.
type pgClient struct {
	dbname      string
	password    string
	sslPassword string
	// service is the URL's own service parameter.
	service bool
}

// pgConnection splits rawURL into the URL without its secrets and the
// secrets.
func pgConnection(rawURL string) (pgClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return pgClient{}, errors.New("the database URL does not parse")
	}
	var c pgClient
	if pw, ok := u.User.Password(); ok {
		c.password = pw
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	secrets := map[string]*string{"password": &c.password, "sslpassword": &c.sslPassword}
	for _, k := range pgSecretParams {
		if q.Has(k) {
			*secrets[k] = q.Get(k)
			q.Del(k)
		}
	}
	c.service = q.Has("service")
	u.RawQuery = q.Encode()
	c.dbname = u.String()
	return c, nil
}

// environ returns what the client's environment adds: the password in
// PGPASSWORD and, since libpq reads no variable for it, the key's
// passphrase in a service file (PGSERVICEFILE) of a private folder, which
// done removes.
func (c pgClient) environ() (env []string, done func(), err error) {
	done = func() {}
	if c.password != "" {
		env = append(env, "PGPASSWORD="+c.password)
	}
	if c.sslPassword == "" {
		return env, done, nil
	}
	switch {
	case c.service:
		return nil, nil, errors.New("the database URL names a service and an sslpassword: pg_dump cannot be given both; put sslpassword in the service's file")
	case strings.ContainsAny(c.sslPassword, "\r\n") || strings.TrimRightFunc(c.sslPassword, unicode.IsSpace) != c.sslPassword:
		return nil, nil, errors.New("the database URL's sslpassword holds a line break or ends in a space, which pg_dump's service file cannot carry")
	}
	dir, err := os.MkdirTemp("", "printgate-pg-")
	if err != nil {
		return nil, nil, fmt.Errorf("service file: %w", err)
	}
	done = func() { os.RemoveAll(dir) }
	file := filepath.Join(dir, "pg_service.conf")
	if err := os.WriteFile(file, []byte("[printgate]\nsslpassword="+c.sslPassword+"\n"), 0o600); err != nil {
		done()
		return nil, nil, fmt.Errorf("service file: %w", err)
	}
	return append(env, "PGSERVICEFILE="+file, "PGSERVICE=printgate"), done, nil
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

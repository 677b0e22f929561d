package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
)

// EachDB runs f as a subtest on a fresh embedded SQLite database and on a
// fresh PostgreSQL one, each migrated by migrate (which may be nil).
func EachDB(t *testing.T, migrate func(context.Context, *database.DB) error, f func(t *testing.T, db *database.DB)) {
	for _, dialect := range []database.Dialect{database.SQLite, database.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			url := ""
			if dialect == database.Postgres {
				url = Postgres(t)
			}
			db, err := database.Open(context.Background(), url, t.TempDir(), nil)
			if err != nil {
				t.Fatalf("testenv: open %s: %v", dialect, err)
			}
			t.Cleanup(func() { db.Close() })
			if migrate != nil {
				if err := migrate(t.Context(), db); err != nil {
					t.Fatalf("testenv: migrate: %v", err)
				}
			}
			f(t, db)
		})
	}
}

// SQLite returns a fresh embedded SQLite database migrated by migrate
// (which may be nil), closed when t ends: for a test of what only SQLite
// has.
func SQLite(t *testing.T, migrate func(context.Context, *database.DB) error) *database.DB {
	t.Helper()
	db, err := database.Open(t.Context(), "", t.TempDir(), nil)
	if err != nil {
		t.Fatalf("testenv: open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if migrate != nil {
		if err := migrate(t.Context(), db); err != nil {
			t.Fatalf("testenv: migrate: %v", err)
		}
	}
	return db
}

// Clock is a settable time source for tests of timeouts and expiry.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock at a fixed morning in 2026.
func NewClock() *Clock { return NewClockAt(time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)) }

// NewClockAt returns a Clock at t; a server under test that also keeps
// times from the wall clock (its audit trail) reads best started at
// time.Now().
func NewClockAt(t time.Time) *Clock { return &Clock{t: t.UTC()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// DumpRows renders every row of rows as one line of column=value pairs
// (bytes as text), closes rows, and returns the text and the number of
// rows: what a test searches for a secret that must not be stored.
func DumpRows(t testing.TB, rows *sql.Rows) (string, int) {
	t.Helper()
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	n := 0
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			fmt.Fprintf(&b, "%s=%v\t", cols[i], v)
		}
		b.WriteString("\n")
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String(), n
}

// DumpTables renders every row of every table of db as text (DumpRows),
// each line after its table's name: what a test searches for a secret
// or a name that must not be stored in clear.
func DumpTables(t testing.TB, db *database.DB) string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if db.Dialect == database.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	var tables []string
	if err := db.Raw(q).Scan(&tables).Error; err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, table := range tables {
		rows, err := db.Raw(`SELECT * FROM "` + table + `"`).Rows()
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		text, _ := DumpRows(t, rows)
		for line := range strings.Lines(text) {
			out.WriteString(table + ": " + line)
		}
	}
	return out.String()
}

// CheckColumnTypes fails t unless each of columns (comma-separated) of
// table on PostgreSQL db has the type of the same place in types, as
// PostgreSQL reads it: the types of an INSERT from arrays
// (database.Texts.InsertArrays), which a new column must not leave
// behind.
func CheckColumnTypes(t testing.TB, db *database.DB, table, columns string, types []string) {
	t.Helper()
	cols := strings.Split(columns, ",")
	if len(cols) != len(types) {
		t.Fatalf("%s: %d columns, %d types", table, len(cols), len(types))
	}
	for i, c := range cols {
		c = strings.TrimSpace(c)
		var ok bool
		err := db.DB.Raw(`SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = ?::regclass
			AND attname = ? AND NOT attisdropped AND atttypid = ?::regtype)`, table, c, types[i]).Row().Scan(&ok)
		if err != nil {
			t.Fatalf("%s.%s: %v", table, c, err)
		}
		if !ok {
			t.Errorf("%s.%s is not of type %s", table, c, types[i])
		}
	}
}

package credential

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
	"github.com/printgate/printgate/internal/testenv"
)

// testParams keep argon2id cheap in tests; production uses
// secret.DefaultParams.
var testParams = secret.Params{Memory: 64, Time: 1, Threads: 1}

var testKey = []byte("0123456789abcdef0123456789abcdef")

// clock is a settable time source for lockout tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// eachDB runs f on a fresh, migrated SQLite database and a PostgreSQL one.
func eachDB(t *testing.T, f func(t *testing.T, db *database.DB)) {
	for _, dialect := range []database.Dialect{database.SQLite, database.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			url := ""
			if dialect == database.Postgres {
				url = testenv.Postgres(t)
			}
			db, err := database.Open(context.Background(), url, t.TempDir(), nil)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			t.Cleanup(func() { db.Close() })
			if err := Migrate(t.Context(), db); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			f(t, db)
		})
	}
}

func newStore(t *testing.T, db *database.DB, p Policy, now func() time.Time) *Store {
	t.Helper()
	s, err := New(db, testKey, p, testParams, Options{Now: now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

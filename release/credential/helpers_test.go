package credential

import (
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
type clock = testenv.Clock

func newClock() *clock { return testenv.NewClock() }

// eachDB runs f on a fresh, migrated SQLite database and a PostgreSQL one.
func eachDB(t *testing.T, f func(t *testing.T, db *database.DB)) { testenv.EachDB(t, Migrate, f) }

func newStore(t *testing.T, db *database.DB, p Policy, now func() time.Time) *Store {
	t.Helper()
	s, err := New(db, testKey, p, testParams, Options{Now: now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

package directory

import (
	"testing"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
	"github.com/printgate/printgate/internal/testenv"
)

// testParams keep argon2id cheap in tests; production uses
// secret.DefaultParams.
var testParams = secret.Params{Memory: 64, Time: 1, Threads: 1}

// testHasher hashes with testParams and a fixed pepper key.
func testHasher(t *testing.T) *secret.Hasher {
	t.Helper()
	h, err := secret.NewHasher([]byte("0123456789abcdef0123456789abcdef"), testParams, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// eachDB runs f on a fresh, migrated SQLite database and a PostgreSQL one.
func eachDB(t *testing.T, f func(t *testing.T, db *database.DB)) { testenv.EachDB(t, Migrate, f) }

package directory

import (
	"context"
	"testing"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
	"github.com/printgate/printgate/internal/testenv"
)

// testParams keep argon2id cheap in tests; production uses
// secret.DefaultParams.
var testParams = secret.Params{Memory: 64, Time: 1, Threads: 1}

// eachDB runs f on a fresh SQLite database and a fresh PostgreSQL one.
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

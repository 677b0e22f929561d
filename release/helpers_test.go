package release

import (
	"bytes"
	"cmp"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release/spool"
)

// startService returns a started Service over db with opts, adding what
// opts leaves out: a fresh spool, an audit log with a test key, an hourly
// sweep. It is closed when the test ends.
func startService(t testing.TB, db *database.DB, opts Options) (*Service, *audit.Log) {
	t.Helper()
	if err := audit.Migrate(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(t.TempDir(), spool.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	log := audit.New(db, audit.Options{Key: bytes.Repeat([]byte{7}, 32)})
	opts.DB, opts.Spool, opts.Audit = db, sp, log
	opts.SweepEvery = cmp.Or(opts.SweepEvery, time.Hour)
	svc, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc, log
}

// openSQLite returns a migrated SQLite database in a fresh data folder,
// closed when the test ends.
func openSQLite(t *testing.T) *database.DB {
	t.Helper()
	return openMigrated(t, "", t.TempDir())
}

// openMigrated opens the database at dsn (SQLite in dataDir when dsn is
// empty), migrated, and closes it when the test ends.
func openMigrated(t testing.TB, dsn, dataDir string) *database.DB {
	t.Helper()
	db, err := database.Open(t.Context(), dsn, dataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := Migrate(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

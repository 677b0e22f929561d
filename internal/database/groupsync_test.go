package database_test

import (
	"context"
	"os"
	"testing"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

// TestGroupCommitter: transactions through a GroupCommitter commit and
// are seen by the pool; on SQLite they run on its one connection with
// synchronous=NORMAL while the pool's connections keep FULL, before and
// after Close.
func TestGroupCommitter(t *testing.T) {
	testenv.EachDB(t, nil, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		if err := db.Exec("CREATE TABLE grouped (n INTEGER)").Error; err != nil {
			t.Fatal(err)
		}
		g, err := db.NewGroupCommitter(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			err := g.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
				return tx.Exec("INSERT INTO grouped (n) VALUES (?)", i).Error
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := g.Sync(); err != nil {
			t.Fatalf("Sync: %v", err)
		}
		var n int64
		db.Raw("SELECT count(*) FROM grouped").Scan(&n)
		if n != 3 {
			t.Errorf("the pool sees %d rows, want 3", n)
		}
		if db.Dialect == database.SQLite {
			if got := synchronous(t, g.DB); got != 1 {
				t.Errorf("the committer's connection has synchronous=%d, want 1 (NORMAL)", got)
			}
			if got := synchronous(t, db.DB); got != 2 {
				t.Errorf("the pool has synchronous=%d, want 2 (FULL)", got)
			}
		}
		if err := g.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		// The committer's connection is back in the pool, FULL again.
		if db.Dialect == database.SQLite {
			if got := synchronous(t, db.DB); got != 2 {
				t.Errorf("after Close the pool has synchronous=%d, want 2 (FULL)", got)
			}
		}
	})
}

func synchronous(t *testing.T, db *gorm.DB) int {
	t.Helper()
	var n int
	if err := db.Raw("PRAGMA synchronous").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestGroupCommitterSyncFailsForGood: after one failed fsync of the log,
// Sync and Err keep failing, even once fsync works again, as the pages it
// failed to write may be gone while later fsyncs succeed.
func TestGroupCommitterSyncFailsForGood(t *testing.T) {
	db, err := database.Open(context.Background(), "", t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	g, err := db.NewGroupCommitter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.Err() != nil || g.Sync() != nil {
		t.Fatal("a new group committer fails")
	}
	closed, err := os.CreateTemp(t.TempDir(), "wal")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close() // fsync of a closed file fails
	g.SetWAL(closed)
	if g.Sync() == nil {
		t.Fatal("Sync of a closed log succeeded")
	}
	good, err := os.CreateTemp(t.TempDir(), "wal")
	if err != nil {
		t.Fatal(err)
	}
	g.SetWAL(good)
	if g.Sync() == nil || g.Err() == nil {
		t.Error("after a failed fsync, Sync or Err succeeds again")
	}
}

package database_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
)

// openGroupCommitter opens an SQLite database in a folder of the test's,
// runs schema on it and opens its GroupCommitter; the test's end closes
// both.
func openGroupCommitter(t *testing.T, schema ...string) (*database.DB, *database.GroupCommitter) {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, "", t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, q := range schema {
		if err := db.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	g, err := db.NewGroupCommitter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return db, g
}

// TestGroupCommitterPreparesOnce: on SQLite the committer's transactions
// run each text prepared once, across transactions; a rolled-back
// transaction leaves nothing; the cache stays within its bound.
func TestGroupCommitterPreparesOnce(t *testing.T) {
	ctx := context.Background()
	db, g := openGroupCommitter(t, "CREATE TABLE prepared (n INTEGER)")
	insert := func(q string, n int) error {
		return g.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			_, err := tx.Statement.ConnPool.ExecContext(ctx, q, n)
			return err
		})
	}
	steps := []struct {
		q      string
		cached int
	}{
		{"INSERT INTO prepared (n) VALUES (?)", 1},
		{"INSERT INTO prepared (n) VALUES (?)", 1},
		{"INSERT INTO prepared (n) VALUES (? + 0)", 2},
		{"INSERT INTO prepared (n) VALUES (?)", 2},
	}
	for i, st := range steps {
		if err := insert(st.q, i); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := g.CachedStatements(); got != st.cached {
			t.Errorf("after step %d: %d statements cached, want %d", i, got, st.cached)
		}
	}
	rollback := errors.New("roll back")
	err := g.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if _, err := tx.Statement.ConnPool.ExecContext(ctx, steps[0].q, 99); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatalf("rolled-back transaction: %v", err)
	}
	var rows []int
	db.Raw("SELECT n FROM prepared ORDER BY n").Scan(&rows)
	if fmt.Sprint(rows) != "[0 1 2 3]" {
		t.Errorf("rows %v, want [0 1 2 3]: the rolled-back insert must not be there", rows)
	}
	// Nothing runs in a transaction that ended: its statements would run
	// on the connection, outside any transaction.
	var ended gorm.ConnPool
	if err := g.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		ended = tx.Statement.ConnPool
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ended.ExecContext(ctx, steps[0].q, 100); !errors.Is(err, sql.ErrTxDone) {
		t.Errorf("a statement after the commit: %v, want sql.ErrTxDone", err)
	}
	var n int
	if err := ended.QueryRowContext(ctx, "SELECT count(*) FROM prepared").Scan(&n); !errors.Is(err, sql.ErrTxDone) {
		t.Errorf("a query after the commit: %v, want sql.ErrTxDone", err)
	}
	if _, err := ended.PrepareContext(ctx, steps[0].q); !errors.Is(err, sql.ErrTxDone) {
		t.Errorf("a statement prepared after the commit: %v, want sql.ErrTxDone", err)
	}
	for i := range database.MaxCachedStmts + 1 {
		if err := insert(fmt.Sprintf("INSERT INTO prepared (n) VALUES (? + %d)", i), 0); err != nil {
			t.Fatal(err)
		}
		if got := g.CachedStatements(); got > database.MaxCachedStmts {
			t.Fatalf("%d statements cached, above the bound %d", got, database.MaxCachedStmts)
		}
	}
}

// TestGroupCommitterFailedCommit: on SQLite the committer's transactions
// are SQLite's own BEGIN and COMMIT on its connection. A COMMIT that
// fails (here a deferred foreign key) keeps nothing, gives the write gate
// back and leaves no transaction open: the next one runs.
func TestGroupCommitterFailedCommit(t *testing.T) {
	ctx := context.Background()
	db, g := openGroupCommitter(t, "CREATE TABLE parent (id INTEGER PRIMARY KEY)",
		"CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")
	insert := func(qs ...string) error {
		return g.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			for _, q := range qs {
				if _, err := tx.Statement.ConnPool.ExecContext(ctx, q); err != nil {
					return err
				}
			}
			return nil
		})
	}
	err := insert("INSERT INTO child (p) VALUES (1)")
	if !errors.Is(err, gorm.ErrForeignKeyViolated) {
		t.Fatalf("a commit that breaks a deferred foreign key: %v, want it refused", err)
	}
	if db.GateHeld() {
		t.Error("the write gate is still held after the failed commit")
	}
	if err := insert("INSERT INTO parent (id) VALUES (1)", "INSERT INTO child (p) VALUES (1)"); err != nil {
		t.Fatalf("the transaction after a failed commit: %v", err)
	}
	var n int64
	db.Raw("SELECT count(*) FROM child").Scan(&n)
	if n != 1 {
		t.Errorf("%d child rows, want 1: the failed commit's row must not be there", n)
	}
}

// TestGroupCommitterTxStartsNoGoroutine: the committer's transaction on
// SQLite is not a database/sql Tx, which starts a goroutine to wait for
// its end and wakes it at every commit.
func TestGroupCommitterTxStartsNoGoroutine(t *testing.T) {
	ctx := context.Background()
	_, g := openGroupCommitter(t)
	before := runtime.NumGoroutine()
	var during int
	if err := g.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		during = runtime.NumGoroutine()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if during > before {
		t.Errorf("%d goroutines during the transaction, %d before", during, before)
	}
}

package database_test

import (
	"context"
	"errors"
	"testing"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

// TestWriteGate: on SQLite every writing transaction, of the pool or of
// the group committer, holds the process's write gate from its start to
// its end, commit or rollback, so that the next writer goes on at once
// instead of polling SQLite's lock; a second writer waits for the first.
func TestWriteGate(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, "", t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Exec("CREATE TABLE gated (n INTEGER)").Error; err != nil {
		t.Fatal(err)
	}
	if db.GateHeld() {
		t.Fatal("the gate is held with no transaction open")
	}
	g, err := db.NewGroupCommitter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	rollback := errors.New("roll back")
	for _, c := range []struct {
		name string
		tx   *gorm.DB
		end  error
	}{
		{"pool, committed", db.DB, nil},
		{"pool, rolled back", db.DB, rollback},
		{"group committer, committed", g.DB, nil},
		{"group committer, rolled back", g.DB, rollback},
	} {
		var inside bool
		err := c.tx.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			inside = db.GateHeld()
			if err := tx.Exec("INSERT INTO gated (n) VALUES (1)").Error; err != nil {
				return err
			}
			return c.end
		})
		if !errors.Is(err, c.end) {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !inside {
			t.Errorf("%s: the transaction ran without the gate", c.name)
		}
		if db.GateHeld() {
			t.Errorf("%s: the gate is still held after the transaction", c.name)
		}
	}
	// A second writer waits for the first one's end, then runs.
	first := db.Begin()
	if err := first.Exec("INSERT INTO gated (n) VALUES (2)").Error; err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() {
		second <- db.Transaction(func(tx *gorm.DB) error { return tx.Exec("INSERT INTO gated (n) VALUES (3)").Error })
	}()
	select {
	case err := <-second:
		t.Fatalf("the second writer ran while the first held the gate: %v", err)
	default:
	}
	if err := first.Commit().Error; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatalf("the second writer: %v", err)
	}
	testenv.WaitFor(t, "the gate given back", func() bool { return !db.GateHeld() })
}

package database_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/printgate/printgate/internal/database"
)

// TestKeptStatements: on SQLite each connection of the pool keeps the
// statements it ran prepared, in a transaction or not, within its bound;
// a query run again while its rows are open runs unkept and both read
// right; and nothing kept holds the log: a checkpoint still empties it.
func TestKeptStatements(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, sqlDB := openDB(t, "", dir)
	// One connection, so that every step below runs on the one inspected.
	sqlDB.SetMaxOpenConns(1)
	if err := db.Exec("CREATE TABLE kept (n INTEGER)").Error; err != nil {
		t.Fatal(err)
	}
	kept := func() int {
		t.Helper()
		c, err := sqlDB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		n, err := database.KeptStatements(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	base := kept()
	if base < 0 {
		t.Fatal("the pool's connections do not keep their statements")
	}
	const insert = "INSERT INTO kept (n) VALUES (?)"
	steps := []struct {
		name string
		run  func() error
		more int
	}{
		{"an insert", func() error { return db.Exec(insert, 1).Error }, 1},
		{"the same insert again", func() error { return db.Exec(insert, 2).Error }, 1},
		{"the same insert in a transaction", func() error {
			tx, err := sqlDB.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, insert, 3); err != nil {
				tx.Rollback()
				return err
			}
			return tx.Commit()
		}, 1},
		{"a statement that fails", func() error {
			if db.Exec("INSERT INTO missing (n) VALUES (?)", 1).Error == nil {
				return fmt.Errorf("an insert into a missing table succeeded")
			}
			return nil
		}, 1},
	}
	for _, st := range steps {
		if err := st.run(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := kept() - base; got != st.more {
			t.Errorf("after %s: %d statements kept, want %d", st.name, got, st.more)
		}
	}

	// The same query inside a loop over its own rows, on the one
	// connection of a transaction.
	const sel = "SELECT n FROM kept WHERE n >= ? ORDER BY n"
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var outer, inner []int
	outer = scanInts(t, tx, sel, func() { inner = scanInts(t, tx, sel, nil) })
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(outer) != "[1 2 3]" || fmt.Sprint(inner) != "[1 2 3]" {
		t.Errorf("query read %v, and again inside it %v; want [1 2 3] both times", outer, inner)
	}

	// The bound.
	for i := range database.KeptStmts + 5 {
		if err := db.Exec(fmt.Sprintf("INSERT INTO kept (n) VALUES (? + %d)", i), 0).Error; err != nil {
			t.Fatal(err)
		}
	}
	if got := kept(); got > database.KeptStmts {
		t.Errorf("%d statements kept, the bound is %d", got, database.KeptStmts)
	}
	var count int64
	db.Raw("SELECT count(*) FROM kept").Scan(&count)
	if count != 3+database.KeptStmts+5 {
		t.Errorf("%d rows, want %d", count, 3+database.KeptStmts+5)
	}

	// Kept statements hold no read of the log: a checkpoint empties it,
	// which a destroyed document's key relies on.
	checkpointEmptiesWAL(t, db, dir)
}

// scanInts reads q's rows in tx, calling during (when not nil) after the
// first row, while the rows are still open.
func scanInts(t *testing.T, tx *sql.Tx, q string, during func()) []int {
	t.Helper()
	rows, err := tx.Query(q, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
		if len(got) == 1 && during != nil {
			during()
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

package database_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

func TestBind(t *testing.T) {
	testenv.EachDB(t, nil, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		id, err := db.ID(ctx)
		if again, _ := db.ID(ctx); err != nil || id == "" || again != id {
			t.Fatalf("ID = %q then %q (%v); want one stable ID", id, again, err)
		}
		for _, tc := range []struct {
			name string
			// prepare fills the dir before Bind.
			prepare func(dir string)
			// mismatch: Bind must refuse with a *MismatchError.
			mismatch bool
			// fails: Bind must fail some other way.
			fails bool
			// bound: the dir was bound before, so Bind is not fresh.
			bound bool
		}{
			{name: "empty dir is bound", prepare: func(string) {}},
			{name: "dir bound to this database", prepare: func(dir string) { db.Bind(ctx, dir) }, bound: true},
			{name: "dir of another database", mismatch: true, prepare: func(dir string) {
				os.WriteFile(filepath.Join(dir, database.IdentityFile), []byte("id=OTHER\ndatabase=sqlite:/x\n"), 0o600)
			}},
			{name: "dir from before identity files, with an SQLite database", mismatch: db.Dialect == database.Postgres,
				prepare: func(dir string) {
					os.WriteFile(filepath.Join(dir, database.SQLiteFile), []byte("SQLite format 3\x00"), 0o600)
				}},
			{name: "identity file without an id", fails: true, prepare: func(dir string) {
				os.WriteFile(filepath.Join(dir, database.IdentityFile), []byte("# nothing\n"), 0o600)
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				dir := t.TempDir()
				tc.prepare(dir)
				before, _ := os.ReadFile(filepath.Join(dir, database.IdentityFile))
				fresh, err := db.Bind(ctx, dir)
				var mm *database.MismatchError
				switch {
				case tc.mismatch:
					if !errors.As(err, &mm) || mm.CurrentID != id || !strings.Contains(err.Error(), dir) {
						t.Fatalf("Bind = %v, want a mismatch naming %s", err, dir)
					}
					if after, _ := os.ReadFile(filepath.Join(dir, database.IdentityFile)); string(after) != string(before) {
						t.Errorf("a refused Bind changed the identity file: %q", after)
					}
				case tc.fails:
					if err == nil || errors.As(err, &mm) {
						t.Fatalf("Bind = %v, want an error other than a mismatch", err)
					}
				default:
					if err != nil || fresh == tc.bound {
						t.Fatalf("Bind = %v, %v; want fresh = %v", fresh, err, !tc.bound)
					}
					raw, _ := os.ReadFile(filepath.Join(dir, database.IdentityFile))
					if !strings.Contains(string(raw), "id="+id+"\n") || !strings.Contains(string(raw), "database="+db.String()) {
						t.Errorf("identity file holds %q", raw)
					}
				}
			})
		}
	})
}

func TestCheckpointEmptiesTheWAL(t *testing.T) {
	dir := t.TempDir()
	db, err := database.Open(context.Background(), "", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var secure int
	db.Raw("PRAGMA secure_delete").Scan(&secure)
	if secure != 1 {
		t.Errorf("secure_delete = %d, want 1 on every connection", secure)
	}
	// The page cache's bound is part of the server's memory budget.
	var cache int
	db.Raw("PRAGMA cache_size").Scan(&cache)
	if cache != -512 {
		t.Errorf("cache_size = %d, want -512 (KiB) on every connection", cache)
	}
	if err := db.Exec("CREATE TABLE t (v TEXT)").Error; err != nil {
		t.Fatal(err)
	}
	db.Exec("INSERT INTO t VALUES ('x')")
	if fi, err := os.Stat(filepath.Join(dir, database.SQLiteFile+"-wal")); err != nil || fi.Size() == 0 {
		t.Fatalf("no WAL to empty: %v", err)
	}
	checkpointEmptiesWAL(t, db, dir)
}

// checkpointEmptiesWAL checkpoints db, whose file is in dir, and checks
// that its log is empty after.
func checkpointEmptiesWAL(t *testing.T, db *database.DB, dir string) {
	t.Helper()
	if err := db.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, database.SQLiteFile+"-wal"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 0 {
		t.Errorf("WAL after a checkpoint: %d bytes, want 0", fi.Size())
	}
}

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://pg:s3cret@db:5432/printgate?sslmode=require", "postgres://pg@db:5432/printgate?sslmode=require"},
		{"postgres://db/printgate?password=s3cret", "postgres://db/printgate?password=xxxxx"},
		{"postgres://pg:pw@db/printgate?sslmode=verify-full&sslkey=/etc/pg/c.key&sslpassword=s3cret",
			"postgres://pg@db/printgate?sslkey=%2Fetc%2Fpg%2Fc.key&sslmode=verify-full&sslpassword=xxxxx"},
		{"postgresql://db/printgate", "postgresql://db/printgate"},
	} {
		if got := database.RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestCheckpointDoesNotStallWriters holds a reader on an old snapshot:
// the checkpoint must give up soon, to be retried, and writers must not
// wait for it.
func TestCheckpointDoesNotStallWriters(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, "", t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Exec("CREATE TABLE t (v TEXT)")
	db.Exec("INSERT INTO t VALUES ('before')")
	sqlDB, _ := db.DB.DB()
	reader, err := sqlDB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var n int
	reader.ExecContext(ctx, "BEGIN")
	if err := reader.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	defer reader.ExecContext(ctx, "ROLLBACK")
	db.Exec("INSERT INTO t VALUES ('after')")

	start := time.Now()
	if err := db.Checkpoint(ctx); !errors.Is(err, database.ErrCheckpointBusy) {
		t.Errorf("checkpoint behind an old reader = %v, want ErrCheckpointBusy", err)
	}
	// Bounds well under the 10 s busy timeout a stalled checkpoint or
	// writer would wait out, and well over a busy disk's fsync.
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("checkpoint took %v to give up", d)
	}
	start = time.Now()
	if err := db.Exec("INSERT INTO t VALUES ('writer')").Error; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a write waited %v after the checkpoint gave up", d)
	}
	var timeout int
	db.Raw("PRAGMA busy_timeout").Scan(&timeout)
	if timeout < 1000 {
		t.Errorf("a pooled connection kept the checkpoint's busy_timeout of %d ms", timeout)
	}
}

package database_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

// walRig is an SQLite database in a folder of its own with a
// GroupCommitter, for the tests of who copies its write-ahead log.
type walRig struct {
	t   *testing.T
	db  *database.DB
	g   *database.GroupCommitter
	dir string
}

func newWALRig(t *testing.T) *walRig {
	t.Helper()
	dir := t.TempDir()
	db, err := database.Open(context.Background(), "", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Exec("CREATE TABLE docs (body BLOB)").Error; err != nil {
		t.Fatal(err)
	}
	g, err := db.NewGroupCommitter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return &walRig{t: t, db: db, g: g, dir: dir}
}

// write commits n transactions through the committer, each of a 64 KiB
// row (some 17 pages of the log), and syncs them.
func (r *walRig) write(n int) {
	r.t.Helper()
	r.writeCtx(context.Background(), n)
}

// writeCtx is write with the transactions begun with ctx.
func (r *walRig) writeCtx(ctx context.Context, n int) {
	r.t.Helper()
	for range n {
		err := r.g.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return tx.Exec("INSERT INTO docs (body) VALUES (randomblob(65536))").Error
		})
		if err != nil {
			r.t.Fatal(err)
		}
	}
	if err := r.g.Sync(); err != nil {
		r.t.Fatal(err)
	}
}

// commitRow commits one transaction through the committer, of a row of
// some 4 KB (about two pages of the log), without syncing it: for
// writers in goroutines of their own, which cannot fail the test.
func (r *walRig) commitRow() error {
	return r.g.DB.Transaction(func(tx *gorm.DB) error {
		return tx.Exec("INSERT INTO docs (body) VALUES (randomblob(4000))").Error
	})
}

// reader opens a connection of the pool in a read transaction that has
// read the docs: its snapshot stays in the log until it commits. It is
// closed when the test ends.
func (r *walRig) reader(ctx context.Context) *sql.Conn {
	r.t.Helper()
	sqlDB, err := r.db.DB.DB()
	if err != nil {
		r.t.Fatal(err)
	}
	c, err := sqlDB.Conn(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { c.Close() })
	var n int
	if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
		r.t.Fatal(err)
	}
	if err := c.QueryRowContext(ctx, "SELECT count(*) FROM docs").Scan(&n); err != nil {
		r.t.Fatal(err)
	}
	return c
}

// fileSize is the size of the database file (not its log).
func (r *walRig) fileSize() int64 {
	r.t.Helper()
	fi, err := os.Stat(filepath.Join(r.dir, database.SQLiteFile))
	if err != nil {
		r.t.Fatal(err)
	}
	return fi.Size()
}

// TestCommitsLeaveTheLogToTheCopier: the committer's commits do not copy
// the log into the database file, however long it grows (a copy there
// held every client of the batch, docs/PERFORMANCE.md), unless a
// transaction is marked to copy inline, as the journal's applier marks
// its own; the mark holds for that transaction alone.
func TestCommitsLeaveTheLogToTheCopier(t *testing.T) {
	r := newWALRig(t)
	r.g.StopCopier()
	before := r.fileSize()
	r.write(70) // 4.4 MiB, some 1,200 frames: past SQLite's 1,000
	if got := r.fileSize(); got != before {
		t.Errorf("the committer's commits copied the log: the database file went from %d to %d bytes", before, got)
	}
	r.writeCtx(database.CopyLogInline(context.Background()), 1)
	if got := r.fileSize(); got < 4<<20 {
		t.Errorf("a commit told to copy inline left the database file at %d bytes, want the 4.4 MiB written", got)
	}
	grown := r.fileSize()
	r.write(70) // unmarked again: the mark was the one transaction's
	if got := r.fileSize(); got != grown {
		t.Errorf("commits after the one marked to copy inline copied too: the database file went from %d to %d bytes", grown, got)
	}
}

// TestCopierCopiesTheLog: beside the committer's commits, the copier
// brings what they wrote into the database file.
func TestCopierCopiesTheLog(t *testing.T) {
	r := newWALRig(t)
	r.write(70)
	if !testenv.Eventually(func() bool { return r.fileSize() >= 4<<20 }) {
		t.Fatalf("the database file holds %d bytes long after 4.4 MiB were committed: the log was not copied", r.fileSize())
	}
}

// TestCopierRestartsALongLog: a log that has grown past the copier's
// bound starts again from its beginning even while a writer keeps
// committing, which never leaves it fully copied when the next commit
// begins (the only moment SQLite starts it again by itself).
func TestCopierRestartsALongLog(t *testing.T) {
	r := newWALRig(t)
	r.g.SetRestartFrames(256)
	stop := make(chan struct{})
	wrote := make(chan error, 1)
	go func() {
		for range 3000 { // some 6,000 frames at most
			select {
			case <-stop:
				wrote <- nil
				return
			default:
			}
			if err := r.commitRow(); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- nil
	}()
	defer func() {
		close(stop)
		if err := <-wrote; err != nil {
			t.Error(err)
		}
	}()
	// The log may also begin again by itself, when a commit finds it all
	// copied: only the copier's count says that it restarted the log.
	if !testenv.Eventually(func() bool { return r.g.CopierRestarts() > 0 }) {
		frames, _ := walFrames(t, r.db)
		t.Fatalf("under a steady writer the copier never restarted the log (%d frames now)", frames)
	}
}

// TestRestartBeginsTheLogAgain: once the copier has restarted it, the
// next commit writes the log from its beginning, even though it was not
// all copied: a reader kept the last copy short, and a log left so under a
// steady load would otherwise only grow.
func TestRestartBeginsTheLogAgain(t *testing.T) {
	ctx := context.Background()
	r := newWALRig(t)
	r.g.StopCopier()
	r.write(10)
	reader := r.reader(ctx)
	r.write(2)
	if frames, copied := walFrames(t, r.db); copied >= frames {
		t.Fatalf("a checkpoint copied all %d frames past a reader's snapshot", frames)
	}
	if _, err := reader.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if err := r.g.RestartLog(ctx); err != nil {
		t.Fatal(err)
	}
	r.write(1)
	if frames, _ := walFrames(t, r.db); frames > 40 {
		t.Errorf("after the restart the log holds %d frames: the next commit went on after the old ones", frames)
	}
}

// walFrames copies what it can of db's log and returns how many frames
// the log holds and how many are copied.
func walFrames(t *testing.T, db *database.DB) (frames, copied int) {
	t.Helper()
	var busy int
	if err := db.Raw("PRAGMA wal_checkpoint(PASSIVE)").Row().Scan(&busy, &frames, &copied); err != nil {
		t.Fatal(err)
	}
	return frames, copied
}

// TestLongReaderHoldsNoCommit: a reader that keeps its snapshot open (a
// backup, the sqlite3 shell, an insider's query) keeps the log from
// starting again, but a restart, which holds the write gate, gives up on
// it instead of holding the committer: the restart returns and commits go
// on while the reader reads, the log is not restarted under its snapshot,
// and once the reader has gone the copier restarts the log.
func TestLongReaderHoldsNoCommit(t *testing.T) {
	ctx := context.Background()
	r := newWALRig(t)
	r.g.SetRestartFrames(256)
	reader := r.reader(ctx)
	r.write(20) // some 340 frames the reader's snapshot does not see
	restarted := make(chan error, 1)
	go func() { restarted <- r.g.RestartLog(ctx) }()
	wrote := make(chan error, 1)
	go func() {
		for range 300 {
			if err := r.commitRow(); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- r.g.Sync()
	}()
	var errs []error
	if !testenv.Eventually(func() bool {
		select {
		case err := <-restarted:
			errs = append(errs, err)
		case err := <-wrote:
			errs = append(errs, err)
		default:
		}
		return len(errs) == 2
	}) {
		reader.ExecContext(ctx, "COMMIT")
		t.Fatalf("with a reader in the log, a restart and the commits beside it did not both end (%d did)", len(errs))
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := r.g.CopierRestarts(); got != 0 {
		t.Errorf("the log was restarted %d times under a reader's snapshot", got)
	}
	if _, err := reader.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	// Each commit wakes the copier; once the reader has gone, its
	// restart can finish.
	if !testenv.Eventually(func() bool { r.write(1); return r.g.CopierRestarts() > 0 }) {
		t.Fatal("the copier never restarted the log after the reader left")
	}
}

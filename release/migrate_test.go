package release

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

// TestRowidKeyedMigration: a database made before job_keys and
// job_documents were keyed by rowid keeps every key and document, and on
// SQLite loses the index each had beside its rowid.
func TestRowidKeyedMigration(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := database.Open(ctx, "", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all := migrations()
	i := slices.IndexFunc(all, func(m database.Migration) bool { return m.Name == "job_keys and job_documents keyed by rowid" })
	if i < 0 {
		t.Fatal("no migration keys job_keys and job_documents by rowid")
	}
	before := all[:i]
	if err := db.Migrate(ctx, "release", before); err != nil {
		t.Fatal(err)
	}
	indexes := func() (n int64) {
		db.Raw(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('job_keys', 'job_documents')`).Scan(&n)
		return n
	}
	if n := indexes(); n != 2 {
		t.Fatalf("before: %d indexes on job_keys and job_documents, want their 2 autoindexes", n)
	}
	if err := db.Exec(`INSERT INTO job_keys (job_id, wrapped_key) VALUES (7, x'0102'), (9, x'0304')`).Error; err != nil {
		t.Fatal(err)
	}
	// A destroyed key: secure_delete zeroes it, and it must not come back
	// from the old table's pages when the migration copies and drops it.
	destroyed := []byte("destroyed-key-0123456789abcdef")
	if err := db.Exec(`INSERT INTO job_keys (job_id, wrapped_key) VALUES (8, ?)`, destroyed).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`DELETE FROM job_keys WHERE job_id = 8`).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`INSERT INTO job_documents (job_id, data) VALUES (7, x'aabbcc')`).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx, "release", all); err != nil {
		t.Fatal(err)
	}
	if n := indexes(); n != 0 {
		t.Errorf("after: %d indexes on job_keys and job_documents, want none (job_id is the rowid)", n)
	}
	// Start-up checkpoints after migrating (cmd/printgate): then no file
	// holds the destroyed key.
	if err := db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{database.SQLiteFile, database.SQLiteFile + "-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		if bytes.Contains(b, destroyed) {
			t.Errorf("%s holds the destroyed key after the migration and a checkpoint", f)
		}
	}
	var keys []jobKey
	db.Order("job_id").Find(&keys)
	if len(keys) != 2 || keys[0].JobID != 7 || string(keys[0].WrappedKey) != "\x01\x02" || keys[1].JobID != 9 {
		t.Errorf("keys after the migration: %+v", keys)
	}
	var docs []jobDocument
	db.Find(&docs)
	if len(docs) != 1 || docs[0].JobID != 7 || string(docs[0].Data) != "\xaa\xbb\xcc" {
		t.Errorf("documents after the migration: %+v", docs)
	}
}

// TestJobsIndexes: the indexes of jobs are the ones the queries use, and
// the purge of finished jobs and the expiry of held ones still find their
// rows through one, on both databases.
func TestJobsIndexes(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		var names []string
		q := `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs' AND sql IS NOT NULL ORDER BY name`
		if db.Dialect == database.Postgres {
			q = `SELECT indexname FROM pg_indexes WHERE tablename = 'jobs' AND indexname <> 'jobs_pkey' ORDER BY indexname`
		}
		if err := db.Raw(q).Scan(&names).Error; err != nil {
			t.Fatal(err)
		}
		want := []string{"jobs_expiry", "jobs_owner_state", "jobs_queue_state", "jobs_spool"}
		if !slices.Equal(names, want) {
			t.Errorf("indexes of jobs: %v, want %v", names, want)
		}
	})
}

// TestJobColumnTypes: the types of the committer's INSERT from arrays on
// PostgreSQL (aloneWrites) are those of the columns.
func TestJobColumnTypes(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		if db.Dialect != database.Postgres {
			t.Skip("PostgreSQL only")
		}
		testenv.CheckColumnTypes(t, db, "jobs", "id, "+jobColumnList, jobColumnTypes)
	})
}

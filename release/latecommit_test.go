package release

import (
	"bytes"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// TestLateCommit: on PostgreSQL the writes of a crashed printgate can
// commit after the next start has begun (here a statement waiting for a
// lock, as a batch's can). Start-up waits for them before it judges
// leftovers, so that their jobs find their documents, in a segment or in
// a file of their own.
func TestLateCommit(t *testing.T) {
	r := newSegmentRig(t, database.Postgres)
	svc, docs := newSegmentBatch(t, r, 5)
	doc := paddedDoc(50, 2*DefaultSmallDocument)
	j, err := svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: "secure", User: "alice", Name: "late",
		Document: ipp.DocumentInfo{Format: "application/octet-stream"}}, bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	docs[int64(j.ID)] = doc
	svc.Close()
	release, committed := lateWrite(t, r.db, slices.Collect(maps.Keys(docs)))

	svc = r.service(nil)
	waiting := make(chan struct{})
	var once sync.Once
	svc.awaitingEarlierWrites = func() { once.Do(func() { close(waiting) }) }
	started := make(chan error, 1)
	go func() { started <- svc.Start(t.Context()) }()
	select {
	case <-waiting:
	case err := <-started:
		t.Fatalf("start-up ended (%v) with the crashed process's statement still running", err)
	}
	release()
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	checkSegmentDocs(t, svc, docs)
}

// lateWrite takes the jobs ids and their keys out of db and writes them
// again as a crashed process's last write: a transaction whose last
// statement, once lateWrite returns, waits for a lock until release is
// called. committed receives the transaction's outcome.
func lateWrite(t *testing.T, db *database.DB, ids []int64) (release func(), committed <-chan error) {
	t.Helper()
	var jobs []Job
	var keys []struct {
		JobID      int64
		WrappedKey []byte
	}
	if err := db.Where("id IN ?", ids).Find(&jobs).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Raw("SELECT job_id, wrapped_key FROM job_keys WHERE job_id IN ?", ids).Scan(&keys).Error; err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DELETE FROM jobs WHERE id IN ?", "DELETE FROM job_keys WHERE job_id IN ?"} {
		if err := db.Exec(q, ids).Error; err != nil {
			t.Fatal(err)
		}
	}
	late := db.Begin()
	t.Cleanup(func() { late.Rollback() })
	if err := late.Create(&jobs).Error; err != nil {
		t.Fatal(err)
	}
	blocker := db.Begin()
	t.Cleanup(func() { blocker.Rollback() })
	if err := blocker.Exec("LOCK TABLE job_keys IN EXCLUSIVE MODE").Error; err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for _, k := range keys {
			if err := late.Exec("INSERT INTO job_keys (job_id, wrapped_key) VALUES (?, ?)", k.JobID, k.WrappedKey).Error; err != nil {
				done <- err
				return
			}
		}
		done <- late.Commit().Error
	}()
	testenv.WaitFor(t, "the crashed process's statement to wait for its lock", func() bool {
		var n int
		db.Raw(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND state = 'active' AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO job_keys%'`).Scan(&n)
		return n > 0
	})
	return func() {
		if err := blocker.Commit().Error; err != nil {
			t.Error(err)
		}
	}, done
}

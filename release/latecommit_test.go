package release

import (
	"bytes"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// TestLateCommit: on PostgreSQL the writes of a crashed printgate can
// commit after the next start has begun (here a statement waiting for a
// lock, as a batch's can).
// Start-up waits for them before it judges leftovers, so that their jobs
// find their documents, in a segment or in a file of their own.
func TestLateCommit(t *testing.T) {
	r, svc, docs := newSegmentBatch(t, 5)
	doc := paddedDoc(50, 2*DefaultSmallDocument)
	j, err := svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: "secure", User: "alice", Name: "late",
		Document: ipp.DocumentInfo{Format: "application/octet-stream"}}, bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	docs[int64(j.ID)] = doc
	svc.Close()

	// The crashed process's writes: its jobs and their keys, written
	// again in a transaction that commits only once start-up has begun.
	ids := slices.Collect(maps.Keys(docs))
	var jobs []Job
	var keys []struct {
		JobID      int64
		WrappedKey []byte
	}
	if err := r.db.Where("id IN ?", ids).Find(&jobs).Error; err != nil {
		t.Fatal(err)
	}
	if err := r.db.Raw("SELECT job_id, wrapped_key FROM job_keys WHERE job_id IN ?", ids).Scan(&keys).Error; err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DELETE FROM jobs WHERE id IN ?", "DELETE FROM job_keys WHERE job_id IN ?"} {
		if err := r.db.Exec(q, ids).Error; err != nil {
			t.Fatal(err)
		}
	}
	late := r.db.Begin()
	defer late.Rollback()
	if err := late.Create(&jobs).Error; err != nil {
		t.Fatal(err)
	}
	// Its last statement waits for a lock, as a batch's statement can.
	blocker := r.db.Begin()
	defer blocker.Rollback()
	if err := blocker.Exec("LOCK TABLE job_keys IN EXCLUSIVE MODE").Error; err != nil {
		t.Fatal(err)
	}
	committed := make(chan error, 1)
	go func() {
		for _, k := range keys {
			if err := late.Exec("INSERT INTO job_keys (job_id, wrapped_key) VALUES (?, ?)", k.JobID, k.WrappedKey).Error; err != nil {
				committed <- err
				return
			}
		}
		committed <- late.Commit().Error
	}()
	testenv.WaitFor(t, "the crashed process's statement to wait for its lock", func() bool {
		var n int
		r.db.Raw(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND state = 'active' AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO job_keys%'`).Scan(&n)
		return n > 0
	})

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
	if err := blocker.Commit().Error; err != nil {
		t.Fatal(err)
	}
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	checkSegmentDocs(t, svc, docs)
}

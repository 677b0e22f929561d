package release

import (
	"sync"
	"testing"

	"github.com/printgate/printgate/internal/testenv"
)

// TestSyncerOverlapsTheNextBatch: on SQLite a busy server's batch is
// answered only after an fsync of the log that began after its commit,
// and the committer writes the next batch meanwhile.
func TestSyncerOverlapsTheNextBatch(t *testing.T) {
	// SQLite alone: PostgreSQL's commit is durable, and its committer has
	// no log to sync.
	svc, _ := slowJournal(t, testenv.SQLite(t, Migrate))
	svc.submitting.Store(directSubmitting + 1) // busy: batches go straight
	entered, resume := make(chan struct{}), make(chan struct{})
	var once, resumed sync.Once
	release := func() { resumed.Do(func() { close(resume) }) }
	t.Cleanup(release) // a failed test lets the committer go before Close
	svc.beforeLogSync = func() {
		once.Do(func() {
			close(entered)
			<-resume
		})
	}
	docs := map[int64][]byte{}
	var mu sync.Mutex
	answered := make(chan int, 2)
	submit := func(i int) {
		id, doc := submitDoc(t, svc, i)
		mu.Lock()
		docs[id] = doc
		mu.Unlock()
		answered <- i
	}
	var wg sync.WaitGroup
	wg.Go(func() { submit(0) })
	<-entered // the first batch committed; its fsync is held
	wg.Go(func() { submit(1) })
	jobs := func() (n int64) {
		if err := svc.db.Model(&Job{}).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	testenv.WaitFor(t, "the second job committed while the first batch's fsync is held", func() bool { return jobs() == 2 })
	select {
	case i := <-answered:
		t.Fatalf("job %d answered before an fsync of the log covered it", i)
	default:
	}
	release()
	wg.Wait()
	checkStored(t, svc, docs)
}

package release

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/testenv"
)

// heldSync is a busy server on SQLite (PostgreSQL's commit is durable,
// and its committer has no log to sync) whose first fsync of the log
// that answers clients waits until release.
type heldSync struct {
	svc *Service
	// entered closes once the first fsync is held.
	entered chan struct{}
	release func()
	mu      sync.Mutex
	docs    map[int64][]byte // the documents of the jobs answered
}

func holdFirstSync(t *testing.T) *heldSync {
	t.Helper()
	svc, _ := slowJournal(t, testenv.SQLite(t, Migrate))
	svc.submitting.Store(directSubmitting + 1) // busy: batches go straight
	h := &heldSync{svc: svc, entered: make(chan struct{}), docs: map[int64][]byte{}}
	resume := make(chan struct{})
	var resumed sync.Once
	h.release = func() { resumed.Do(func() { close(resume) }) }
	t.Cleanup(h.release) // a failed test lets the committer go before Close
	var first atomic.Bool
	svc.beforeLogSync = func() {
		// Only the first is held: a sync.Once would hold every other
		// caller too until it returned.
		if first.CompareAndSwap(false, true) {
			close(h.entered)
			<-resume
		}
	}
	return h
}

// submit submits job i and keeps its document once it is answered.
func (h *heldSync) submit(t *testing.T, i int) {
	id, doc := submitDoc(t, h.svc, i)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.docs[id] = doc
}

// waitJobs waits until n jobs are committed.
func (h *heldSync) waitJobs(t *testing.T, what string, n int64) {
	t.Helper()
	testenv.WaitFor(t, what, func() bool {
		var got int64
		return h.svc.db.Model(&Job{}).Count(&got).Error == nil && got == n
	})
}

// TestSyncerOverlapsTheNextBatch: on SQLite a busy server's batch is
// answered only after an fsync of the log that began after its commit,
// and the committer writes the next batch meanwhile.
func TestSyncerOverlapsTheNextBatch(t *testing.T) {
	h := holdFirstSync(t)
	answered := make(chan int, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			h.submit(t, i)
			answered <- i
		})
		if i == 0 {
			<-h.entered // the first batch committed; its fsync is held
		}
	}
	h.waitJobs(t, "the second job committed while the first batch's fsync is held", 2)
	select {
	case i := <-answered:
		t.Fatalf("job %d answered before an fsync of the log covered it", i)
	default:
	}
	h.release()
	wg.Wait()
	checkStored(t, h.svc, h.docs)
}

// TestSyncerStopping: a batch the committer wrote while the syncer was
// busy is answered, after an fsync of its own, once printgate stops,
// rather than left waiting for a syncer that is gone.
func TestSyncerStopping(t *testing.T) {
	h := holdFirstSync(t)
	var wg sync.WaitGroup
	wg.Go(func() { h.submit(t, 0) })
	<-h.entered // the syncer holds the first batch
	second := make(chan struct{})
	wg.Go(func() {
		h.submit(t, 1)
		close(second)
	})
	h.waitJobs(t, "the second job committed", 2)
	closed := make(chan struct{})
	go func() {
		h.svc.Close()
		close(closed)
	}()
	select {
	case <-second:
	case <-time.After(30 * time.Second):
		t.Fatal("the second job was not answered once printgate stopped: its batch waits for the busy syncer")
	}
	h.release()
	wg.Wait()
	<-closed
	checkStored(t, h.svc, h.docs)
}

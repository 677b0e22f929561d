package release

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// batchService returns a started Service over db whose committer calls
// hook before each commit, with a per-user limit of maxHeld bytes.
func batchService(t *testing.T, db *database.DB, maxHeld int64, hook func([]int64)) (*Service, *audit.Log) {
	t.Helper()
	return startService(t, db, Options{DatabaseID: "TESTDATABASE0003", MaxHeldPerUser: maxHeld, BeforeCommit: hook,
		Queues: []Queue{{Name: "secure", Mode: Hold}}})
}

// paddedDoc is a document of n bytes that names i, so each is unique.
func paddedDoc(i, n int) []byte {
	doc := make([]byte, n)
	copy(doc, fmt.Sprintf("%%PDF-1.4\n%% document %d\n", i))
	return doc
}

// gate holds the committer inside a batch, before its commit, until
// opened, and notes the size of every batch that reaches its commit.
type gate struct {
	mu      sync.Mutex
	sizes   []int
	hold    bool
	entered chan struct{}
	resume  chan struct{}
}

// close makes the next batch wait in the gate.
func (g *gate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hold, g.sizes = true, nil
	g.entered, g.resume = make(chan struct{}), make(chan struct{})
}

func (g *gate) beforeCommit(ids []int64) {
	g.mu.Lock()
	g.sizes = append(g.sizes, len(ids))
	hold := g.hold
	g.hold = false
	g.mu.Unlock()
	if hold {
		close(g.entered)
		<-g.resume
	}
}

// TestCommitBatch holds the committer inside a batch while seven
// submissions queue behind it, so that they form the next batch. Each user
// may keep 25,000 bytes and each document has 10,000. Seven users' jobs
// commit together; of seven jobs of one user, two commit in that same one
// transaction and five are refused, with no job tried again on its own.
// Every accepted job has its document, key and events; the refused ones
// leave nothing. On PostgreSQL the one user's seven are first sent as one
// statement, which the trigger refuses whole, and then written by the
// transaction.
func TestCommitBatch(t *testing.T) {
	cases := []struct {
		name     string
		users    []string
		accepted int
	}{
		{"seven users", []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7"}, 7},
		{"one user past the limit", []string{"taro", "taro", "taro", "taro", "taro", "taro", "taro"}, 2},
	}
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		g := &gate{}
		svc, log := batchService(t, db, 25_000, g.beforeCommit)
		submit := func(user string, doc []byte) (ipp.Job, error) {
			return svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: "secure", User: user, Name: "batch",
				Document: ipp.DocumentInfo{Format: "application/octet-stream"}}, bytes.NewReader(doc))
		}
		acked := map[int64][]byte{}
		for _, c := range cases {
			g.close()
			var wg sync.WaitGroup
			wg.Go(func() {
				if _, err := submit("hanako", paddedDoc(0, 100)); err != nil {
					t.Errorf("%s: the first job: %v", c.name, err)
				}
			})
			<-g.entered
			var mu sync.Mutex
			var accepted, refused int
			for i, user := range c.users {
				wg.Go(func() {
					doc := paddedDoc(i, 10_000)
					j, err := submit(user, doc)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						accepted++
						acked[int64(j.ID)] = doc
					case errors.Is(err, ipp.ErrNotPossible):
						refused++
					default:
						t.Errorf("%s: job %d: %v", c.name, i, err)
					}
				})
			}
			testenv.WaitFor(t, "seven submissions waiting for the committer", func() bool { return svc.waiting.Load() == 7 })
			close(g.resume)
			wg.Wait()
			if accepted != c.accepted || refused != 7-c.accepted {
				t.Errorf("%s: %d jobs accepted and %d refused; want %d and %d", c.name, accepted, refused, c.accepted, 7-c.accepted)
			}
			want := []int{1, c.accepted}
			if db.Dialect == database.Postgres && c.accepted < 7 {
				// Sent first as one statement (alone.go), which the
				// held-bytes trigger refused whole; then the transaction.
				want = []int{1, 7, c.accepted}
			}
			if !slices.Equal(g.sizes, want) {
				t.Errorf("%s: batches of %v jobs committed; want %v: the seven waiting in one", c.name, g.sizes, want)
			}
		}
		checkStored(t, svc, acked)
		if rep, err := log.Verify(t.Context(), 0, 0); err != nil || rep.FirstBad != 0 {
			t.Errorf("audit chain: %+v, %v", rep, err)
		}
		var submitted int64
		db.Raw("SELECT count(*) FROM audit_events WHERE type = ?", audit.EventSubmitted).Scan(&submitted)
		if want := int64(len(acked) + len(cases)); submitted != want {
			t.Errorf("%d submitted events, want %d", submitted, want)
		}
	})
}

// checkStored checks that the jobs of every user but hanako are exactly
// those of docs, each with its key and its document, intact, in the
// database or (applied from the journal) in a spool segment.
func checkStored(t *testing.T, svc *Service, docs map[int64][]byte) {
	t.Helper()
	var jobs []Job
	if err := svc.db.Where("owner <> ?", "hanako").Find(&jobs).Error; err != nil {
		t.Fatal(err)
	}
	if len(jobs) != len(docs) {
		t.Errorf("%d jobs stored, want %d", len(jobs), len(docs))
	}
	for _, j := range jobs {
		want, ok := docs[j.ID]
		if !ok || !j.DocInDB && j.DocSegment == 0 {
			t.Errorf("job %d: acknowledged %v, document in the database %v, in segment %d", j.ID, ok, j.DocInDB, j.DocSegment)
			continue
		}
		r, err := svc.openDocument(t.Context(), &j)
		if err != nil {
			t.Errorf("job %d: %v", j.ID, err)
			continue
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || sha256.Sum256(got) != sha256.Sum256(want) || !bytes.Equal(j.SHA256, hash(want)) {
			t.Errorf("job %d: document read back %d bytes, %v; want the one sent", j.ID, len(got), err)
		}
	}
	var orphans int64
	svc.db.Raw(`SELECT count(*) FROM job_documents WHERE job_id NOT IN (SELECT id FROM jobs)`).Scan(&orphans)
	if orphans != 0 {
		t.Errorf("%d documents without a job", orphans)
	}
}

func hash(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

// TestCommitClose closes the service while a batch is held before its
// commit and three submissions queue behind it. Close waits for the batch
// (its connection must not close under it); every client is answered, the
// queued three and a later one refused as unavailable, none left hanging.
func TestCommitClose(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		g := &gate{}
		svc, _ := batchService(t, db, 0, g.beforeCommit)
		submit := func(i int) error {
			_, err := svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: "secure", User: "hanako", Name: "close",
				Document: ipp.DocumentInfo{Format: "application/octet-stream"}}, bytes.NewReader(paddedDoc(i, 100)))
			return err
		}
		g.close()
		errs := make(chan error, 4)
		go func() { errs <- submit(0) }()
		<-g.entered
		for i := 1; i <= 3; i++ {
			go func() { errs <- submit(i) }()
		}
		testenv.WaitFor(t, "three submissions queued", func() bool { return svc.waiting.Load() == 3 })
		closed := make(chan struct{})
		go func() {
			svc.Close()
			close(closed)
		}()
		select {
		case <-closed:
			t.Fatal("Close returned while a batch was being committed")
		case <-time.After(200 * time.Millisecond):
		}
		close(g.resume)
		select {
		case <-closed:
		case <-time.After(30 * time.Second):
			t.Fatal("Close did not return once the batch was done")
		}
		refused := 0
		for range 4 {
			select {
			case err := <-errs:
				if errors.Is(err, ipp.ErrUnavailable) {
					refused++
				}
			case <-time.After(30 * time.Second):
				t.Fatal("a submission was never answered")
			}
		}
		if refused < 3 {
			t.Errorf("%d of the four submissions refused as unavailable; want at least the three queued", refused)
		}
		if err := submit(9); !errors.Is(err, ipp.ErrUnavailable) {
			t.Errorf("a submission after Close: %v; want unavailable", err)
		}
	})
}

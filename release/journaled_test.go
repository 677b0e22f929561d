package release

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release/spool"
)

// journaledService starts a Service on SQLite db with the journal in dir
// and the spool sp, and a test hook before each apply.
func journaledService(t *testing.T, db *database.DB, sp *spool.Spool, dir string, beforeApply func() error) (*Service, *audit.Log) {
	t.Helper()
	return journaledServiceOpts(t, db, sp, dir, beforeApply, Options{})
}

// journaledServiceOpts is journaledService with more options.
func journaledServiceOpts(t *testing.T, db *database.DB, sp *spool.Spool, dir string, beforeApply func() error, opts Options) (*Service, *audit.Log) {
	t.Helper()
	if err := audit.Migrate(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	log := audit.New(db, audit.Options{Key: bytes.Repeat([]byte{7}, 32)})
	opts.DB, opts.Spool, opts.Audit, opts.DatabaseID, opts.JournalDir = db, sp, log, "TESTDATABASE0003", dir
	opts.Queues = []Queue{{Name: "secure", Mode: Hold}}
	svc, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	svc.beforeApply = beforeApply
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc, log
}

// unappliedJobs leaves three acknowledged jobs in the journal at dir that
// its applier never wrote to db, and returns their documents by ID.
func unappliedJobs(t *testing.T, db *database.DB, sp *spool.Spool, dir string) map[int64][]byte {
	t.Helper()
	return unappliedJobsOpts(t, db, sp, dir, Options{})
}

// unappliedJobsOpts is unappliedJobs for a service with more options.
func unappliedJobsOpts(t *testing.T, db *database.DB, sp *spool.Spool, dir string, opts Options) map[int64][]byte {
	t.Helper()
	// The applier fails only once the three are acknowledged: failing,
	// the journal refuses the next submission.
	acked := make(chan struct{})
	first, _ := journaledServiceOpts(t, db, sp, dir, func() error { <-acked; return errors.New("the disk is gone") }, opts)
	docs := map[int64][]byte{}
	for i := range 3 {
		id, doc := submitDoc(t, first, i)
		docs[id] = doc
	}
	close(acked)
	// A stop after the applier has failed must end: it once retried the
	// records it could not apply, for ever (the test then hangs here
	// until go test's timeout).
	testenv.WaitFor(t, "the applier to fail", func() bool { return first.journal.failing.Load() != nil })
	first.Close()
	return docs
}

func submitDoc(t *testing.T, svc *Service, i int) (int64, []byte) {
	t.Helper()
	doc := paddedDoc(i, 5_000)
	j, err := svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: "secure", User: "taro", Name: "journaled",
		Document: ipp.DocumentInfo{Format: "application/octet-stream"}}, bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("job %d: %v", i, err)
	}
	return int64(j.ID), doc
}

func newTestSpool(t *testing.T) *spool.Spool {
	t.Helper()
	sp, err := spool.Open(t.TempDir(), spool.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	return sp
}

// TestJournaledReadsItsWrites reads each job right after its client was
// answered, while its row is still only in the journal: the read waits
// for the applier and finds it.
func TestJournaledReadsItsWrites(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		svc, _ := journaledService(t, db, newTestSpool(t), t.TempDir(), nil)
		behind := 0
		for i := range 20 {
			id, _ := submitDoc(t, svc, i)
			if svc.journal.applied.Load() < svc.journal.appended.Load() {
				behind++
			}
			var j Job
			if err := svc.db.WithContext(t.Context()).Take(&j, id).Error; err != nil {
				t.Fatalf("job %d, read right after its client heard of it: %v", id, err)
			}
		}
		if behind == 0 {
			t.Error("no read came before its job's row was written: the test did not test the barrier")
		}
	})
}

// TestJournalReplay stops a Service whose applier could write nothing:
// the jobs its clients were told of are only in the journal. The next
// start writes them, with their documents and events, and retires the
// journal's segments and their keys.
func TestJournalReplay(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		sp, dir := newTestSpool(t), t.TempDir()
		broken := errors.New("the disk is gone")
		docs := unappliedJobs(t, db, sp, dir)
		var n int64
		db.Raw(`SELECT count(*) FROM jobs`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d jobs written by an applier that could write none", n)
		}

		svc, log := journaledService(t, db, sp, dir, nil)
		checkStored(t, svc, docs)
		var submitted int64
		db.Raw("SELECT count(*) FROM audit_events WHERE type = ?", audit.EventSubmitted).Scan(&submitted)
		if submitted != 3 {
			t.Errorf("%d submitted events after the replay, want 3", submitted)
		}
		if rep, err := log.Verify(t.Context(), 0, 0); err != nil || rep.FirstBad != 0 {
			t.Errorf("audit chain: %+v, %v", rep, err)
		}
		segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
		var keys int64
		db.Raw(`SELECT count(*) FROM journal_keys`).Scan(&keys)
		if len(segs) != 0 || keys != 0 {
			t.Errorf("after the replay %d segments and %d keys remain, want none", len(segs), keys)
		}
		id, doc := submitDoc(t, svc, 9)
		if docs[id] != nil {
			t.Errorf("a new job took ID %d, one of the replayed jobs'", id)
		}
		docs[id] = doc
		// A clean stop applies and retires everything; jobs the next
		// applier cannot write must still be replayed after that.
		svc.Close()
		third, _ := journaledService(t, db, sp, dir, func() error { return broken })
		id, doc = submitDoc(t, third, 10)
		docs[id] = doc
		third.Close()
		svc, _ = journaledService(t, db, sp, dir, nil)
		checkStored(t, svc, docs)
	})
}

// TestJournalsOfTwoInstances runs two instances on one PostgreSQL, each
// with the journal of its own data dir, whose appliers can write nothing:
// both journals number their segments and records from 1, and each start
// writes its own journal's jobs and no other's.
func TestJournalsOfTwoInstances(t *testing.T) {
	db := openPostgres(t, testenv.Postgres(t))
	names := []string{"instance-a", "instance-b"}
	var sps []*spool.Spool
	var dirs []string
	var docs []map[int64][]byte
	for _, name := range names {
		sp, dir := newTestSpool(t), t.TempDir()
		sps, dirs = append(sps, sp), append(dirs, dir)
		docs = append(docs, unappliedJobsOpts(t, db, sp, dir, Options{Instance: name}))
	}
	var keys int64
	db.Raw(`SELECT count(*) FROM journal_keys WHERE segment = 1`).Scan(&keys)
	if keys != 2 {
		t.Errorf("%d keys of a first segment, want one for each instance's journal", keys)
	}
	a, _ := journaledServiceOpts(t, db, sps[0], dirs[0], nil, Options{Instance: names[0]})
	checkStored(t, a, docs[0])
	b, _ := journaledServiceOpts(t, db, sps[1], dirs[1], nil, Options{Instance: names[1]})
	var n int64
	db.Raw(`SELECT count(*) FROM jobs`).Scan(&n)
	if n != 6 {
		t.Errorf("%d jobs after both starts, want 6", n)
	}
	for id, want := range docs[1] {
		j := Job{ID: id}
		if err := db.Take(&j).Error; err != nil {
			t.Fatalf("job %d of the second instance: %v", id, err)
		}
		r, err := b.openDocument(t.Context(), &j)
		if err != nil {
			t.Fatalf("job %d of the second instance: %v", id, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("job %d of the second instance: document read back %d bytes, %v; want the one sent", id, len(got), err)
		}
	}
	var positions []string
	db.Raw(`SELECT instance || ':' || seq FROM journal_applied ORDER BY instance`).Scan(&positions)
	if want := []string{"instance-a:3", "instance-b:3"}; !slices.Equal(positions, want) {
		t.Errorf("journal positions %v, want %v", positions, want)
	}
}

// TestJournalOneProcessPerInstance: two processes started from copies of
// one data dir (one instance id) on one PostgreSQL would share the
// journal's rows. The second refuses to start, and starts once the first
// has stopped.
func TestJournalOneProcessPerInstance(t *testing.T) {
	db := openPostgres(t, testenv.Postgres(t))
	first, _ := journaledServiceOpts(t, db, newTestSpool(t), t.TempDir(), nil, Options{Instance: "copied"})
	second, err := New(Options{DB: db, Spool: newTestSpool(t), Audit: audit.New(db, audit.Options{Key: bytes.Repeat([]byte{7}, 32)}),
		DatabaseID: "TESTDATABASE0003", JournalDir: t.TempDir(), Instance: "copied", Queues: []Queue{{Name: "secure", Mode: Hold}}})
	if err != nil {
		t.Fatal(err)
	}
	err = second.Start(t.Context())
	second.Close()
	if err == nil || !strings.Contains(err.Error(), "instance id") {
		t.Errorf("a second process of one instance started: %v, want a refusal naming the instance id", err)
	}
	first.Close()
	journaledServiceOpts(t, db, newTestSpool(t), t.TempDir(), nil, Options{Instance: "copied"})
}

// FuzzDecodeRecord feeds decodeRecord what a journal record could hold:
// only records that verified under their segment's key reach it, but a
// bug in an older version could have written anything.
func FuzzDecodeRecord(f *testing.F) {
	r := record{Job: Job{ID: 7, Owner: "taro", Queue: "secure", WrappedKey: []byte{1, 2}}, Doc: []byte("%PDF-1.4")}
	good, err := r.encode(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:3])
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, '{', '}'})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		if len(r.Doc) > len(b) {
			t.Fatalf("a document of %d bytes out of a record of %d", len(r.Doc), len(b))
		}
	})
}

// TestJournaledHeldLimit fills a user's allowance with jobs that wait in
// the journal, then lets them be applied: what the user holds is counted
// once, from the database, and the next job fits where it should.
func TestJournaledHeldLimit(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		// Each document is 5,000 bytes: two fit in 12,000, three do not.
		svc, _ := journaledServiceOpts(t, db, newTestSpool(t), t.TempDir(), nil, Options{MaxHeldPerUser: 12_000})
		first, _ := submitDoc(t, svc, 0)
		submitDoc(t, svc, 1)
		_, err := svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: "secure", User: "taro", Name: "third",
			Document: ipp.DocumentInfo{Format: "application/octet-stream"}}, bytes.NewReader(paddedDoc(2, 5_000)))
		if !errors.Is(err, ipp.ErrNotPossible) {
			t.Errorf("a third job past the limit, its peers still in the journal: %v, want refused", err)
		}
		// Once applied, they count from the database only.
		testenv.WaitFor(t, "the jobs applied", func() bool {
			return svc.journal.applied.Load() == svc.journal.appended.Load()
		})
		if err := svc.db.Where("id = ?", first).Delete(&Job{}).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: "secure", User: "taro", Name: "fits",
			Document: ipp.DocumentInfo{Format: "application/octet-stream"}}, bytes.NewReader(paddedDoc(3, 5_000))); err != nil {
			t.Errorf("a job within the limit once one was deleted: %v", err)
		}
	})
}

// TestJournaledFailsClosed breaks the applier's transaction (as a broken
// audit trail would): the job acknowledged before that was known waits in
// the journal, no job row appears without its events, and every later
// submission is refused until the applier writes the waiting job, events
// and all.
func TestJournaledFailsClosed(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		var broken atomic.Bool
		broken.Store(true)
		svc, _ := journaledService(t, db, newTestSpool(t), t.TempDir(), func() error {
			if broken.Load() {
				return errors.New("audit storage failed")
			}
			return nil
		})
		first, _ := submitDoc(t, svc, 0)
		testenv.WaitFor(t, "the applier to fail", func() bool { return svc.journal.failing.Load() != nil })
		_, err := svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: "secure", User: "taro", Name: "refused",
			Document: ipp.DocumentInfo{Format: "application/octet-stream"}}, bytes.NewReader(paddedDoc(1, 5_000)))
		if err == nil {
			t.Fatal("a submission while the applier fails was accepted")
		}
		count := func(table string, id int64) int64 {
			var n int64
			if err := db.Table(table).Where("job_id = ?", id).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			return n
		}
		var rows int64
		if err := db.Table("jobs").Count(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if rows != 0 {
			t.Errorf("%d job rows while the applier fails, want none", rows)
		}
		broken.Store(false)
		// The applier clears its failure only after its transaction commits:
		// the row can be seen a moment before submissions are taken again.
		testenv.WaitFor(t, "the waiting job written", func() bool {
			return count("audit_jobs", first) == 1 && svc.journal.failing.Load() == nil
		})
		var j Job
		if err := db.Take(&j, first).Error; err != nil {
			t.Errorf("the acknowledged job once the applier works again: %v", err)
		}
		if n := count("audit_events", first); n == 0 {
			t.Error("the acknowledged job has no audit events")
		}
		submitDoc(t, svc, 2)
	})
}

// TestJournalKeysWrapped: the database keeps the journal's segment keys
// wrapped by the spool's master key, so that the database alone opens no
// segment.
func TestJournalKeysWrapped(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		svc, _ := journaledService(t, db, newTestSpool(t), t.TempDir(), nil)
		submitDoc(t, svc, 0)
		var rows []struct {
			Segment uint64
			Key     []byte
		}
		if err := db.Raw(`SELECT segment, key FROM journal_keys`).Scan(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			t.Fatal("no segment key kept")
		}
		other := newTestSpool(t)
		for _, r := range rows {
			if _, err := svc.spool.UnwrapKey(keyName(r.Segment), r.Key); err != nil {
				t.Errorf("segment %d: its key does not unwrap with the master key: %v", r.Segment, err)
			}
			if _, err := other.UnwrapKey(keyName(r.Segment), r.Key); err == nil {
				t.Errorf("segment %d: its key opens without the master key", r.Segment)
			}
		}
	})
}

// TestJournaledDirectBatch holds the committer inside a journaled batch
// of one while eight submissions queue behind it: those eight are written
// straight to the database (commitDirect), after the record still
// pending, and never to the journal; their IDs follow the first job's.
func TestJournaledDirectBatch(t *testing.T) {
	for _, tc := range []struct {
		name string
		// failures is how many times writing the pending records fails:
		// once, and the batch's transaction that carried them is tried
		// again without them, after them.
		failures int
	}{
		{name: "in one transaction"},
		{name: "apart after a failure", failures: 1},
	} {
		t.Run(tc.name, func(t *testing.T) { testJournaledDirectBatch(t, tc.failures) })
	}
}

func testJournaledDirectBatch(t *testing.T, failures int) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		g := &gate{}
		var failed atomic.Int32
		svc, log := journaledService(t, db, newTestSpool(t), t.TempDir(), func() error {
			if int(failed.Add(1)) <= failures {
				return errors.New("test: the pending records cannot be written")
			}
			return nil
		})
		svc.beforeCommit = g.beforeCommit
		jn := svc.journal
		// The applier leaves the first job's record pending: only the
		// direct batch can write it.
		jn.mu.Lock()
		jn.delay = time.Hour
		jn.mu.Unlock()
		g.close()
		docs := map[int64][]byte{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		wg.Go(func() {
			id, doc := submitDoc(t, svc, 0)
			mu.Lock()
			defer mu.Unlock()
			docs[id] = doc
		})
		<-g.entered
		for i := range directBatch {
			wg.Go(func() {
				id, doc := submitDoc(t, svc, i+1)
				mu.Lock()
				defer mu.Unlock()
				docs[id] = doc
			})
		}
		testenv.WaitFor(t, "eight submissions waiting for the committer", func() bool { return svc.waiting.Load() == directBatch })
		// Released, the first job's record is appended and waits while
		// the committer takes the eight.
		close(g.resume)
		wg.Wait()
		if want := []int{1, directBatch}; !slices.Equal(g.sizes, want) {
			t.Errorf("batches of %v jobs; want %v", g.sizes, want)
		}
		if got := jn.j.Next(); got != 2 {
			t.Errorf("the journal numbers record %d next, want 2: only the first job went to it", got)
		}
		jn.mu.Lock()
		pending, held := len(jn.pending), len(jn.heldPending)
		jn.mu.Unlock()
		if pending != 0 || held != 0 || jn.failing.Load() != nil || jn.applied.Load() != 1 {
			t.Errorf("after the direct batch: %d records pending, %d owners' bytes pending, failing %v, applied through %d; want none, none, nil, 1",
				pending, held, jn.failing.Load(), jn.applied.Load())
		}
		ids := slices.Sorted(maps.Keys(docs))
		for i := 1; i < len(ids); i++ {
			if ids[i] != ids[0]+int64(i) {
				t.Fatalf("job IDs %v: want the first job's and the eight after it", ids)
			}
		}
		checkStored(t, svc, docs)
		// The pending record was written before the batch: its events
		// come first in the chain.
		var firstSeq, batchSeq int64
		db.Raw(`SELECT min(seq) FROM audit_events WHERE job_id = ?`, ids[0]).Scan(&firstSeq)
		db.Raw(`SELECT min(seq) FROM audit_events WHERE job_id > ?`, ids[0]).Scan(&batchSeq)
		if firstSeq == 0 || firstSeq > batchSeq {
			t.Errorf("the first job's events begin at %d, the batch's at %d", firstSeq, batchSeq)
		}
		if rep, err := log.Verify(t.Context(), 0, 0); err != nil || rep.FirstBad != 0 {
			t.Errorf("audit chain: %+v, %v", rep, err)
		}
		if got := int(failed.Load()); got != failures+1 {
			t.Errorf("the pending records were tried %d times, want %d", got, failures+1)
		}
	})
}

// TestJournaledBusyGoesDirect: while more than directSubmitting
// submissions are under way, the cores are the limit, and even a batch
// of one is written straight to the database; a quiet server journals
// it, unless maxPending records already wait.
func TestJournaledBusyGoesDirect(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		svc, jn := slowJournal(t, db)
		svc.submitting.Store(directSubmitting) // others under way
		id, doc := submitDoc(t, svc, 0)
		if got := jn.j.Next(); got != 1 {
			t.Fatalf("the journal numbers record %d next, want 1: the job went to it while the server was busy", got)
		}
		checkStored(t, svc, map[int64][]byte{id: doc})
		svc.submitting.Store(0)
		submitDoc(t, svc, 1)
		if got := jn.j.Next(); got != 2 {
			t.Errorf("the journal numbers record %d next, want 2: a quiet server's job went past it", got)
		}
		// An applier that has fallen behind (here, held) lets no more
		// than maxPending records, and their documents, wait: past them a
		// batch of one, on a quiet server, goes straight too.
		unlock := holdApplier(t, jn)
		for i := 1; i < maxPending; i++ {
			submitDoc(t, svc, i+1)
			if i == maxPending-2 && svc.goDirect([]*submission{{}}) {
				t.Errorf("%d records pending: a batch of one goes straight", maxPending-1)
			}
		}
		if got := jn.j.Next(); got != maxPending+1 {
			t.Fatalf("the journal numbers record %d next, want %d", got, maxPending+1)
		}
		if !svc.goDirect([]*submission{{}}) {
			t.Errorf("%d records pending: a batch of one goes to the journal", maxPending)
		}
		unlock()
	})
}

// TestJournaledReaderHurries: a reader at the barrier has the applier
// write what is pending at once instead of waiting for more records (here
// an hour), and sees the job whose client was just answered.
func TestJournaledReaderHurries(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		svc, jn := slowJournal(t, db)
		id, doc := submitDoc(t, svc, 0)
		if got := jn.j.Next(); got != 2 {
			t.Fatalf("the journal numbers record %d next, want 2: the job did not go to it", got)
		}
		checkStored(t, svc, map[int64][]byte{id: doc})
	})
}

// TestJournaledKeepsItsDocuments: a record pending in the journal keeps
// its own copy of the sealed document. The client's buffer goes back to
// its pool once the client is answered, and the next submissions reuse it
// while the record waits for the applier.
func TestJournaledKeepsItsDocuments(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		svc, jn := slowJournal(t, db)
		// Held, the applier cannot write the records however busy the
		// machine: a read that comes meanwhile (the first sweep's) hurries
		// it past its delay.
		unlock := holdApplier(t, jn)
		want := map[int64][]byte{}
		for i := range 4 {
			id, doc := submitDoc(t, svc, i)
			want[id] = doc
		}
		if got := jn.applied.Load(); got != 0 {
			t.Fatalf("the applier wrote records up to %d before any read: the test did not test pending records", got)
		}
		unlock()
		checkStored(t, svc, want)
	})
}

// TestRecordBufsCleared: a record's buffer held a sealed document and its
// job's wrapped key; it is zeroed before another record may take it.
func TestRecordBufsCleared(t *testing.T) {
	var p recordBufs
	b := p.get()
	*b = append(*b, "wrapped key and sealed document"...)
	kept := (*b)[:cap(*b)]
	p.put(b)
	if len(*b) != 0 || !bytes.Equal(kept, make([]byte, len(kept))) {
		t.Errorf("a buffer given back holds %q (length %d), want zeros", kept, len(*b))
	}
	big := make([]byte, maxPooledRecord+1)
	p.put(&big) // too large to keep: dropped, not an error
}

// TestJournaledOwnerScope: a read scoped to one owner (a release) waits
// for that owner's pending records only, not for another user's.
func TestJournaledOwnerScope(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		svc, jn := slowJournal(t, db)
		unlock := holdApplier(t, jn) // taro's record stays pending
		submitDoc(t, svc, 0)
		ctx, cancel := context.WithTimeout(forOwner(t.Context(), "hanako"), 2*time.Second)
		defer cancel()
		var n int64
		if err := svc.db.WithContext(ctx).Model(&Job{}).Where("owner = ?", "hanako").Count(&n).Error; err != nil {
			t.Errorf("hanako's read while taro's record is pending: %v", err)
		}
		ctx, cancel = context.WithTimeout(forOwner(t.Context(), "taro"), 100*time.Millisecond)
		defer cancel()
		if err := svc.db.WithContext(ctx).Model(&Job{}).Where("owner = ?", "taro").Count(&n).Error; err == nil {
			t.Errorf("taro's read did not wait for taro's pending record")
		}
		unlock()
	})
}

// slowJournal returns a journaled service on db, SQLite only (it skips
// the others), whose applier waits an hour for more records: a journaled
// job stays pending until a reader or a direct batch writes it.
func slowJournal(t *testing.T, db *database.DB) (*Service, *journaled) {
	t.Helper()
	svc, _ := journaledService(t, db, newTestSpool(t), t.TempDir(), nil)
	jn := svc.journal
	jn.mu.Lock()
	jn.delay = time.Hour
	jn.mu.Unlock()
	return svc, jn
}

// holdApplier holds the applier's lock until unlock, or the test's end,
// lets it go: before the service's Close, which applies.
func holdApplier(t *testing.T, jn *journaled) (unlock func()) {
	jn.applying.Lock()
	var once sync.Once
	unlock = func() { once.Do(jn.applying.Unlock) }
	t.Cleanup(unlock)
	return unlock
}

// TestGoDirect: which batches go straight to the database rather than
// through the journal, on both databases alike: a large batch, a busy
// server, or one whose applier has fallen behind. Until 2026-12-07 a
// batch of two on PostgreSQL went straight.
func TestGoDirect(t *testing.T) {
	for _, dialect := range []database.Dialect{database.SQLite, database.Postgres} {
		for _, tc := range []struct {
			jobs       int
			submitting int32
			pending    int
			want       bool
		}{
			{1, 1, 0, false},
			{1, 2, 0, false},
			{2, 2, 0, false},
			{directBatch - 1, directSubmitting, 0, false},
			{directBatch, 1, 0, true},
			{1, directSubmitting + 1, 0, true},
			{1, 1, maxPending, true},
		} {
			s := &Service{texts: database.NewTexts(dialect), journal: &journaled{pending: make([]pendingRecord, tc.pending)}}
			s.submitting.Store(tc.submitting)
			if got := s.goDirect(make([]*submission, tc.jobs)); got != tc.want {
				t.Errorf("%s, a batch of %d, %d Print-Jobs under way, %d records pending: straight %v, want %v",
					dialect, tc.jobs, tc.submitting, tc.pending, got, tc.want)
			}
		}
	}
}

// TestJournalApplierLocksOwnersInOrder: the applier locks the owners'
// held_bytes rows in name order, as every batch does, whatever order
// their records came in: on PostgreSQL records of carol, carol and alice
// once locked carol, then waited for alice, while another instance's
// batch of both held alice and waited for carol. The chain head too is
// locked only after the owners, and the records go in one statement
// (applyAlone).
func TestJournalApplierLocksOwnersInOrder(t *testing.T) {
	db := openPostgres(t, testenv.Postgres(t))
	svc, jn := slowJournal(t, db)
	unlock := holdApplier(t, jn)
	for i, user := range []string{"carol", "carol", "alice"} {
		_, err := svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: "secure", User: user, Name: "ordered",
			Document: ipp.DocumentInfo{Format: "application/octet-stream"}}, bytes.NewReader(paddedDoc(i, 5_000)))
		if err != nil {
			t.Fatal(err)
		}
	}
	b := startBlockedApply(t, db, svc, unlock, "alice", "carol")
	for what, q := range map[string]string{
		"carol's row":    `SELECT 1 FROM held_bytes WHERE owner = 'carol' FOR UPDATE NOWAIT`,
		"the chain head": `SELECT 1 FROM audit_chain WHERE id = 1 FOR UPDATE NOWAIT`,
	} {
		other := b.raw.Begin()
		err := other.Exec(q).Error
		other.Rollback()
		if err != nil {
			t.Errorf("%s, while the apply waits for alice's row: %v; want it not yet locked", what, err)
		}
	}
	b.blocker.Rollback()
	<-b.applied
	if len(b.statements) != 1 || b.statements[0] != nil {
		t.Errorf("the applier's statements: %v; want one, written (applyAlone)", b.statements)
	}
	var n int64
	db.Raw(`SELECT count(*) FROM jobs`).Scan(&n)
	if n != 3 {
		t.Errorf("%d jobs applied, want 3", n)
	}
}

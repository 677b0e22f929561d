package release

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release/spool"
)

// segmentRig is a service whose spool and database outlive it, so that
// a test can start another on them, as after a crash. On SQLite its
// service journals (the journal's direct batches put their documents in
// segments); on PostgreSQL the committer does.
type segmentRig struct {
	t       *testing.T
	db      *database.DB
	spool   *spool.Spool
	dir     string
	journal string
	gate    *gate
}

// eachSegmentDB runs test on a rig on each database.
func eachSegmentDB(t *testing.T, test func(t *testing.T, r *segmentRig)) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		t.Run(string(d), func(t *testing.T) { test(t, newSegmentRig(t, d)) })
	}
}

func newSegmentRig(t *testing.T, d database.Dialect) *segmentRig {
	t.Helper()
	r := &segmentRig{t: t, dir: t.TempDir(), gate: &gate{}}
	if d == database.Postgres {
		r.db = openPostgres(t, testenv.Postgres(t))
	} else {
		r.db, r.journal = openSQLite(t), t.TempDir()
	}
	if err := audit.Migrate(t.Context(), r.db); err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(r.dir, spool.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	r.spool = sp
	return r
}

// newSegmentBatch starts a service on a new rig and commits there one
// batch of n small documents (batch), every one of them accepted.
func newSegmentBatch(t *testing.T, r *segmentRig, n int) (*Service, map[int64][]byte) {
	t.Helper()
	svc := r.start(nil)
	docs, errs := r.batch(svc, n, 0)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return svc, docs
}

// start starts a service on the rig; syncFails, unless nil, is what the
// segments' syncs answer.
func (r *segmentRig) start(syncFails error) *Service {
	r.t.Helper()
	svc := r.service(syncFails)
	if err := svc.Start(r.t.Context()); err != nil {
		r.t.Fatal(err)
	}
	return svc
}

// service is start's service, not started.
func (r *segmentRig) service(syncFails error) *Service {
	r.t.Helper()
	svc, err := New(Options{DB: r.db, Spool: r.spool, Audit: audit.New(r.db, audit.Options{Key: bytes.Repeat([]byte{7}, 32)}),
		DatabaseID: "TESTDATABASE0003", SweepEvery: time.Hour, BeforeCommit: r.gate.beforeCommit,
		JournalDir: r.journal, Queues: []Queue{{Name: "secure", Mode: Hold}}})
	if err != nil {
		r.t.Fatal(err)
	}
	svc.segmentSize = 30_000 // three documents a segment
	if syncFails != nil {
		svc.beforeSegmentSync = func() error { return syncFails }
	}
	r.t.Cleanup(svc.Close)
	return svc
}

// batch holds the committer on one job while n more queue behind it, so
// that they go as one batch, and returns the n jobs' documents by job
// and their submissions' errors. On SQLite a batch of directBatch or
// more goes straight to the database (commitDirect), not to the journal.
func (r *segmentRig) batch(svc *Service, n, from int) (map[int64][]byte, []error) {
	t := r.t
	t.Helper()
	submit := func(i, size int) (ipp.Job, error) {
		return svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: "secure", User: "alice", Name: "seg",
			Document: ipp.DocumentInfo{Format: "application/octet-stream"}}, bytes.NewReader(paddedDoc(i, size)))
	}
	r.gate.close()
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := submit(from, 100); err != nil {
			t.Errorf("the job that holds the committer: %v", err)
		}
	})
	<-r.gate.entered
	var mu sync.Mutex
	docs := map[int64][]byte{}
	var errs []error
	for i := range n {
		wg.Go(func() {
			doc := paddedDoc(from+1+i, 10_000)
			j, err := submit(from+1+i, len(doc))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			docs[int64(j.ID)] = doc
		})
	}
	testenv.WaitFor(t, "the batch waiting for the committer", func() bool { return svc.waiting.Load() == int32(n) })
	close(r.gate.resume)
	wg.Wait()
	return docs, errs
}

// where returns, by job, the segment each of docs' jobs points into (0:
// in the database).
func (r *segmentRig) where(docs map[int64][]byte) map[int64]int64 {
	r.t.Helper()
	out := map[int64]int64{}
	for id := range docs {
		var j Job
		if err := r.db.Omit("password_hash").Take(&j, id).Error; err != nil {
			r.t.Fatal(err)
		}
		if j.DocInDB == (j.DocSegment != 0) {
			r.t.Errorf("job %d: in the database %v and in segment %d", id, j.DocInDB, j.DocSegment)
		}
		out[id] = j.DocSegment
	}
	return out
}

// TestSegmentsCommitted: a batch of eight small documents goes to a
// spool segment, not to job_documents, and reads back (on SQLite a batch
// the journal's committer writes straight to the database); a segment no
// held job points into any more goes at the next sweep.
func TestSegmentsCommitted(t *testing.T) {
	eachSegmentDB(t, func(t *testing.T, r *segmentRig) {
		svc, docs := newSegmentBatch(t, r, directBatch)
		segs := map[int64]bool{}
		for id, seg := range r.where(docs) {
			if seg == 0 {
				t.Errorf("job %d of a batch of eight: its document in the database, want a segment", id)
			}
			segs[seg] = true
		}
		var rows int64
		if err := r.db.Table("job_documents").Where("job_id IN ?", slices.Collect(maps.Keys(docs))).Count(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if rows != 0 {
			t.Errorf("%d of the batch's documents in job_documents, want none", rows)
		}
		checkSegmentDocs(t, svc, docs)

		// Every job ends (on SQLite the journal's applier may have put
		// the document of the job that held the committer beside the
		// batch's); a second batch starts another segment.
		var held []int64
		if err := r.db.Model(&Job{}).Where("state = ?", StateHeld).Pluck("id", &held).Error; err != nil {
			t.Fatal(err)
		}
		for _, id := range held {
			if _, err := svc.IPP().CancelJob(t.Context(), ipp.JobTarget{Queue: "secure", User: "alice", ID: int(id)}); err != nil {
				t.Fatal(err)
			}
		}
		more, errs := r.batch(svc, directBatch, 100)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		if err := svc.SweepOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		on, err := r.spool.Segments(svc.docPrefix)
		if err != nil {
			t.Fatal(err)
		}
		for seg := range segs {
			if _, ok := on[uint64(seg)]; ok {
				t.Errorf("segment %d stayed after its every job ended", seg)
			}
		}
		for id, seg := range r.where(more) {
			if _, ok := on[uint64(seg)]; !ok {
				t.Errorf("job %d's segment %d is gone", id, seg)
			}
		}
		checkSegmentDocs(t, svc, more)
	})
}

// TestSegmentsSmallBatch: a batch of fewer than segmentBatch small
// documents keeps them in the database, where one fsync beside the
// database's would cost more than it saves (PostgreSQL's committer).
func TestSegmentsSmallBatch(t *testing.T) {
	r := newSegmentRig(t, database.Postgres)
	svc, docs := newSegmentBatch(t, r, segmentBatch-1)
	for id, seg := range r.where(docs) {
		if seg != 0 {
			t.Errorf("job %d of a batch of %d: in segment %d, want the database", id, segmentBatch-1, seg)
		}
	}
	checkSegmentDocs(t, svc, docs)
}

// TestSegmentsUnwritten: a crash kept two documents of the last batch out
// of their segment (zeros where they were: a sync that never came). The
// next start ends those two jobs as missing their document, and keeps
// the others, which read back.
func TestSegmentsUnwritten(t *testing.T) {
	eachSegmentDB(t, func(t *testing.T, r *segmentRig) {
		svc, docs := newSegmentBatch(t, r, directBatch)
		svc.Close()
		var lost []Job
		if err := r.db.Omit("password_hash").Where("doc_segment = (SELECT max(doc_segment) FROM jobs) AND id IN ?", slices.Collect(maps.Keys(docs))).
			Order("doc_offset DESC").Limit(2).Find(&lost).Error; err != nil || len(lost) != 2 {
			t.Fatalf("the newest segment's last two jobs of the batch: %v, %v", lost, err)
		}
		for _, j := range lost {
			f, err := os.OpenFile(filepath.Join(r.dir, spool.SegmentName(svc.docPrefix, uint64(j.DocSegment))), os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt(make([]byte, j.DocLength), j.DocOffset); err != nil {
				t.Fatal(err)
			}
			f.Close()
			delete(docs, j.ID)
		}

		svc = r.start(nil)
		for _, j := range lost {
			var now Job
			if err := r.db.Omit("password_hash").Take(&now, j.ID).Error; err != nil {
				t.Fatal(err)
			}
			if now.State != StateAborted || now.Reason != "document-missing" {
				t.Errorf("job %d, its document unwritten: %s (%s), want aborted (document-missing)", j.ID, now.State, now.Reason)
			}
		}
		checkSegmentDocs(t, svc, docs)
	})
}

// TestSegmentsWrongKey: started with another master key (a wrong
// spool.master_key_file), start-up cannot open the newest segment's keys
// and so says nothing of its documents: their jobs stay held, and read
// back once the right key is back.
func TestSegmentsWrongKey(t *testing.T) {
	r := newSegmentRig(t, database.Postgres)
	svc, docs := newSegmentBatch(t, r, 5)
	svc.Close()
	right := r.spool
	wrong, err := spool.Open(r.dir, spool.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	r.spool = wrong
	r.start(nil).Close()
	for id := range docs {
		var j Job
		if err := r.db.Omit("password_hash").Take(&j, id).Error; err != nil {
			t.Fatal(err)
		}
		if j.State.Ended() {
			t.Errorf("job %d after a start with another master key: %s (%s), want it left held", id, j.State, j.Reason)
		}
	}
	r.spool = right
	checkSegmentDocs(t, r.start(nil), docs)
}

// TestSegmentsSyncFails: when a segment's sync fails, the batch's clients
// hear that the outcome is unknown, and later batches keep their
// documents in the database.
func TestSegmentsSyncFails(t *testing.T) {
	eachSegmentDB(t, func(t *testing.T, r *segmentRig) {
		svc := r.start(errors.New("disk gone"))
		_, errs := r.batch(svc, directBatch, 0)
		if len(errs) != directBatch {
			t.Fatalf("%d of %d clients heard of the failed sync, want all: %v", len(errs), directBatch, errs)
		}
		for _, err := range errs {
			if !errors.Is(err, errUnsynced) {
				t.Errorf("a client of the failed sync heard %v, want the outcome unknown", err)
			}
		}
		docs, errs := r.batch(svc, directBatch, 100)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		for id, seg := range r.where(docs) {
			if seg != 0 {
				t.Errorf("job %d after a failed sync: in segment %d, want the database", id, seg)
			}
		}
		checkSegmentDocs(t, svc, docs)
	})
}

// checkSegmentDocs reads back each of docs' jobs' documents.
func checkSegmentDocs(t *testing.T, svc *Service, docs map[int64][]byte) {
	t.Helper()
	for id, want := range docs {
		var j Job
		if err := svc.db.Omit("password_hash").Take(&j, id).Error; err != nil {
			t.Fatal(err)
		}
		if j.State != StateHeld {
			t.Errorf("job %d: %s, want held", id, j.State)
			continue
		}
		rd, err := svc.openDocument(t.Context(), &j)
		if err != nil {
			t.Errorf("job %d: %v", id, err)
			continue
		}
		var got bytes.Buffer
		_, err = got.ReadFrom(rd)
		rd.Close()
		if err != nil || !bytes.Equal(got.Bytes(), want) {
			t.Errorf("job %d: read back %d bytes, %v; want the %d sent", id, got.Len(), err, len(want))
		}
	}
}

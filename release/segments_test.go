package release

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release/spool"
)

// segmentService starts a journaled Service on SQLite db whose applier
// starts a new spool segment past segmentSize bytes, with a test hook
// before each sync of the segments.
func segmentService(t *testing.T, db *database.DB, sp *spool.Spool, dir string, segmentSize int64, beforeSync func() error) *Service {
	t.Helper()
	if err := audit.Migrate(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	svc, err := New(Options{DB: db, Spool: sp, Audit: audit.New(db, audit.Options{Key: bytes.Repeat([]byte{7}, 32)}),
		DatabaseID: "TESTDATABASE0003", JournalDir: dir, Queues: []Queue{{Name: "secure", Mode: Hold}}})
	if err != nil {
		t.Fatal(err)
	}
	svc.segmentSize, svc.beforeSegmentSync = segmentSize, beforeSync
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc
}

// segmentFiles lists the spool's segments.
func segmentFiles(t *testing.T, sp *spool.Spool) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(sp.Dir(), "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	return files
}

// TestSegmentsRedo: the applier's segments are synced only before the
// journal retires the records that hold their documents too. When that
// sync fails (or a crash comes first) and what the segments held is lost,
// the next start writes the documents again from the journal, and every
// acknowledged job reads back whole.
func TestSegmentsRedo(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		sp, dir := newTestSpool(t), t.TempDir()
		failed := errors.New("the disk lost its cache")
		first := segmentService(t, db, sp, dir, segmentSize, func() error { return failed })
		docs := map[int64][]byte{}
		for i := range 5 {
			id, doc := submitDoc(t, first, i)
			docs[id] = doc
		}
		checkStored(t, first, docs) // read from the segment, unsynced
		first.Close()
		segs := segmentFiles(t, sp)
		if len(segs) != 1 {
			t.Fatalf("segments %v, want the one the applier wrote", segs)
		}
		journals, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
		if len(journals) == 0 {
			t.Fatal("the journal retired records whose segment never synced")
		}
		// What a power cut takes from a file whose sync never came.
		if err := os.Truncate(filepath.Join(sp.Dir(), segs[0]), 0); err != nil {
			t.Fatal(err)
		}
		svc := segmentService(t, db, sp, dir, segmentSize, nil)
		checkStored(t, svc, docs)
	})
}

// TestSegmentsReplaySynced: jobs a stop left unapplied in the journal go
// to a spool segment when the next start replays them, and the journal
// keeps them until that segment is synced: a failed sync, then a power
// cut, loses none.
func TestSegmentsReplaySynced(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		sp, dir := newTestSpool(t), t.TempDir()
		docs := unappliedJobs(t, db, sp, dir)
		second := segmentService(t, db, sp, dir, segmentSize, func() error { return errors.New("the disk lost its cache") })
		second.Close()
		if journals, _ := filepath.Glob(filepath.Join(dir, "*.seg")); len(journals) == 0 {
			t.Fatal("start-up retired the journal before the segment it replayed into was synced")
		}
		// What a power cut takes from files whose sync never came.
		for _, f := range segmentFiles(t, sp) {
			if err := os.Truncate(filepath.Join(sp.Dir(), f), 0); err != nil {
				t.Fatal(err)
			}
		}
		svc := segmentService(t, db, sp, dir, segmentSize, nil)
		checkStored(t, svc, docs)
	})
}

// TestSegmentsSwept: a segment goes once no job's document is in it, and
// not before; the segment being written stays.
func TestSegmentsSwept(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		sp := newTestSpool(t)
		// Each job's document fills a segment: the next starts another.
		svc := segmentService(t, db, sp, t.TempDir(), 1, nil)
		var ids []int64
		docs := map[int64][]byte{}
		for i := range 4 {
			id, doc := submitDoc(t, svc, i)
			// A read waits for the applier: one job a segment.
			if _, err := svc.load(t.Context(), "secure", id); err != nil {
				t.Fatal(err)
			}
			ids, docs[id] = append(ids, id), doc
		}
		segs := segmentFiles(t, sp)
		if len(segs) != 4 {
			t.Fatalf("segments %v, want one a job", segs)
		}
		for _, id := range ids[:3] {
			if _, err := svc.IPP().CancelJob(t.Context(), ipp.JobTarget{Queue: "secure", ID: int(id), User: "taro"}); err != nil {
				t.Fatal(err)
			}
			delete(docs, id)
		}
		// Each document is alone in its segment; the fourth's is the one
		// being written.
		if err := svc.sweepSegments(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := segmentFiles(t, sp); !slices.Equal(got, segs[3:]) {
			t.Errorf("after three of four jobs ended: segments %v, want %v", got, segs[3:])
		}
		j, err := svc.load(t.Context(), "secure", ids[3])
		if err != nil {
			t.Fatal(err)
		}
		if r, err := svc.openDocument(t.Context(), &j); err != nil {
			t.Errorf("the held job's document after the sweep: %v", err)
		} else if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, docs[ids[3]]) {
			t.Errorf("the held job's document after the sweep: %d bytes, %v", len(got), err)
		} else {
			r.Close()
		}
		if _, err := svc.IPP().CancelJob(t.Context(), ipp.JobTarget{Queue: "secure", ID: int(ids[3]), User: "taro"}); err != nil {
			t.Fatal(err)
		}
		if err := svc.sweepSegments(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := segmentFiles(t, sp); !slices.Equal(got, segs[3:]) {
			t.Errorf("the segment being written was removed: %v", got)
		}
	})
}

// TestSegmentsKeptForUnknownOutcome: on PostgreSQL a batch written
// straight (commitDirectPG) puts its documents into the applier's
// segments, and a statement whose outcome is unknown (its connection
// lost) may still commit after any sweep has looked. Its segment stays
// through sweeps, and the journal goes on syncing and retiring: a lost
// connection is not a failed sync.
func TestSegmentsKeptForUnknownOutcome(t *testing.T) {
	db := openPostgres(t, testenv.Postgres(t))
	sp := newTestSpool(t)
	svc := segmentService(t, db, sp, t.TempDir(), 30_000, nil)
	jn := svc.journal
	batch := func(i int) []*submission {
		var subs []*submission
		for k := range segmentBatch {
			doc := paddedDoc(10*i+k, 9_000)
			subs = append(subs, &submission{job: &Job{ID: int64(-10*i - k - 1)}, doc: received{sealed: &doc}})
		}
		return subs
	}
	jn.applying.Lock()
	lost := batch(1)
	p := svc.directToSegment(lost)
	if p == nil {
		jn.applying.Unlock()
		t.Fatal("a batch of four small documents did not go to a segment")
	}
	err := p.done(errors.New("test: the connection was lost"), unknown)
	kept := uint64(lost[0].job.DocSegment)
	// The next batch fills a segment of its own: the lost one's is below
	// the one being written.
	if q := svc.directToSegment(batch(2)); q == nil || q.done(nil, written) != nil {
		t.Error("the next batch did not go to a segment")
	}
	jn.applying.Unlock()
	if err == nil {
		t.Error("a batch whose outcome is unknown was answered as written")
	}
	if err := svc.syncSegments(false); err != nil {
		t.Errorf("after an outcome unknown, the segments' sync: %v, want the journal to go on", err)
	}
	if err := svc.sweepSegments(t.Context()); err != nil {
		t.Fatal(err)
	}
	on, err := sp.Segments(svc.docPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := on[kept]; !ok {
		t.Errorf("segments %v after a sweep: %d, which a late commit may point into, was removed", segmentFiles(t, sp), kept)
	}
}

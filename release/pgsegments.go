package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release/spool"
)

// On PostgreSQL a document in job_documents is cut into TOAST rows of
// 2 KB, each with its index entry and its copy in the log: 28–30 % of
// PostgreSQL's processor time at 8 and 32 clients (perf,
// docs/PERFORMANCE.md). So the committer writes the small documents of a
// batch of segmentBatch jobs or more end to end into a spool segment, as
// the journal's applier does on SQLite (segments.go), and the batch's
// statement records where each lies. The segment's fdatasync runs while
// the statement does, and the clients are answered only once both have
// returned: an acknowledged job's document is durable. A crash between
// the two may leave committed jobs whose documents never reached the
// disk; their clients were not answered, and start-up finds them by
// reading every document of the newest segment (unwritten), and ends
// them as it ends a job whose file is missing (recover). On SQLite the
// journal's direct batches place their documents the same way
// (directToSegment).

// segmentBatch is the fewest small documents that go to a segment: with
// fewer, a second fsync beside PostgreSQL's cost more than TOAST saved
// (one client 5 % slower; a batch of four or more, 8 clients 11 % and 32
// clients up to 25 % faster, docs/PERFORMANCE.md).
const segmentBatch = 4

// docSegments is the PostgreSQL committer's segment writer.
type docSegments struct {
	// mu is held by the committer from a batch's append until its
	// statement has returned, and by the sweep while it reads Below: so
	// every job that points into a segment below is committed when the
	// sweep looks (sweepSegments).
	mu sync.Mutex
	w  *spool.SegmentWriter
	// failed stops the segments after a sync that failed, or a statement
	// whose outcome is unknown: a later sync would not vouch for what the
	// failed one dropped, and a job that commits late must find its
	// segment (no sweep removes one while no segment is started).
	failed bool
}

// startDocSegments gives the committer its segment writer on PostgreSQL
// with a spool of its own: instances that share a spool would number
// their segments alike.
func (s *Service) startDocSegments(ctx context.Context) error {
	if s.texts.Dialect() != database.Postgres || s.sharedSpool || s.smallDoc < 0 {
		return nil
	}
	var last int64
	if err := s.db.WithContext(ctx).Raw(`SELECT COALESCE(MAX(doc_segment), 0) FROM jobs`).Row().Scan(&last); err != nil {
		return dbErr("read the last spool segment", err)
	}
	w, err := s.spool.NewSegmentWriter(s.docPrefix, uint64(last), s.segmentSize)
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	s.segs = &docSegments{w: w}
	return nil
}

// placed is a batch's documents appended to a segment, being synced.
type placed struct {
	jobs []*Job
	sync chan error
	log  *slog.Logger
	// failed is the writer's mark, set in done when a sync fails or an
	// outcome is unknown; release ends the hold on the writer taken
	// before the append. Whoever holds the writer guards failed.
	failed  *bool
	release func()
	// keep, when set, takes an outcome unknown instead of failed: it
	// keeps the segments the batch's jobs point into from the sweep, for
	// a statement that may still commit (the journal's segments, which a
	// lost connection must not stop: syncSegments).
	keep func(jobs []*Job)
}

// smallDocs returns the sealed small documents of batch and their jobs.
func smallDocs(batch []*submission) (docs [][]byte, jobs []*Job) {
	for _, sub := range batch {
		if sub.doc.sealed != nil {
			docs, jobs = append(docs, *sub.doc.sealed), append(jobs, sub.job)
		}
	}
	return docs, jobs
}

// toSegment appends the small documents of batch to the segment being
// written and points their jobs at them, and starts their sync; it
// returns nil, and leaves the jobs alone, for a batch with fewer than
// segmentBatch or after a failure. Unless nil, the caller must call
// done.
func (s *Service) toSegment(batch []*submission) *placed {
	sg := s.segs
	if sg == nil {
		return nil
	}
	docs, jobs := smallDocs(batch)
	if len(docs) < segmentBatch {
		return nil
	}
	sg.mu.Lock()
	if sg.failed {
		sg.mu.Unlock()
		return nil
	}
	p := s.place(sg.w, docs, jobs)
	if p == nil {
		sg.mu.Unlock()
		return nil
	}
	p.failed, p.release = &sg.failed, sg.mu.Unlock
	return p
}

// place appends docs to w, which the caller holds, points jobs at them
// and starts their sync; nil, the jobs left alone, if the append fails.
func (s *Service) place(w *spool.SegmentWriter, docs [][]byte, jobs []*Job) *placed {
	locs, err := w.Append(docs)
	if err != nil {
		// The next append starts a new segment; these go to the database.
		s.log.Warn("release: append documents to a spool segment; the batch keeps them in the database", "err", err)
		return nil
	}
	for i, j := range jobs {
		pointAt(j, locs[i])
	}
	p := &placed{jobs: jobs, sync: make(chan error, 1), log: s.log}
	pending := w.Unsynced()
	hook := s.beforeSegmentSync
	go func() {
		if hook != nil {
			if err := hook(); err != nil {
				pending.Discard()
				p.sync <- err
				return
			}
		}
		p.sync <- pending.Sync()
	}()
	return p
}

// outcome is what became of a batch's statement.
type outcome int

const (
	written outcome = iota
	notWritten
	// unknown: the connection was lost while the statement ran, which
	// PostgreSQL may still commit.
	unknown
	// rolledBack: SQLite's transaction failed, and was rolled back unless
	// its COMMIT failed after it landed (committedAnyway finds out).
	rolledBack
)

// done waits for the sync and returns the batch's outcome: the
// statement's err, or, for a batch written whose sync failed,
// errUnsynced. A batch not written keeps its documents in the database
// if tried again; a sync that failed, or an outcome unknown, stops the
// segments.
func (p *placed) done(err error, o outcome) error {
	defer p.release()
	serr := <-p.sync
	if o == unknown && p.keep != nil {
		p.keep(p.jobs)
	}
	if (serr != nil || o == unknown && p.keep == nil) && !*p.failed {
		*p.failed = true
		p.log.Warn("release: small documents stay in the database until printgate restarts: a spool segment's sync failed, or a batch's outcome is unknown",
			"sync_err", serr, "err", err)
	}
	switch {
	case o == written && serr != nil:
		return fmt.Errorf("%w: the documents' segment did not sync: %w", errUnsynced, serr)
	case o == rolledBack && serr != nil:
		// Jobs that may exist point at documents that may not: nobody
		// can tell their clients, and they must not be written again.
		return fmt.Errorf("%w: the batch failed (%w) and its documents' segment did not sync: %w", errUnsynced, err, serr)
	case o == notWritten || o == rolledBack:
		for _, j := range p.jobs {
			j.DocInDB, j.DocSegment, j.DocOffset, j.DocLength = true, 0, 0, 0
		}
	}
	return err
}

// segmentsBelow returns the number below which the committer's segments
// take no more documents, and false without them.
func (s *Service) segmentsBelow() (uint64, bool) {
	sg := s.segs
	if sg == nil {
		return 0, false
	}
	sg.mu.Lock()
	defer sg.mu.Unlock()
	if sg.failed {
		// Failed: no segment is started any more, so none is below. A
		// late commit of a statement whose outcome was unknown may still
		// point into the last.
		return 0, true
	}
	return sg.w.Below(), true
}

// closeDocSegments closes the committer's segments at stop; each batch's
// documents were synced before its clients were answered.
func (s *Service) closeDocSegments() {
	sg := s.segs
	if sg == nil {
		return
	}
	sg.mu.Lock()
	defer sg.mu.Unlock()
	if err := sg.w.Close(); err != nil {
		s.log.Error("release: close the spool segments", "err", err)
	}
}

// unwritten returns the jobs of rows, found at start-up, whose document
// lies in the newest segment any of them points into and does not read
// back whole under a key that opens (recover ends them). A crash can have
// kept out of the disk only the documents of the last batch the
// committer appended, which was not answered: they are in that segment.
// A job whose key is gone cannot be read either. A key that does not open
// (another master key: a wrong spool.master_key_file) or a read that
// fails says nothing of the document: such a job is left as it is.
func (s *Service) unwritten(ctx context.Context, rows []Job, segs map[uint64]int64) (map[int64]bool, error) {
	var newest int64
	for _, j := range rows {
		if !j.State.Ended() && j.Spool != "" {
			newest = max(newest, j.DocSegment)
		}
	}
	bad := map[int64]bool{}
	if newest == 0 {
		return bad, nil
	}
	for _, j := range rows {
		if j.DocSegment != newest || j.State.Ended() || j.Spool == "" || segs[uint64(newest)] < j.DocOffset+j.DocLength {
			continue // a segment too short: recovery finds the document missing anyway
		}
		key, err := s.documentKey(ctx, &j)
		if errors.Is(err, gorm.ErrRecordNotFound) {
			bad[j.ID] = true
			continue
		}
		if err != nil {
			return nil, err
		}
		r, err := s.spool.OpenInSegment(j.Spool, key, s.docPrefix, segmentLoc(&j))
		if err == nil {
			_, err = io.Copy(io.Discard, r)
			r.Close()
		}
		switch {
		case err == nil:
		case errors.Is(err, spool.ErrCorrupt) && !errors.Is(err, spool.ErrKeyMismatch):
			s.log.Warn("release: a document in the newest spool segment does not read back", "job", j.ID, "err", err)
			bad[j.ID] = true
		default:
			s.log.Error("release: a document in the newest spool segment could not be checked; its job is left held", "job", j.ID, "err", err)
		}
	}
	return bad, nil
}

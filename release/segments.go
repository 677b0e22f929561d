package release

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release/spool"
)

// Documents in spool segments (docs/PIPELINE.md, "Documents in
// segments"). The journal's applier writes the small documents of the
// records it applies end to end into a segment of the spool, with one
// write, before the transaction that records their jobs with where they
// lie: the database's log, its checkpoint and the driver's copy no longer
// carry them. The segments are synced before the journal retires the
// records that hold the same documents (syncSegments), and a start after
// a crash writes those documents again (redoSegments). A segment holds no
// key; each document is sealed under a key of its own that stays in
// job_keys, so ending a job destroys its document as before (its key row
// goes) while the segment lives on. A segment that no held job's
// document is in any more is removed whole by the applier
// (sweepSegments).

// segmentSize is the size past which the applier starts a new segment: a
// segment stays while any one document in it is wanted, so smaller
// segments free the disk sooner.
const segmentSize = 8 << 20

// segmentSweepEvery is how often the applier looks for segments to
// remove: a look that finds old segments reads every job's row once.
const segmentSweepEvery = 10 * time.Second

// openSegments starts the segment writer of the journal's applier, after
// every segment a job points into, and writes again the documents that a
// crash may have kept out of their segments (redoSegments).
func (s *Service) openSegments(ctx context.Context, applied uint64) error {
	ctx = database.WithoutBarrier(ctx)
	var last uint64
	if err := s.db.WithContext(ctx).Raw(`SELECT COALESCE(MAX(doc_segment), 0) FROM jobs`).Row().Scan(&last); err != nil {
		return dbErr("read the last spool segment", err)
	}
	w, err := s.spool.NewSegmentWriter(s.docPrefix, last, s.segmentSize)
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	s.journal.segs = w
	return s.redoSegments(ctx, applied)
}

// redoSegments writes again, from the journal, the documents of the
// records a stop left there that were applied, into the segments their
// jobs point at. The applier retires records only after syncing the
// segments their documents went to, so any document a crash kept out of
// its segment (a sync that never came) is among them; the others are
// written again as they are.
func (s *Service) redoSegments(ctx context.Context, applied uint64) error {
	docs := map[int64][]byte{}
	flush := func() error {
		if len(docs) == 0 {
			return nil
		}
		var jobs []Job
		err := s.db.WithContext(ctx).Select("id", "doc_segment", "doc_offset", "doc_length").
			Where("id IN ? AND spool <> '' AND doc_segment <> 0", slices.Collect(maps.Keys(docs))).Find(&jobs).Error
		if err != nil {
			return dbErr("find the documents to write again", err)
		}
		for i := range jobs {
			if err := s.spool.Rewrite(s.docPrefix, segmentLoc(&jobs[i]), docs[jobs[i].ID]); err != nil {
				return fmt.Errorf("release: %w", err)
			}
		}
		clear(docs)
		return nil
	}
	err := s.journal.j.Replay(ctx, 0, func(seq uint64, raw []byte) error {
		if seq > applied {
			return nil
		}
		r, err := decodeRecord(raw)
		if err != nil {
			return fmt.Errorf("release: journal record %d: %w", seq, err)
		}
		if r.Doc != nil {
			docs[r.Job.ID] = r.Doc
		}
		if len(docs) == applyBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return err
}

// moveToSegments writes the documents of batch's records to a segment,
// unsynced (the journal keeps them until syncSegments), and points their
// jobs at them: the caller then records the jobs without the documents
// (writePending). The caller holds jn.applying, which orders appends and
// their transactions: a segment below the one being written takes no more
// documents, and every job that will ever point into it is committed
// (sweepSegments). A record tried again is written again unless its
// document is still in the segment being written, which no sweep removes.
func (s *Service) moveToSegments(batch []pendingRecord) error {
	jn := s.journal
	if jn == nil || jn.segs == nil {
		return nil
	}
	var docs [][]byte
	var jobs []*Job
	below := int64(jn.segs.Below())
	for i := range batch {
		r := &batch[i].rec
		// Still in the segment being written, a document an attempt
		// that failed wrote stays there: no sweep can remove it.
		if r.Doc != nil && r.Job.DocSegment < below {
			docs, jobs = append(docs, r.Doc), append(jobs, &r.Job)
		}
	}
	if len(docs) == 0 {
		return nil
	}
	locs, err := jn.segs.Append(docs)
	if err != nil {
		return err
	}
	for i, j := range jobs {
		pointAt(j, locs[i])
	}
	return nil
}

// directToSegment is toSegment for a batch that commitDirect writes: its
// small documents go to the applier's segment writer, which commitDirect
// holds (jn.applying) until the batch's clients are answered, so that
// a crash can keep out of the disk only the documents of the last batch
// appended (unwritten). The journal never holds them: their segment is
// synced beside the database's log before the clients hear of it.
func (s *Service) directToSegment(batch []*submission) *placed {
	jn := s.journal
	if jn == nil || jn.segs == nil || jn.segsFailed {
		return nil
	}
	docs, jobs := smallDocs(batch)
	if len(docs) < segmentBatch {
		return nil
	}
	p := s.place(jn.segs, docs, jobs)
	if p != nil {
		p.failed, p.release, p.keep = &jn.segsFailed, func() {}, jn.keepSegments
	}
	return p
}

// keepSegments keeps the segments jobs point into from the sweep until
// printgate restarts: on PostgreSQL a statement whose outcome is unknown
// (its connection lost) may still commit them, after any sweep's look.
// The caller holds jn.applying.
func (jn *journaled) keepSegments(jobs []*Job) {
	if jn.kept == nil {
		jn.kept = map[uint64]bool{}
	}
	for _, j := range jobs {
		if j.DocSegment != 0 {
			jn.kept[uint64(j.DocSegment)] = true
		}
	}
}

// errSegmentsUnsynced stops the journal's retirement for good once a
// segment's sync failed: a later sync that succeeds would not vouch for
// the pages the failed one dropped.
var errSegmentsUnsynced = errors.New("release: a spool segment failed to sync")

// syncSegments makes the documents appended to segments durable, before
// the journal's records that also hold them are retired; final closes
// the segments too. It holds jn.applying only to take what is to be
// synced: a batch written straight (commitDirect) need not wait for the
// fsyncs.
func (s *Service) syncSegments(final bool) error {
	jn := s.journal
	jn.applying.Lock()
	failed := jn.segsFailed
	pending := jn.segs.Unsynced()
	jn.applying.Unlock()
	err := errSegmentsUnsynced
	if !failed {
		err = nil
		if s.beforeSegmentSync != nil {
			err = s.beforeSegmentSync()
		}
	}
	if err != nil {
		pending.Discard()
	} else {
		err = pending.Sync()
	}
	jn.applying.Lock()
	defer jn.applying.Unlock()
	jn.segsFailed = jn.segsFailed || err != nil
	if final {
		err = errors.Join(err, jn.segs.Close())
	}
	return err
}

// sweepSegmentsSoon is sweepSegments for the applier, at most every
// segmentSweepEvery.
func (s *Service) sweepSegmentsSoon(ctx context.Context) error {
	jn := s.journal
	// Wall time, as for the applier's other rounds: this schedules work.
	if time.Since(jn.lastSweep) < segmentSweepEvery {
		return nil
	}
	jn.lastSweep = time.Now()
	return s.sweepSegments(ctx)
}

// sweepSegments removes the segments no job's document is in any more:
// those below the one the applier or, on PostgreSQL, the committer
// writes (which alone still takes documents) that no job with a document
// points into. Where neither writes segments, those left from an earlier
// start go as their jobs end, at the next start (recover).
func (s *Service) sweepSegments(ctx context.Context) error {
	below := uint64(math.MaxUint64)
	var kept map[uint64]bool
	if jn := s.journal; jn != nil && jn.segs != nil {
		jn.applying.Lock()
		below, kept = jn.segs.Below(), maps.Clone(jn.kept)
		jn.applying.Unlock()
	}
	if b, ok := s.segmentsBelow(); ok {
		below = b
	}
	on, err := s.spool.Segments(s.docPrefix)
	if err != nil {
		return err
	}
	for n := range on {
		if n >= below || kept[n] {
			delete(on, n)
		}
	}
	if len(on) == 0 {
		return nil
	}
	var used []int64
	err = s.db.WithContext(database.WithoutBarrier(ctx)).Model(&Job{}).Distinct("doc_segment").
		Where("doc_segment <> 0 AND spool <> ''").Pluck("doc_segment", &used).Error
	if err != nil {
		return dbErr("list the segments in use", err)
	}
	for _, n := range used {
		delete(on, uint64(n))
	}
	for n := range on {
		if err := s.spool.RemoveSegment(s.docPrefix, n); err != nil {
			return err
		}
		s.log.Debug("release: removed a spool segment no document is in", "segment", n)
	}
	return nil
}

// segmentLoc returns where j's document lies in a segment.
func segmentLoc(j *Job) spool.Loc {
	return spool.Loc{Segment: uint64(j.DocSegment), Offset: j.DocOffset, Length: j.DocLength}
}

// pointAt points j at its document at loc in a segment.
func pointAt(j *Job, loc spool.Loc) {
	j.DocInDB, j.DocSegment, j.DocOffset, j.DocLength = false, int64(loc.Segment), loc.Offset, loc.Length
}

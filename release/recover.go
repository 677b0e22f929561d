package release

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// recover cleans up after an unclean stop: half-written spool files go,
// documents no job refers to go (files and rows of job_documents), jobs
// whose document is gone are aborted, and jobs that were being forwarded
// are held again as jobs that may have printed (ReasonMayHavePrinted),
// since whether they printed cannot be known. On PostgreSQL it first
// lets the writes of a crashed process end (awaitEarlierWrites).
func (s *Service) recover(ctx context.Context) error {
	if err := s.awaitEarlierWrites(ctx); err != nil {
		return err
	}
	// On a spool shared with other instances their uploads and their
	// just-committed documents are not ours to judge; only old leftovers
	// are.
	var minAge time.Duration
	if s.sharedSpool {
		minAge = sharedLeftoverAge
	}
	if n, err := s.spool.CleanTemp(minAge); err != nil {
		return fmt.Errorf("release: recover: %w", err)
	} else if n > 0 {
		s.log.Warn("release: removed half-written documents of interrupted uploads", "files", n, "spool", s.spool.Dir())
	}
	files, err := s.spool.List()
	if err != nil {
		return fmt.Errorf("release: recover: %w", err)
	}
	onDisk := make(map[string]bool, len(files))
	for _, f := range files {
		onDisk[f] = true
	}
	segs, err := s.spool.Segments(s.docPrefix)
	if err != nil {
		return fmt.Errorf("release: recover: %w", err)
	}
	var referenced []string
	if err := s.db.WithContext(ctx).Model(&Job{}).Where("spool <> '' AND doc_in_db = ?", false).
		Pluck("spool", &referenced).Error; err != nil {
		return dbErr("recover: list documents", err)
	}
	lost, err := s.lostInDB(ctx)
	if err != nil {
		return err
	}
	// Only this instance's jobs are recovered: another instance sharing
	// the database may be receiving or printing its own right now.
	var rows []Job
	err = s.db.WithContext(ctx).Omit("password_hash").
		Where("(claimed_by = ? OR claimed_by = '') AND (spool <> '' OR state IN ?)", s.instance, activeStates).
		Find(&rows).Error
	if err != nil {
		return dbErr("recover: list jobs", err)
	}
	if err := s.checkNewSpool(rows, len(files)+len(segs)); err != nil {
		return err
	}
	if err := s.adoptRestored(ctx, rows, onDisk); err != nil {
		return err
	}
	unwritten, err := s.unwritten(ctx, rows, segs)
	if err != nil {
		return err
	}
	for id := range unwritten {
		lost[id] = true
	}
	for _, j := range rows {
		to, reason, msg := recovery(j, onDisk, segs, lost, s.sharedSpool)
		if to == "" {
			continue
		}
		if _, err := s.transition(ctx, &j, change{from: []State{j.State}, to: to, reason: reason, message: msg}); err != nil {
			return err
		}
		s.log.Warn("release: recovered job", "job", j.ID, "now", to, "reason", reason)
	}
	for _, name := range referenced {
		delete(onDisk, name)
	}
	s.removeOrphans(onDisk, minAge)
	if err := s.sweepSegments(ctx); err != nil {
		return fmt.Errorf("release: recover: %w", err)
	}
	return s.removeOrphanRows(ctx)
}

// lostInDB returns the jobs whose document should be in the database but
// is not. The job and its document are written in one transaction, so
// only a hand-edited or damaged database shows one.
func (s *Service) lostInDB(ctx context.Context) (map[int64]bool, error) {
	var ids []int64
	err := s.db.WithContext(ctx).Raw(`SELECT id FROM jobs WHERE doc_in_db = ? AND spool <> ''
		AND NOT EXISTS (SELECT 1 FROM job_documents d WHERE d.job_id = jobs.id)`, true).Scan(&ids).Error
	if err != nil {
		return nil, dbErr("recover: list documents in the database", err)
	}
	lost := make(map[int64]bool, len(ids))
	for _, id := range ids {
		lost[id] = true
	}
	return lost, nil
}

// removeOrphanRows deletes the documents kept in the database that no job
// refers to. Every path that ends a document deletes its row in the same
// transaction, so there should be none; this keeps it so. Other instances
// sharing the database write a job and its document in one transaction,
// so none of theirs can look orphaned.
func (s *Service) removeOrphanRows(ctx context.Context) error {
	res := s.db.WithContext(ctx).Exec(`DELETE FROM job_documents WHERE job_id NOT IN
		(SELECT id FROM jobs WHERE doc_in_db = ? AND spool <> '')`, true)
	if res.Error != nil {
		return dbErr("recover: remove orphan documents", res.Error)
	}
	if res.RowsAffected > 0 {
		s.log.Warn("release: removed orphan documents from the database: no job refers to them", "count", res.RowsAffected)
		s.scrubSoon()
	}
	return nil
}

// removeOrphans deletes the documents no job refers to, if this database
// wrote them: their names carry its identity. Any other file is kept, and
// said so, for it belongs to jobs of a database this instance cannot see
// (or to a version of printgate before names carried one).
func (s *Service) removeOrphans(orphans map[string]bool, minAge time.Duration) {
	var foreign []string
	for f := range orphans {
		if s.docPrefix == "" || !strings.HasPrefix(f, s.docPrefix) {
			foreign = append(foreign, f)
			continue
		}
		if minAge > 0 {
			if t, err := s.spool.ModTime(f); err != nil || time.Since(t) < minAge {
				continue
			}
		}
		if err := s.spool.Remove(f); err != nil {
			s.log.Error("release: remove orphan document", "document", f, "err", err)
			continue
		}
		s.log.Warn("release: removed orphan document: no job of this database refers to it",
			"document", f, "spool", s.spool.Dir())
	}
	if len(foreign) > 0 {
		slices.Sort(foreign)
		s.log.Warn("release: kept documents no job of this database refers to, written for another database or by an older printgate; remove them by hand once no database needs them",
			"count", len(foreign), "documents", foreign[:min(len(foreign), 20)], "spool", s.spool.Dir())
	}
}

// sharedLeftoverAge is how old a file in a shared spool must be before
// start-up treats it as a leftover.
const sharedLeftoverAge = 15 * time.Minute

// adoptRestored points the jobs whose document a segment held, and that
// now find it in a file of its own, at that file: a backup carries each
// such document as a file (StoredDocuments), and the restored database
// still says where the segment had it.
func (s *Service) adoptRestored(ctx context.Context, rows []Job, onDisk map[string]bool) error {
	for i := range rows {
		j := &rows[i]
		if j.DocSegment == 0 || !onDisk[j.Spool] {
			continue
		}
		err := s.db.WithContext(ctx).Model(&Job{}).Where("id = ?", j.ID).
			Updates(map[string]any{"doc_segment": 0, "doc_offset": 0, "doc_length": 0}).Error
		if err != nil {
			return dbErr("recover: point a job at its restored document", err)
		}
		j.DocSegment, j.DocOffset, j.DocLength = 0, 0, 0
	}
	return nil
}

// recovery says where a job found at start-up must go, if anywhere.
// segs are the sizes of the spool's segments, by number; lost are the
// jobs whose document is not whole where their row says it is.
func recovery(j Job, onDisk map[string]bool, segs map[uint64]int64, lost map[int64]bool, shared bool) (to State, reason, message string) {
	var stored bool
	switch {
	case j.DocInDB:
		stored = !lost[j.ID]
	case j.DocSegment != 0:
		stored = segs[uint64(j.DocSegment)] >= j.DocOffset+j.DocLength && !lost[j.ID]
	default:
		stored = onDisk[j.Spool]
	}
	missing := j.Spool == "" && j.State != StateIncoming || j.Spool != "" && !stored
	if shared && j.State == StateIncoming {
		return "", "", "" // the sweeper aborts it if it stays incomplete
	}
	switch {
	case j.State.Ended():
		return "", "", ""
	case missing:
		return StateAborted, "document-missing", "The document was lost before it was stored."
	case j.State == StateIncoming:
		return StateAborted, "job-incomplete", "The client did not finish sending the job."
	case j.State == StatePrinting || j.State == StateReleasing:
		return StateHeld, ReasonMayHavePrinted,
			"printgate restarted while the job was being printed. " + mayHavePrintedMessage
	}
	return "", "", ""
}

// ErrWrongSpool refuses to start on a spool that cannot be the one this
// database's documents are in.
var ErrWrongSpool = errors.New("release: wrong spool directory")

// checkNewSpool refuses a spool directory used for the first time and
// empty while jobs of this instance have documents: their documents are in
// another directory (spool.dir or data_dir changed), and recovery would
// abort them all.
func (s *Service) checkNewSpool(rows []Job, files int) error {
	if !s.newSpool || files > 0 {
		return nil
	}
	n := 0
	for _, j := range rows {
		if j.Spool != "" && !j.DocInDB {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s is new and empty, but %d jobs of this database have their documents in another spool; "+
		"set spool.dir (or data_dir) back to it. Nothing was changed", ErrWrongSpool, s.spool.Dir(), n)
}

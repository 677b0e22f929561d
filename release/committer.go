package release

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
)

// The committer makes submitted jobs durable in groups (docs/PIPELINE.md).
// A submission whose document has been received waits on s.commits; the
// committer takes the first one that comes, then every other one already
// waiting, up to maxBatch, and writes them all in one transaction: the
// jobs, their keys, their small documents and their audit events, with
// one commit (one WAL fsync on SQLite). Only then does it answer each
// waiting client. Nothing waits on purpose for a batch to fill: under
// load the submissions that arrive while one batch commits form the next.

// maxBatch bounds the jobs of one transaction. Small documents take at
// most DefaultSmallDocument each, so a batch stays under 10 MB.
const maxBatch = 64

// submission is a job whose document has been received, waiting for the
// committer.
type submission struct {
	// ctx is the client's request: a client gone before its batch starts
	// is left out, and its job never written.
	ctx context.Context
	q   Queue
	job *Job
	doc received
	// done receives the outcome exactly once.
	done chan error
}

// commit hands sub to the committer and waits for the outcome: nil once
// sub's job, document and events are durable. A client whose request ends
// while its job waits is still answered: either its job was left out (an
// error), or its batch had started and the job exists, recorded, as if
// the answer had been lost on its way.
func (s *Service) commit(ctx context.Context, sub *submission) error {
	sub.ctx, sub.done = ctx, make(chan error, 1)
	s.waiting.Add(1)
	select {
	case s.commits <- sub:
		s.waiting.Add(-1)
	case <-ctx.Done():
		s.waiting.Add(-1)
		return fmt.Errorf("release: commit job: %w", ctx.Err())
	case <-s.ctx.Done():
		s.waiting.Add(-1)
		return fmt.Errorf("release: commit job: shutting down: %w", ErrUnavailable)
	}
	return <-sub.done
}

// committer runs until ctx ends, committing batches of submissions. The
// channel is unbuffered, so a submission is either still with its
// client or taken by the committer, which then always answers it.
func (s *Service) committer(ctx context.Context) {
	batch := make([]*submission, 0, maxBatch)
	for {
		select {
		case <-ctx.Done():
			return
		case sub := <-s.commits:
			batch = append(batch[:0], sub)
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case sub := <-s.commits:
				batch = append(batch, sub)
			default:
				break fill
			}
		}
		s.commitBatch(ctx, batch)
		clear(batch)
	}
}

// commitBatch writes batch and answers its clients. If the batch fails,
// each job is tried alone, so that one job refused (its owner over the
// held-bytes limit, say) does not fail the others.
func (s *Service) commitBatch(ctx context.Context, batch []*submission) {
	live := make([]*submission, 0, len(batch))
	for _, sub := range batch {
		if err := sub.ctx.Err(); err != nil {
			sub.done <- fmt.Errorf("release: commit job: %w", err)
			continue
		}
		live = append(live, sub)
	}
	if len(live) == 0 {
		return
	}
	err := s.writeBatch(ctx, live)
	if err == nil || len(live) == 1 {
		for _, sub := range live {
			sub.done <- err
		}
		return
	}
	s.log.Debug("release: batch failed; committing its jobs one by one", "jobs", len(live), "err", err)
	for _, sub := range live {
		sub.done <- s.writeBatch(ctx, []*submission{sub})
	}
}

// writeBatch writes the jobs of batch in one transaction. On failure no
// job of it exists and their IDs are zero again.
func (s *Service) writeBatch(ctx context.Context, batch []*submission) error {
	if slices.ContainsFunc(batch, func(sub *submission) bool { return sub.doc.file }) {
		// Before the transaction: a job must never commit before the name
		// of its document's file is durable.
		if err := s.spool.SyncDir(); err != nil {
			return fmt.Errorf("release: commit jobs: %w", err)
		}
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := insertJobs(tx, batch); err != nil {
			return err
		}
		if err := s.checkHeldBatch(tx, batch); err != nil {
			return err
		}
		if err := insertKeys(tx, batch); err != nil {
			return err
		}
		if err := insertDocuments(tx, batch); err != nil {
			return err
		}
		evs := make([]audit.Event, 0, 2*len(batch))
		for _, sub := range batch {
			evs = append(evs, submittedEvents(sub.q, sub.job)...)
		}
		if _, err := appendBatch(ctx, s.audit, tx, evs); err != nil {
			return fmt.Errorf("release: audit %d submitted jobs: %w", len(batch), err)
		}
		if s.beforeCommit != nil {
			ids := make([]int64, len(batch))
			for i, sub := range batch {
				ids[i] = sub.job.ID
			}
			s.beforeCommit(ids)
		}
		return nil
	})
	if err != nil {
		for _, sub := range batch {
			sub.job.ID = 0
		}
		return dbErr("commit jobs", err)
	}
	return nil
}

// checkHeldBatch runs checkHeld for each owner with jobs in batch, in the
// order of their names so that instances locking the same owners on
// PostgreSQL never wait on each other in a circle.
func (s *Service) checkHeldBatch(tx *gorm.DB, batch []*submission) error {
	if s.maxHeld <= 0 {
		return nil
	}
	sizes := map[string]int64{}
	for _, sub := range batch {
		sizes[sub.job.Owner] += sub.job.Size
	}
	owners := make([]string, 0, len(sizes))
	for o := range sizes {
		owners = append(owners, o)
	}
	slices.Sort(owners)
	for _, o := range owners {
		if err := s.checkHeld(tx, o, sizes[o]); err != nil {
			return err
		}
	}
	return nil
}

// jobColumns are the columns insertJobs writes: every column of jobs but
// the id, which the database assigns.
var jobColumns = []string{"queue", "owner", "claimed_user", "client_addr", "name", "document_name", "format",
	"state", "reason", "message", "copies", "sides", "color_mode", "media", "hold_until", "password_hash",
	"spool", "doc_in_db", "size", "sha256", "pages", "pages_reason", "printer", "printer_job_id", "claimed_by",
	"device", "pin_failures", "created_at", "updated_at", "processed_at", "completed_at"}

// jobValues returns j's values in the order of jobColumns.
func jobValues(j *Job) []any {
	return []any{j.Queue, j.Owner, j.ClaimedUser, j.ClientAddr, j.Name, j.DocumentName, j.Format,
		j.State, j.Reason, j.Message, j.Copies, j.Sides, j.ColorMode, j.Media, j.HoldUntil, j.PasswordHash,
		j.Spool, j.DocInDB, j.Size, j.SHA256, j.Pages, j.PagesReason, j.Printer, j.PrinterJobID, j.ClaimedBy,
		j.Device, j.PINFailures, j.CreatedAt, j.UpdatedAt, j.ProcessedAt, j.CompletedAt}
}

// insertJobs inserts the jobs of batch with one statement and sets their
// IDs. The rows come back matched by document name, unique to each job,
// rather than by position, which neither database promises for RETURNING.
func insertJobs(tx *gorm.DB, batch []*submission) error {
	args := make([]any, 0, len(batch)*len(jobColumns))
	bySpool := make(map[string]*Job, len(batch))
	for _, sub := range batch {
		args = append(args, jobValues(sub.job)...)
		bySpool[sub.job.Spool] = sub.job
	}
	q := "INSERT INTO jobs (" + strings.Join(jobColumns, ", ") + ") VALUES " +
		rowsOf(len(batch), len(jobColumns)) + " RETURNING id, spool"
	rows, err := tx.Raw(q, args...).Rows()
	if err != nil {
		return fmt.Errorf("insert jobs: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return fmt.Errorf("insert jobs: %w", err)
		}
		j := bySpool[name]
		if j == nil || j.ID != 0 {
			return fmt.Errorf("insert jobs: unexpected row for document %q", name)
		}
		j.ID = id
		n++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("insert jobs: %w", err)
	}
	if n != len(batch) {
		return fmt.Errorf("insert jobs: %d rows back for %d jobs", n, len(batch))
	}
	return nil
}

// insertKeys inserts the wrapped keys of batch's documents.
func insertKeys(tx *gorm.DB, batch []*submission) error {
	args := make([]any, 0, 2*len(batch))
	for _, sub := range batch {
		args = append(args, sub.job.ID, sub.job.WrappedKey)
	}
	err := tx.Exec("INSERT INTO job_keys (job_id, wrapped_key) VALUES "+rowsOf(len(batch), 2), args...).Error
	if err != nil {
		return fmt.Errorf("insert keys: %w", err)
	}
	return nil
}

// insertDocuments inserts the sealed small documents of batch.
func insertDocuments(tx *gorm.DB, batch []*submission) error {
	args := make([]any, 0, 2*len(batch))
	for _, sub := range batch {
		if sub.doc.sealed != nil {
			args = append(args, sub.job.ID, *sub.doc.sealed)
		}
	}
	if len(args) == 0 {
		return nil
	}
	err := tx.Exec("INSERT INTO job_documents (job_id, data) VALUES "+rowsOf(len(args)/2, 2), args...).Error
	if err != nil {
		return fmt.Errorf("insert documents: %w", err)
	}
	return nil
}

// rowsOf returns the VALUES list of n rows of cols placeholders each.
func rowsOf(n, cols int) string {
	row := "(" + strings.Repeat("?, ", cols-1) + "?)"
	var b strings.Builder
	b.Grow(n * (len(row) + 2))
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

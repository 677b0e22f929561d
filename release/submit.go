package release

import (
	"context"
	"errors"
	"fmt"
	"io"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit/mynumber"
	"github.com/printgate/printgate/ipp"
)

// activeStates are the states of jobs that have not ended.
var activeStates = []State{StateIncoming, StateHeld, StateReleasing, StatePrinting}

// queuedJobs counts the jobs of queue name that have not ended.
func (b ippBackend) queuedJobs(ctx context.Context, name string) (int, error) {
	s := b.s
	var n int64
	err := s.db.WithContext(ctx).Model(&Job{}).
		Where("queue = ? AND state IN ?", name, activeStates).Count(&n).Error
	if err != nil {
		return 0, dbErr("count jobs", err)
	}
	return int(n), nil
}

// newJob builds the row of a job from its request, its names masked
// where they hold an individual number (redactNames).
func (s *Service) newJob(ctx context.Context, q Queue, req ipp.JobRequest) (Job, error) {
	j := Job{
		Queue:        q.Name,
		Owner:        req.User,
		ClaimedUser:  req.ClaimedUser,
		ClientAddr:   req.ClientAddr,
		Name:         req.Name,
		DocumentName: req.Document.Name,
		Format:       req.Document.Format,
		Copies:       max(req.Copies, 1),
		Sides:        req.Sides,
		ColorMode:    req.ColorMode,
		Media:        req.Media,
		HoldUntil:    req.HoldUntil,
		PageRanges:   req.PageRanges,
		ClaimedBy:    s.instance,
		CreatedAt:    s.now(),
	}
	redactNames(&j)
	if err := s.decideOwner(ctx, q, req, &j); err != nil {
		return Job{}, err
	}
	if len(req.Password) > 0 {
		h, err := s.hashJobPassword(ctx, req.Password)
		if err != nil {
			return Job{}, err
		}
		j.PasswordHash = h
	}
	return j, nil
}

// hashJobPassword keeps a job password (job PIN) as a keyed hash; a
// server too busy to hash it answers server-error-busy.
func (s *Service) hashJobPassword(ctx context.Context, pw []byte) (string, error) {
	if s.creds == nil {
		return "", refuse(ErrNotPossible, "This server takes no job passwords.")
	}
	h, err := s.creds.HashJobPIN(ctx, pw)
	if errors.Is(err, ErrBusy) {
		return "", fmt.Errorf("release: hash job password: %w", err)
	}
	if err != nil {
		return "", fmt.Errorf("release: hash job password: %w", err)
	}
	return h, nil
}

// readyState is where a job goes once its document is stored: held on a
// hold queue, or on a direct queue printing unless the client asked to
// hold it.
func readyState(q Queue, holdUntil string) State {
	return readyStateOf(q, &Job{HoldUntil: holdUntil})
}

// readyStateOf is readyState for j, which a direct queue holds too when
// its queue protects what its document holds (My Number), or when it has
// a job password: its owner asked for it to wait for the password at a
// printer. The IPP server refuses a job-password on a direct queue, so
// such a job is held only should one come another way.
func readyStateOf(q Queue, j *Job) State {
	if j.Sensitive == SensitiveMyNumber && q.policy() == MyNumberProtect {
		return StateHeld
	}
	if j.PasswordHash != "" {
		return StateHeld
	}
	if holdUntil := j.HoldUntil; q.Mode == Hold || (holdUntil != "" && holdUntil != "no-hold") {
		return StateHeld
	}
	return StatePrinting
}

// printJob receives doc, encrypted, and has the committer record the
// job with it; only after both are durable does the client hear success.
// On any failure neither the job nor its document remains.
func (s *Service) printJob(ctx context.Context, req ipp.JobRequest, doc io.Reader) (Job, error) {
	s.submitting.Add(1)
	defer s.submitting.Add(-1)
	q, err := s.queue(req.Queue)
	if err != nil {
		return Job{}, err
	}
	j, err := s.newJob(ctx, q, req)
	if err != nil {
		return Job{}, err
	}
	r, err := s.receive(ctx, q, &j, doc)
	if err != nil {
		return Job{}, err
	}
	defer s.releaseBuffers(r)
	if err := s.checkRules(ctx, q, &j); err != nil {
		s.discardDocument(&j, r)
		return Job{}, err
	}
	j.State = readyStateOf(q, &j)
	j.Reason = reasonFor(j.State)
	if q.Mode == Direct && j.State == StateHeld && j.Sensitive != "" {
		j.Reason = ReasonMyNumber
	}
	if j.State == StatePrinting {
		j.Printer = q.Printer
	}
	j.UpdatedAt = s.now()
	if err := s.commit(ctx, &submission{q: q, job: &j, doc: r}); err != nil {
		if !errors.Is(err, errUnsynced) {
			s.discardDocument(&j, r)
		}
		return Job{}, err
	}
	s.jobMoved(&j, StateIncoming, Actor{}, j.CreatedAt)
	s.afterReady(j)
	s.wakeInspector(j)
	return j, nil
}

// createJob records a job that waits for its document.
func (s *Service) createJob(ctx context.Context, req ipp.JobRequest) (Job, error) {
	q, err := s.queue(req.Queue)
	if err != nil {
		return Job{}, err
	}
	j, err := s.newJob(ctx, q, req)
	if err != nil {
		return Job{}, err
	}
	if err := s.boundIncoming(ctx, j); err != nil {
		return Job{}, err
	}
	j.State = StateIncoming
	j.UpdatedAt = s.now()
	if err := s.db.WithContext(ctx).Create(&j).Error; err != nil {
		return Job{}, dbErr("insert job", err)
	}
	return j, nil
}

// maxIncoming bounds the jobs waiting for their documents (Create-Job
// without Send-Document) that one owner may have at once. Each is a row
// until the sweeper aborts it and a canceled event for good: a client
// that only ever sends Create-Job would otherwise add to the trail as
// fast as it can ask. A client sends a job's document right after
// creating it; twenty covers many at once. Counted per owner, not per
// client address: behind a proxy, or a print server forwarding for a
// whole office, one address is everyone's.
const maxIncoming = 20

// boundIncoming refuses j, about to wait for its document, when its
// owner already has maxIncoming jobs waiting for theirs, as busy: the
// client tries again once those have their documents or have been
// aborted. Concurrent requests may pass it together: the bound is
// approximate, which is all it needs to be.
func (s *Service) boundIncoming(ctx context.Context, j Job) error {
	var n int64
	err := s.db.WithContext(ctx).Model(&Job{}).Where("owner = ? AND state = ?", j.Owner, StateIncoming).Count(&n).Error
	if err != nil {
		return dbErr("count jobs waiting for documents", err)
	}
	if n >= maxIncoming {
		return refuse(ErrBusy, fmt.Sprintf("%d jobs of yours are waiting for their documents: "+
			"this one can be created once they have them, or in a few minutes.", n))
	}
	return nil
}

// sendDocument stores the document of a Create-Job job. A job takes one
// document; a later Send-Document may only close the job.
func (s *Service) sendDocument(ctx context.Context, req ipp.DocumentRequest, doc io.Reader) (Job, error) {
	q, err := s.queue(req.Queue)
	if err != nil {
		return Job{}, err
	}
	j, err := s.ownJob(ctx, req.JobTarget)
	if err != nil {
		return Job{}, err
	}
	if j.State != StateIncoming {
		return Job{}, refuse(ErrNotPossible, "The job is no longer accepting documents.")
	}
	if doc == nil {
		if !req.Last {
			return j, nil
		}
		return s.closeIncoming(ctx, q, j)
	}
	if j.Spool != "" {
		return Job{}, fmt.Errorf("release: job %d: %w", j.ID, ErrMultipleDocuments)
	}
	if req.Document.Name != "" {
		j.DocumentName = mynumber.MaskName(req.Document.Name)
	}
	j.Format = req.Document.Format
	r, err := s.receive(ctx, q, &j, doc)
	if err != nil {
		return Job{}, err
	}
	defer s.releaseBuffers(r)
	if err := s.checkRules(ctx, q, &j); err != nil {
		s.discardDocument(&j, r)
		return Job{}, err
	}
	if err := s.recordDocument(ctx, q, &j, r, req.Last); err != nil {
		s.discardDocument(&j, r)
		return Job{}, err
	}
	if j.State != StateIncoming {
		s.jobMoved(&j, StateIncoming, Actor{Name: j.Owner}, j.CreatedAt)
	}
	s.afterReady(j)
	s.wakeInspector(j)
	return j, nil
}

// recordDocument records the document r of Create-Job job j, received by
// Send-Document, and moves j on if it was the last.
func (s *Service) recordDocument(ctx context.Context, q Queue, j *Job, r received, last bool) error {
	if r.file {
		if err := s.spool.SyncDir(); err != nil {
			return fmt.Errorf("release: store document: %w", err)
		}
	}
	next := StateIncoming
	if last {
		next = readyStateOf(q, j)
	}
	j.State = next
	j.Reason = reasonFor(next)
	if q.Mode == Direct && next == StateHeld && j.Sensitive != "" {
		j.Reason = ReasonMyNumber
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.checkHeld(tx, j.Owner, j.Size); err != nil {
			return err
		}
		res := tx.Model(&Job{}).Where("id = ? AND state = ? AND spool = ''", j.ID, StateIncoming).
			Updates(map[string]any{
				"state": j.State, "reason": j.Reason, "spool": j.Spool, "doc_in_db": j.DocInDB,
				"size": j.Size, "sha256": j.SHA256, "pages": j.Pages, "pages_reason": j.PagesReason, "format": j.Format,
				"document_name": j.DocumentName, "sensitive": j.Sensitive, "updated_at": s.now(),
			})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return refuse(ErrNotPossible, "The job changed while its document arrived.")
		}
		if err := storeReceived(tx, j, r); err != nil {
			return err
		}
		if j.State == StateIncoming {
			return nil
		}
		return s.recordSubmitted(ctx, tx, q, j)
	})
	if overHeldLimit(err) {
		// A one-statement batch of the committer got there first
		// (alone.go).
		held, _ := heldBy(s.db.WithContext(ctx), j.Owner)
		return s.errUserFull(held)
	}
	return dbErr("store document", err)
}

// closeJob ends the document list of a Create-Job job.
func (s *Service) closeJob(ctx context.Context, t ipp.JobTarget) (Job, error) {
	q, err := s.queue(t.Queue)
	if err != nil {
		return Job{}, err
	}
	j, err := s.ownJob(ctx, t)
	if err != nil {
		return Job{}, err
	}
	if j.State != StateIncoming {
		return Job{}, refuse(ErrNotPossible, "The job is already closed.")
	}
	return s.closeIncoming(ctx, q, j)
}

// closeIncoming moves a job whose documents are complete on; a job closed
// without any document is aborted, as there is nothing to print.
func (s *Service) closeIncoming(ctx context.Context, q Queue, j Job) (Job, error) {
	next := readyStateOf(q, &j)
	if j.Spool == "" {
		next = StateAborted
	}
	ok, err := s.transition(ctx, &j, change{from: []State{StateIncoming}, to: next, reason: reasonFor(next),
		by: Actor{Name: j.Owner}})
	if err != nil {
		return Job{}, err
	}
	if !ok {
		return Job{}, refuse(ErrNotPossible, "The job is already closed.")
	}
	s.afterReady(j)
	return j, nil
}

// countPages counts the pages of j's stored document, decrypting it on
// the fly: plaintext never touches the disk. A document that cannot be
// counted is still accepted, with the reason kept.
func (s *Service) countPages(ctx context.Context, j *Job) error {
	done, err := s.countSlot(ctx)
	if err != nil {
		return err
	}
	defer done()
	doc, err := s.spool.Open(j.Spool, j.WrappedKey)
	if err != nil {
		return fmt.Errorf("release: count pages: %w", err)
	}
	defer doc.Close()
	res, err := s.pages.Count(ctx, j.Format, io.NewSectionReader(&blockCache{r: doc}, 0, doc.Size()))
	if err != nil {
		return fmt.Errorf("release: count pages: %w", err)
	}
	setPages(j, res.Pages, res.Known, res.Reason)
	return nil
}

// setPages records a page count on j; an unknown count is zero, with the
// reason kept.
func setPages(j *Job, pages int, known bool, reason string) {
	ranges, _ := ipp.ParsePageRanges(j.PageRanges)
	j.Pages, j.PagesReason = ipp.CountPages(ranges, pages), reason
	if !known {
		j.Pages = 0
	}
}

// countSlot waits for one of the page counts that may run at once, and
// returns the function that gives it back.
func (s *Service) countSlot(ctx context.Context) (func(), error) {
	select {
	case s.counting <- struct{}{}:
		return func() { <-s.counting }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("release: count pages: %w", ctx.Err())
	}
}

// afterReady starts forwarding a job that is ready to print.
func (s *Service) afterReady(j Job) {
	if j.State == StatePrinting {
		s.forwardLater(j.ID)
	}
}

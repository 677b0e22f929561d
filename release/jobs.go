package release

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release/directory"
)

func (s *Service) load(ctx context.Context, queue string, id int64) (Job, error) {
	var j Job
	err := s.db.WithContext(ctx).Where("id = ? AND queue = ?", id, queue).Take(&j).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Job{}, fmt.Errorf("release: job %d: %w", id, ErrNotFound)
	}
	return j, dbErr(fmt.Sprintf("load job %d", id), err)
}

// ownJob loads the target job and checks that t.User owns it.
func (s *Service) ownJob(ctx context.Context, t ipp.JobTarget) (Job, error) {
	j, err := s.load(ctx, t.Queue, int64(t.ID))
	if err != nil {
		return Job{}, err
	}
	if j.Owner != t.User {
		return Job{}, refuse(ErrNotAllowed, "Only the job's owner may do this.")
	}
	return j, nil
}

// accountJob is ownJob for canceling, holding and releasing: the job
// must also have been submitted since the directory made t.User's
// account (ownedSince). Send-Document and Close-Job, which follow their
// Create-Job within seconds, ask the directory nothing more.
func (s *Service) accountJob(ctx context.Context, t ipp.JobTarget) (Job, error) {
	j, err := s.ownJob(ctx, t)
	if err != nil {
		return Job{}, err
	}
	since, err := s.ownedSince(ctx, t.User)
	if err != nil {
		return Job{}, err
	}
	if j.CreatedAt.Before(since) {
		return Job{}, refuse(ErrNotAllowed, "Only the job's owner may do this.")
	}
	return j, nil
}

// ownedSince is from when the jobs of user's name are the account's the
// directory has now (directory.OwnedSince): a leaver's, held under the
// name before it was given again, are not the new hire's to cancel or
// release. Zero, every job of the name, without a directory or for a
// name it does not know.
func (s *Service) ownedSince(ctx context.Context, user string) (time.Time, error) {
	if s.dir == nil {
		return time.Time{}, nil
	}
	id, err := directory.LookupName(ctx, s.dir, user)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return time.Time{}, nil
	case errors.Is(err, directory.ErrUnavailable):
		return time.Time{}, fmt.Errorf("release: directory: %w: %w", ErrUnavailable, err)
	case err != nil:
		return time.Time{}, fmt.Errorf("release: directory: %w", err)
	}
	return directory.OwnedSince(id.Created), nil
}

// cancelJob cancels a job that has not started printing and destroys its
// document.
func (b ippBackend) cancelJob(ctx context.Context, t ipp.JobTarget) (Job, error) {
	s := b.s
	j, err := s.accountJob(ctx, t)
	if err != nil {
		return Job{}, err
	}
	return s.cancel(ctx, j, byIPPOwner(t.User))
}

// cancelMyJobs cancels t.User's jobs on t.Queue that have not started
// printing, or only those in ids.
func (b ippBackend) cancelMyJobs(ctx context.Context, t ipp.JobTarget, ids []int) ([]Job, error) {
	s := b.s
	since, err := s.ownedSince(ctx, t.User)
	if err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx).Where("queue = ? AND owner = ? AND state IN ?", t.Queue, t.User,
		[]State{StateIncoming, StateHeld})
	if !since.IsZero() {
		db = db.Where("created_at >= ?", since)
	}
	if len(ids) > 0 {
		db = db.Where("id IN ?", ids)
	}
	var rows []Job
	if err := db.Find(&rows).Error; err != nil {
		return nil, dbErr("list my jobs", err)
	}
	out := make([]Job, 0, len(rows))
	for _, j := range rows {
		cj, err := s.cancel(ctx, j, byIPPOwner(t.User))
		if errors.Is(err, ErrNotPossible) {
			continue // started printing meanwhile
		}
		if err != nil {
			return out, err
		}
		out = append(out, cj)
	}
	return out, nil
}

// holdJob holds a job that has not started printing.
func (b ippBackend) holdJob(ctx context.Context, t ipp.JobTarget, until string) (Job, error) {
	s := b.s
	j, err := s.accountJob(ctx, t)
	if err != nil {
		return Job{}, err
	}
	switch j.State {
	case StateHeld:
		return j, nil
	case StateIncoming:
		err := s.db.WithContext(ctx).Model(&Job{}).Where("id = ? AND state = ?", j.ID, StateIncoming).
			Updates(map[string]any{"hold_until": until, "updated_at": s.now()}).Error
		if err != nil {
			return Job{}, dbErr("hold job", err)
		}
		j.HoldUntil = until
		return j, nil
	}
	return Job{}, refuse(ErrNotPossible, fmt.Sprintf("The job is %s and can no longer be held.", j.State))
}

// releaseJob prints a held job of a direct queue. Jobs on hold queues are
// released only at a device, by a user who proves who they are there.
func (b ippBackend) releaseJob(ctx context.Context, t ipp.JobTarget) (Job, error) {
	s := b.s
	q, err := s.queue(t.Queue)
	if err != nil {
		return Job{}, err
	}
	j, err := s.accountJob(ctx, t)
	if err != nil {
		return Job{}, err
	}
	if q.Mode == Hold {
		return Job{}, refuse(ErrNotAllowed,
			"Jobs on this queue are released at the printer: sign in there with your card or PIN.")
	}
	if s.protects(&j) {
		return Job{}, refuse(ErrNotAllowed,
			"This job holds an individual number (My Number): release it at a printer with your card and PIN.")
	}
	// Release-Job is the owner's explicit word: for a job that may have
	// printed it is the confirmation, and the audit event says so. This
	// instance prints it, so the claim becomes this instance's: the one
	// that took the job in must not take it for an orphan (holdOrphans).
	ok, err := s.transition(ctx, &j, change{from: []State{StateHeld}, to: StatePrinting,
		reason: reasonFor(StatePrinting), by: Actor{Name: t.User, Method: "ipp-release-job", Printer: q.Printer},
		details: reprintConfirmed(j), claim: &claim{instance: s.instance, printer: q.Printer}})
	if err != nil {
		return Job{}, err
	}
	if !ok {
		return Job{}, refuse(ErrNotPossible, "The job is not held.")
	}
	s.afterReady(j)
	return j, nil
}

// change describes one move of a job's state machine.
type change struct {
	// from are the states the move starts from; a job found in any other
	// state (another caller moved it first) is left alone.
	from []State
	to   State
	// reason is the job-state-reasons keyword the job shows afterwards,
	// message the words for a person at the printer or in the console.
	reason, message string
	// by is who makes the move, for the audit trail; zero is printgate.
	by Actor
	// claim, when set, records in the same update which instance and
	// device print the job: a release then commits once before printing.
	claim *claim
	// details go into the move's audit event (what a print changed of
	// the job's options to fit its printer).
	details map[string]string
	// unlessReason, when set, leaves alone a job whose reason it is: a
	// release not confirmed for a job that may have printed.
	unlessReason string
}

// A claim says where a released job prints.
type claim struct{ instance, device, printer string }

// transition makes change c to j, from one of c.from to c.to, with a
// conditional update so that of several racing callers (goroutines or
// printgate instances) exactly one wins, and records the move in the audit
// trail in the same transaction (on PostgreSQL, for a move that keeps the
// document, the same statement: moveAlone). It reports whether this
// caller won.
// Moving to an ended state destroys the document: the key, and a document
// kept in the database, are deleted in the same transaction, a spool file
// after it commits. On a queue that hides
// document names, an ended job's row keeps only their keyed form.
func (s *Service) transition(ctx context.Context, j *Job, c change) (bool, error) {
	t := s.now()
	set := map[string]any{"state": c.to, "reason": c.reason, "message": c.message, "updated_at": t}
	switch c.to {
	case StatePrinting, StateReleasing:
		set["processed_at"] = t
	case StateHeld:
		set["processed_at"] = nil
	}
	hide := c.to.Ended() && hidesName(s.queues[j.Queue], j)
	if c.to.Ended() {
		set["completed_at"] = t
	}
	next := *j
	if hide {
		next.Name, next.DocumentName = s.keyedName(j.Name), s.keyedName(j.DocumentName)
		set["name"], set["document_name"] = next.Name, next.DocumentName
	}
	destroy := c.to.Ended() && !(c.to == StateCompleted && s.queues[j.Queue].KeepAfterPrint > 0)
	if destroy {
		set["spool"], set["doc_in_db"] = "", false
	}
	if c.claim != nil {
		set["claimed_by"], set["device"], set["printer"] = c.claim.instance, c.claim.device, c.claim.printer
		next.ClaimedBy, next.Device, next.Printer = c.claim.instance, c.claim.device, c.claim.printer
	}
	prev := j.State
	next.State, next.Reason, next.Message, next.UpdatedAt = c.to, c.reason, c.message, t
	won, err := false, errTryLocked
	if s.db.Dialect == database.Postgres && !destroy && prev != StateIncoming {
		won, err = s.moveAlone(ctx, j, &next, c, set)
	}
	if errors.Is(err, errTryLocked) {
		won, err = s.moveLocked(ctx, j, &next, c, set, destroy)
	}
	if err != nil {
		return false, err
	}
	if !won {
		return false, nil
	}
	was := *j
	*j = next
	if c.to.Ended() {
		j.CompletedAt = &t
	}
	if destroy {
		j.Spool, j.DocInDB, j.WrappedKey = "", false, nil
		s.removeFile(was)
	}
	if destroy || hide {
		s.scrubSoon()
	}
	since := was.UpdatedAt
	if prev == StateIncoming {
		since = was.CreatedAt
	}
	s.jobMoved(j, prev, c.by, since)
	return true, nil
}

// moveLocked makes the move with the job update set in a transaction,
// for every move and database, and reports whether this caller won.
func (s *Service) moveLocked(ctx context.Context, j, next *Job, c change, set map[string]any, destroy bool) (bool, error) {
	prev := j.State
	var won bool
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Model(&Job{}).Where("id = ? AND state IN ?", j.ID, c.from)
		if c.unlessReason != "" {
			q = q.Where("reason <> ?", c.unlessReason)
		}
		res := q.Updates(set)
		if res.Error != nil || res.RowsAffected != 1 {
			return res.Error
		}
		won = true
		if destroy {
			if err := destroyDocument(tx, j.ID); err != nil {
				return err
			}
		}
		if prev == StateIncoming && !destroy {
			q, err := s.queue(j.Queue)
			if err != nil {
				return err
			}
			return s.recordSubmitted(ctx, tx, q, next)
		}
		return s.record(ctx, tx, next, prev, c.to, c.by, destroy && j.Spool != "", c.details)
	})
	if err != nil {
		return false, dbErr(fmt.Sprintf("job %d: %s", j.ID, c.to), err)
	}
	return won, nil
}

// keyedName is what a job's row keeps of a hidden name once the job has
// ended: the keyed form the audit trail records, by which an auditor who
// knows a name can still find the job. Without an audit key nothing is
// kept.
func (s *Service) keyedName(name string) string {
	if name == "" || strings.HasPrefix(name, audit.KeyedNamePrefix) {
		return name
	}
	k, err := s.audit.KeyedName(name)
	if err != nil {
		return ""
	}
	return k
}

// HidesNames reports whether queue shows document names only to their
// owner, and only while the job is live.
func (s *Service) HidesNames(queue string) bool { return s.queues[queue].HideNames }

// HidesName reports whether j's names are shown only to its owner, and
// only while it is live: its queue hides names, or its document holds an
// individual number or is still to be searched for one.
func (s *Service) HidesName(j Job) bool { return hidesName(s.queues[j.Queue], &j) }

// forAdmin returns j as administrators and auditors may see it: where
// its names are hidden (HidesName), the name is the keyed form.
func (s *Service) forAdmin(j Job) Job {
	if s.HidesName(j) {
		j.Name, j.DocumentName = s.keyedName(orName(&j)), ""
	}
	return j
}

// ExpiresAt says when a held job expires unless released.
func (s *Service) ExpiresAt(j Job) time.Time {
	ttl := s.queues[j.Queue].TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if s.protects(&j) {
		ttl = s.queues[j.Queue].myNumberTTL()
	}
	return j.CreatedAt.Add(ttl)
}

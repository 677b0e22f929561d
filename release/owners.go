package release

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/audit/mynumber"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/owner"
)

// Who owns a job: on an auth: basic queue the user who signed in; on a
// queue that trusts requesting-user-name the directory user the claimed
// name maps to (release/owner). A job to hold whose name maps to nobody
// would be lost, so it is refused, or held for an administrator to
// assign (Queue.UnknownOwner); a direct job prints, marked unknown.

var _ ipp.UserMapper = ippBackend{}

// MapUser implements ipp.UserMapper: the IPP server acts, on queues that
// trust requesting-user-name, as the user the claimed name stands for.
func (b ippBackend) MapUser(ctx context.Context, _ ipp.Printer, claimed string) (string, error) {
	o, err := b.s.mapOwner(ctx, claimed)
	if err != nil {
		return "", toIPP(err)
	}
	if o.Name == "" {
		return claimed, nil
	}
	return o.Name, nil
}

// mapOwner maps a claimed name; without a Mapper every name is its own
// known owner.
func (s *Service) mapOwner(ctx context.Context, claimed string) (owner.Owner, error) {
	if s.owners == nil {
		return owner.Owner{Name: claimed, Known: true}, nil
	}
	o, err := s.owners.Map(ctx, claimed)
	if err != nil {
		return owner.Owner{}, fmt.Errorf("release: owner of %q: %w: %w", claimed, ErrUnavailable, err)
	}
	return o, nil
}

// decideOwner sets the owner of j, a new job of q sent by req, and
// refuses a job to hold that nobody could release.
func (s *Service) decideOwner(ctx context.Context, q Queue, req ipp.JobRequest, j *Job) error {
	if q.Auth != AuthRequestingUserName || s.owners == nil {
		return nil
	}
	o, err := s.mapOwner(ctx, req.ClaimedUser)
	if err != nil {
		return err
	}
	if o.Known && o.Disabled {
		// A leaver's name: nobody may release the job, and a direct
		// queue must not print for an account refused everywhere else.
		return refuse(ErrNotAllowed, fmt.Sprintf("The printgate user %q is disabled and may not print.", o.Name))
	}
	if o.Known {
		j.Owner = o.Name
		return nil
	}
	if o.Name != "" {
		j.Owner = o.Name
	}
	// Nobody's name: the client's word, masked as the job's names are
	// (redactNames).
	j.Owner, j.OwnerUnknown = mynumber.MaskName(j.Owner), true
	if readyState(q, req.HoldUntil) != StateHeld || q.UnknownOwner == HoldUnknown {
		return nil
	}
	return refuse(ErrNotAllowed, unknownOwnerMessage(j.ClaimedUser))
}

// unknownOwnerMessage tells the sender why their job was refused and
// what to do.
func unknownOwnerMessage(claimed string) string {
	if claimed == "" {
		return "The job names no user (requesting-user-name), so nobody could release it. " +
			"Print under your directory user name (for example lp -U NAME)."
	}
	return fmt.Sprintf("No printgate user is known as %q, so nobody could release this job. "+
		"Print under your directory user name (for example lp -U NAME), "+
		"or ask an administrator to add an alias: printgate alias add %s NAME.", claimed, claimed)
}

// UnknownOwnerJobs returns the held jobs whose owner is unknown, oldest
// first, up to limit, for administrators to assign.
func (a *Admin) UnknownOwnerJobs(ctx context.Context, limit int) ([]Job, error) {
	var out []Job
	err := a.s.db.WithContext(ctx).Omit("wrapped_key").Where("state = ? AND owner_unknown", StateHeld).
		Order("id").Limit(limit).Find(&out).Error
	for i := range out {
		out[i] = a.s.forAdmin(out[i])
	}
	return out, dbErr("list jobs of unknown owners", err)
}

// AssignOwner gives the held job id, whose owner is unknown, to the
// directory user to, on the administrator admin's behalf; the owner can
// then release it. The change and its event (who, from whom, to whom)
// are one transaction. ErrNotFound when no such job waits for an owner;
// a user the directory does not know by the name to is refused: an
// employee number, or another user's further login name, names someone
// the administrator did not.
func (a *Admin) AssignOwner(ctx context.Context, id int64, to, admin string) (Job, error) {
	s := a.s
	if s.dir == nil {
		return Job{}, fmt.Errorf("release: assign job %d: no directory: %w", id, ErrUnavailable)
	}
	user, err := directory.LookupName(ctx, s.dir, to)
	if errors.Is(err, directory.ErrNotFound) {
		// Not ErrNotFound: that would say the job is not there.
		return Job{}, fmt.Errorf("release: assign job %d to %q: %w", id, to, err)
	}
	if err != nil {
		return Job{}, fmt.Errorf("release: assign job %d: %w: %w", id, ErrUnavailable, err)
	}
	j, err := s.loadJob(ctx, id, "state = ? AND owner_unknown", StateHeld)
	if err != nil {
		return Job{}, err
	}
	from := j.Owner
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&Job{}).Where("id = ? AND state = ? AND owner_unknown", id, StateHeld).
			Updates(map[string]any{"owner": user.Name, "owner_unknown": false, "updated_at": s.now()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("release: job %d: %w", id, ErrNotFound)
		}
		_, err := s.audit.Append(ctx, tx, audit.Event{Type: audit.EventOwnerAssigned, JobID: id, Owner: user.Name,
			Actor: admin, Queue: j.Queue, Method: "console",
			Details: map[string]string{"from": from, "to": user.Name}})
		return err
	})
	if err != nil {
		return Job{}, dbErr(fmt.Sprintf("assign job %d", id), err)
	}
	j.Owner, j.OwnerUnknown = user.Name, false
	return s.forAdmin(j), nil
}

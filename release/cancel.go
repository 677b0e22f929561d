package release

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// A cancellation says who cancels a job and under which rule. Each
// caller keeps its own checks (whose job, which queues) before it hands
// the job to Service.cancel, and its own word for a job past the rule.
type cancellation struct {
	by     Actor
	reason string // the audit reason: job-canceled-by-user or -by-operator
	// from are the states the job may be canceled from.
	from []State
	// late is the error for a job no longer in from; j is as it is now.
	late func(j Job) error
}

// heldOnly is the rule of the release and console callers: a held job
// can be canceled, anything else is refused with kind.
func heldOnly(by Actor, reason string, kind error) cancellation {
	return cancellation{by: by, reason: reason, from: []State{StateHeld},
		late: func(j Job) error { return fmt.Errorf("release: job %d is %s: %w", j.ID, j.State, kind) }}
}

// cancel moves j to canceled under c, which destroys its document, and
// returns the job as it is now.
func (s *Service) cancel(ctx context.Context, j Job, c cancellation) (Job, error) {
	ok, err := s.transition(ctx, &j, change{from: c.from, to: StateCanceled, reason: c.reason, by: c.by})
	if err != nil {
		return Job{}, err
	}
	if !ok {
		return Job{}, c.late(j)
	}
	return j, nil
}

// loadJob returns the job id that also matches the condition where (with
// its args), or ErrNotFound.
func (s *Service) loadJob(ctx context.Context, id int64, where string, args ...any) (Job, error) {
	var j Job
	db := s.db.WithContext(ctx).Where("id = ?", id)
	if where != "" {
		db = db.Where(where, args...)
	}
	err := db.Take(&j).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Job{}, fmt.Errorf("release: job %d: %w", id, ErrNotFound)
	}
	return j, dbErr("load job", err)
}

// byIPPOwner is the rule of IPP's Cancel-Job and Cancel-My-Jobs: the
// owner cancels a job that has not started printing.
func byIPPOwner(user string) cancellation {
	return cancellation{by: Actor{Name: user}, reason: "job-canceled-by-user", from: []State{StateIncoming, StateHeld},
		late: func(j Job) error {
			return refuse(ErrNotPossible, fmt.Sprintf("The job is %s and can no longer be canceled.", j.State))
		}}
}

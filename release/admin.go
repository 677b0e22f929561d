package release

import (
	"context"
	"time"
)

// Admin serves the administrators, in the console and the command line:
// devices, their throttles, and every user's held jobs. It is a view of
// the Service, which holds the jobs.
type Admin struct{ s *Service }

// Admin returns the Service's verbs for administration.
func (s *Service) Admin() *Admin { return &Admin{s} }

// HeldCounts counts the jobs held now and those of them that expire
// within soon.
func (a *Admin) HeldCounts(ctx context.Context, soon time.Duration) (held, expiring int64, err error) {
	s := a.s
	var rows []Job
	err = s.db.WithContext(ctx).Select("queue", "created_at").Where("state = ?", StateHeld).Find(&rows).Error
	if err != nil {
		return 0, 0, dbErr("count held jobs", err)
	}
	limit := s.now().Add(soon)
	for _, j := range rows {
		held++
		if s.ExpiresAt(j).Before(limit) {
			expiring++
		}
	}
	return held, expiring, nil
}

// HeldJobs returns every held job, oldest first, up to limit, for the
// held-queue view; names hidden by their queue are in their keyed form.
func (a *Admin) HeldJobs(ctx context.Context, limit int) ([]Job, error) {
	var out []Job
	err := a.s.db.WithContext(ctx).Where("state = ?", StateHeld).Order("id").Limit(limit).Find(&out).Error
	for i := range out {
		out[i] = a.s.forAdmin(out[i])
	}
	return out, dbErr("list held jobs", err)
}

// Cancel cancels any held job on the administrator admin's behalf and
// destroys its document; ErrNotFound when no such job is held.
func (a *Admin) Cancel(ctx context.Context, id int64, admin string) error {
	j, err := a.s.loadJob(ctx, id, "")
	if err != nil {
		return err
	}
	_, err = a.s.cancel(ctx, j, heldOnly(Actor{Name: admin, Method: "console"}, "job-canceled-by-operator", ErrNotFound))
	return err
}

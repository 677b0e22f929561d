package release

import "context"

// MyJobs serves the console's My page: a signed-in user's own held jobs
// on every queue. It is a view of the Service, which holds the jobs.
type MyJobs struct{ s *Service }

// MyJobs returns the Service's verbs for a user's own jobs in the console.
func (s *Service) MyJobs() *MyJobs { return &MyJobs{s} }

// Held returns user's held jobs on every queue, newest first: those of
// the account the directory has now (ownedSince), not a leaver's held
// under the name before it was given again. Jobs still to be searched
// for individual numbers are searched first, as at a device: the page
// then marks those holding one, and the history below it shows the names
// of the others.
func (m *MyJobs) Held(ctx context.Context, user string) ([]Job, error) {
	since, err := m.s.ownedSince(ctx, user)
	if err != nil {
		return nil, err
	}
	if err := m.s.inspectOwner(ctx, user); err != nil {
		return nil, err
	}
	var out []Job
	db := m.s.db.WithContext(ctx).Omit("wrapped_key").Where("owner = ? AND NOT owner_unknown AND state = ?", user, StateHeld)
	if !since.IsZero() {
		db = db.Where("created_at >= ?", since)
	}
	err = db.Order("created_at DESC, id DESC").Find(&out).Error
	return out, dbErr("list held jobs", err)
}

// Cancel cancels user's held job id; ErrNotFound when user has no such
// held job, or one from before the account (Held).
func (m *MyJobs) Cancel(ctx context.Context, user string, id int64) error {
	since, err := m.s.ownedSince(ctx, user)
	if err != nil {
		return err
	}
	j, err := m.s.loadJob(ctx, id, "owner = ? AND NOT owner_unknown AND created_at >= ?", user, since)
	if err != nil {
		return err
	}
	_, err = m.s.cancel(ctx, j, heldOnly(Actor{Name: user, Method: "console"}, "job-canceled-by-user", ErrNotFound))
	return err
}

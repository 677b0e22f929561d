package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/web"
)

// The console reads jobs and the record through web's small interfaces;
// these adapters answer them from release and audit.

// consoleJobs serves My page's held jobs from release.
type consoleJobs struct{ svc *release.Service }

func (c consoleJobs) HeldJobs(ctx context.Context, user string) ([]web.HeldJob, error) {
	jobs, err := c.svc.UserHeldJobs(ctx, user)
	if err != nil {
		return nil, err
	}
	out := make([]web.HeldJob, len(jobs))
	for i, j := range jobs {
		out[i] = web.HeldJob{ID: j.ID, Name: j.Name, Queue: j.Queue, Pages: j.Pages, Copies: max(j.Copies, 1),
			Color: j.ColorMode == "color", NeedsPIN: j.PasswordHash != "", SubmittedAt: j.CreatedAt,
			ExpiresAt: c.svc.ExpiresAt(j)}
	}
	return out, nil
}

func (c consoleJobs) CancelJob(ctx context.Context, user string, id int64) error {
	err := c.svc.CancelUserJob(ctx, user, id)
	if errors.Is(err, release.ErrNotFound) {
		return fmt.Errorf("%w: %w", web.ErrNotFound, err)
	}
	return err
}

// consoleHistory serves history and the dashboard from audit and release.
type consoleHistory struct {
	log *audit.Log
	svc *release.Service
}

func (c consoleHistory) History(ctx context.Context, q web.HistoryQuery) (web.HistoryPage, error) {
	page, err := c.log.History(ctx, audit.HistoryQuery{User: q.User, From: q.From, To: q.To, Queue: q.Queue,
		Device: q.Device, Outcome: q.Outcome, Name: q.Name, Limit: q.Limit, Cursor: q.Cursor})
	if err != nil {
		return web.HistoryPage{}, err
	}
	out := web.HistoryPage{Next: page.Next, Rows: make([]web.HistoryRow, len(page.Jobs))}
	for i, r := range page.Jobs {
		out.Rows[i] = web.HistoryRow{JobID: r.JobID, User: r.Owner, Name: r.DocumentName, Queue: r.Queue,
			Device: r.Device, Pages: int64(r.Pages), Copies: int64(r.Copies), Color: r.Color(),
			SubmittedAt: r.Submitted, Outcome: r.Outcome, Reason: r.Reason}
	}
	return out, nil
}

func (c consoleHistory) Summary(ctx context.Context, from, to time.Time) (web.Summary, error) {
	var s web.Summary
	all, err := c.log.Totals(ctx, audit.TotalsQuery{From: from, To: to})
	if err != nil {
		return s, err
	}
	failed, err := c.log.Totals(ctx, audit.TotalsQuery{From: from, To: to, Outcome: audit.EventPrintFailed})
	if err != nil {
		return s, err
	}
	if len(all) > 0 {
		s.Jobs, s.Pages = all[0].Jobs, all[0].Impressions
	}
	if len(failed) > 0 {
		s.Failures = failed[0].Jobs
	}
	s.HeldNow, s.ExpiringSoon, err = c.svc.HeldCounts(ctx, time.Hour)
	return s, err
}

// consoleAudit records console actions in the audit trail.
type consoleAudit struct{ st *stack }

func (c consoleAudit) RecordAction(ctx context.Context, a web.Action) error {
	details := map[string]string{"role": string(a.Role), "target": a.Target, "remote": a.Remote}
	if a.Detail != "" {
		details["card-fingerprint"] = a.Detail
	}
	return c.st.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, err := c.st.audit.Append(ctx, tx, audit.Event{Type: a.Name, Actor: a.Actor, Owner: a.Target, Details: details})
		return err
	})
}

// consoleOptions wires the console into the web engine.
func (st *stack) consoleOptions(svc *release.Service) web.Options {
	loc, _ := time.LoadLocation(st.cfg.Audit.TimeZone)
	opts := web.Options{
		DB: st.db, Directory: st.dir, Credentials: st.creds, Log: st.log, TimeZone: loc,
		Jobs: consoleJobs{svc}, History: consoleHistory{st.audit, svc}, Audit: consoleAudit{st},
	}
	if st.builtin != nil {
		opts.Users = st.builtin
	}
	return opts
}

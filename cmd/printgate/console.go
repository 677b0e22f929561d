package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/throttle"
	"github.com/printgate/printgate/web"
)

// The console reads jobs and the record through web's small interfaces;
// these adapters answer them from release and audit.

// consoleJobs serves My page's held jobs from release.
type consoleJobs struct{ svc *release.Service }

func (c consoleJobs) HeldJobs(ctx context.Context, user string) ([]web.HeldJob, error) {
	return c.heldJobs(c.svc.MyJobs().Held(ctx, user))
}

// heldJobs is jobs as the console shows them.
func (c consoleJobs) heldJobs(jobs []release.Job, err error) ([]web.HeldJob, error) {
	if err != nil {
		return nil, err
	}
	out := make([]web.HeldJob, len(jobs))
	for i, j := range jobs {
		out[i] = c.heldJob(j)
	}
	return out, nil
}

// heldJob is j as the console shows it; release has already put hidden
// names in their keyed form where the viewer is not the owner.
func (c consoleJobs) heldJob(j release.Job) web.HeldJob {
	return web.HeldJob{ID: j.ID, Owner: j.Owner, OwnerUnknown: j.OwnerUnknown, Name: j.Name, Queue: j.Queue, Pages: j.Pages, Copies: max(j.Copies, 1),
		Color: j.Color(), NeedsPIN: j.PasswordHash != "", SubmittedAt: j.CreatedAt,
		MyNumber:  j.Sensitive == release.SensitiveMyNumber,
		ExpiresAt: c.svc.ExpiresAt(j), NameHidden: strings.HasPrefix(j.Name, audit.KeyedNamePrefix) && c.svc.HidesName(j)}
}

func (c consoleJobs) CancelJob(ctx context.Context, user string, id int64) error {
	return notFound(c.svc.MyJobs().Cancel(ctx, user, id))
}

func (c consoleJobs) AllHeldJobs(ctx context.Context, limit int) ([]web.HeldJob, error) {
	return c.heldJobs(c.svc.Admin().HeldJobs(ctx, limit))
}

// CancelAnyJob cancels through release, which records the cancellation
// with the administrator as actor in the transaction that makes it.
func (c consoleJobs) CancelAnyJob(ctx context.Context, id int64, admin string) error {
	return notFound(c.svc.Admin().Cancel(ctx, id, admin))
}

// AssignJob gives a job of an unknown owner to a directory user through
// release, which records it with the change.
func (c consoleJobs) AssignJob(ctx context.Context, id int64, to, admin string) error {
	_, err := c.svc.Admin().AssignOwner(ctx, id, to, admin)
	if errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("%w: %w", web.ErrNoSuchUser, err)
	}
	return notFound(err)
}

// notFound makes release's and audit's "not found" the console's.
func notFound(err error) error {
	if errors.Is(err, release.ErrNotFound) || errors.Is(err, audit.ErrNotFound) {
		return fmt.Errorf("%w: %w", web.ErrNotFound, err)
	}
	return err
}

// consoleHistory serves history from the audit log itself, and the
// dashboard's summary from audit and release.
type consoleHistory struct {
	*audit.Log
	svc *release.Service
}

var (
	_ web.Jobs    = consoleJobs{}
	_ web.Devices = consoleDevices{}
	_ web.History = consoleHistory{}
	_ web.Record  = (*audit.Log)(nil)
)

func (c consoleHistory) Summary(ctx context.Context, from, to time.Time) (web.Summary, error) {
	var s web.Summary
	all, err := c.Totals(ctx, audit.TotalsQuery{From: from, To: to})
	if err != nil {
		return s, err
	}
	// Jobs and pages count every job on the record, those printed
	// without printgate too; failures are printgate's to handle.
	failed, err := c.Totals(ctx, audit.TotalsQuery{From: from, To: to, Outcome: audit.EventPrintFailed,
		Source: audit.SourcePrintgate})
	if err != nil {
		return s, err
	}
	if len(all) > 0 {
		s.Jobs, s.Pages = all[0].Jobs, all[0].Impressions
	}
	if len(failed) > 0 {
		s.Failures = failed[0].Jobs
	}
	mine, err := c.Totals(ctx, audit.TotalsQuery{From: from, To: to, Sensitive: release.SensitiveMyNumber})
	if err != nil {
		return s, err
	}
	if len(mine) > 0 {
		s.MyNumber = mine[0].Jobs
	}
	s.HeldNow, s.ExpiringSoon, err = c.svc.Admin().HeldCounts(ctx, time.Hour)
	return s, err
}

// consoleAudit records console actions in the audit trail.
type consoleAudit struct{ st *stack }

func (c consoleAudit) RecordAction(ctx context.Context, tx *gorm.DB, a web.Action) error {
	details := map[string]string{"role": string(a.Role), "target": a.Target, "remote": a.Remote}
	if a.Detail != "" {
		details["card-fingerprint"] = a.Detail
	}
	for k, v := range a.Details {
		if k == "name" {
			// A document name searched for may be one its queue hides:
			// record it the way the record keeps such names.
			if keyed, err := c.st.audit.KeyedName(v); err == nil {
				k, v = "name-keyed", keyed
			}
		}
		details[k] = v
	}
	_, err := c.st.audit.Append(ctx, tx, audit.Event{Type: a.Name, Actor: a.Actor, Owner: a.Target,
		Method: a.Method, Reason: a.Reason, Details: details})
	return err
}

// consoleOptions wires the console into the web engine.
func (st *stack) consoleOptions(svc *release.Service) web.Options {
	loc, _ := time.LoadLocation(st.cfg.Audit.TimeZone)
	opts := web.Options{
		DB: st.db, Directory: st.dir, Credentials: st.creds, Passwords: st.passwords, Log: st.log, TimeZone: loc,
		Jobs: consoleJobs{svc}, History: consoleHistory{st.audit, svc}, Audit: consoleAudit{st},
		Record: st.audit, Devices: consoleDevices{svc, st.audit}, Codes: st.stampCodes,
		AllowPlainCredentials: st.cfg.Server.AllowPlainCredentials, Secure: st.cfg.Server.BehindTLSProxy,
		Remote: svc.RemoteRelease(), QRLabelLifetime: st.cfg.Release.QRLabelLifetime,
	}
	if st.builtin != nil {
		opts.Users, opts.PasswordSetter = st.builtin, st.builtin
	}
	return opts
}

// consoleDevices manages devices through release, which records every
// change in the audit trail.
type consoleDevices struct {
	svc *release.Service
	log *audit.Log
}

func (c consoleDevices) Devices(ctx context.Context) ([]web.Device, error) {
	devs, err := c.svc.Admin().Devices(ctx)
	if err != nil {
		return nil, err
	}
	throttled, err := c.svc.Admin().DeviceThrottles(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]web.Device, len(devs))
	byName := map[string]*web.Device{}
	for i, d := range devs {
		out[i] = web.Device{Device: d, ThrottledUntil: throttled[d.Name].Until, Refused: throttled[d.Name].Refused}
		byName[d.Name] = &out[i]
	}
	// One event per episode, so a month of them is few.
	f := audit.Filter{Type: throttle.EventDeviceThrottled, From: time.Now().Add(-30 * 24 * time.Hour)}
	for ev, err := range c.log.Events(ctx, f) {
		if err != nil {
			return nil, err
		}
		if d := byName[ev.Device]; d != nil {
			d.Episodes++
			d.LastThrottled = ev.At
		}
	}
	return out, nil
}

func (c consoleDevices) ClearThrottle(ctx context.Context, name, by string) error {
	_, err := c.svc.Admin().ClearDeviceThrottle(ctx, name, by)
	return notFound(err)
}

func (c consoleDevices) Queues() []string {
	var names []string
	for _, q := range c.svc.Queues() {
		names = append(names, q.Name)
	}
	return names
}

func (c consoleDevices) AddDevice(ctx context.Context, spec release.DeviceSpec, by string) (string, error) {
	_, token, err := c.svc.Admin().AddDevice(ctx, spec, by)
	return token, err
}

func (c consoleDevices) RotateToken(ctx context.Context, name, by string) (string, error) {
	token, err := c.svc.Admin().RotateToken(ctx, name, by)
	return token, notFound(err)
}

func (c consoleDevices) SetDeviceEnabled(ctx context.Context, name string, enabled bool, by string) error {
	return notFound(c.svc.Admin().SetDeviceEnabled(ctx, name, enabled, by))
}

package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/throttle"
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
		out[i] = c.heldJob(j)
	}
	return out, nil
}

// heldJob is j as the console shows it; release has already put hidden
// names in their keyed form where the viewer is not the owner.
func (c consoleJobs) heldJob(j release.Job) web.HeldJob {
	return web.HeldJob{ID: j.ID, Owner: j.Owner, Name: j.Name, Queue: j.Queue, Pages: j.Pages, Copies: max(j.Copies, 1),
		Color: j.ColorMode == "color", NeedsPIN: j.PasswordHash != "", SubmittedAt: j.CreatedAt,
		ExpiresAt: c.svc.ExpiresAt(j), NameHidden: strings.HasPrefix(j.Name, audit.KeyedNamePrefix) && c.svc.HidesNames(j.Queue)}
}

func (c consoleJobs) CancelJob(ctx context.Context, user string, id int64) error {
	return notFound(c.svc.CancelUserJob(ctx, user, id))
}

func (c consoleJobs) AllHeldJobs(ctx context.Context, limit int) ([]web.HeldJob, error) {
	jobs, err := c.svc.AllHeldJobs(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]web.HeldJob, len(jobs))
	for i, j := range jobs {
		out[i] = c.heldJob(j)
	}
	return out, nil
}

// CancelAnyJob cancels through release, which records the cancellation
// with the administrator as actor in the transaction that makes it.
func (c consoleJobs) CancelAnyJob(ctx context.Context, id int64, admin string) error {
	return notFound(c.svc.AdminCancelJob(ctx, id, admin))
}

// notFound makes release's and audit's "not found" the console's.
func notFound(err error) error {
	if errors.Is(err, release.ErrNotFound) || errors.Is(err, audit.ErrNotFound) {
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
	page, err := c.log.History(ctx, auditQuery(q))
	if errors.Is(err, audit.ErrBadCursor) {
		return web.HistoryPage{}, fmt.Errorf("%w: %w", web.ErrBadCursor, err)
	}
	if err != nil {
		return web.HistoryPage{}, err
	}
	out := web.HistoryPage{Next: page.Next, Rows: make([]web.HistoryRow, len(page.Jobs))}
	for i, r := range page.Jobs {
		out.Rows[i] = historyRow(r)
	}
	return out, nil
}

// auditQuery is the record's form of a console history query; the two
// mean the same by every field.
func auditQuery(q web.HistoryQuery) audit.HistoryQuery {
	return audit.HistoryQuery{User: q.User, From: q.From, To: q.To, Queue: q.Queue, Device: q.Device,
		Outcome: q.Outcome, Name: q.Name, Limit: q.Limit, Cursor: q.Cursor}
}

func historyRow(r audit.JobRecord) web.HistoryRow {
	return web.HistoryRow{JobID: r.JobID, User: r.Owner, Name: r.DocumentName, NameHidden: r.HideName,
		Queue: r.Queue, Device: r.Device, Pages: int64(r.Pages), Copies: int64(r.Copies), Color: r.Color(),
		SubmittedAt: r.Submitted, Outcome: r.Outcome, Reason: r.Reason}
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
	_, err := c.st.audit.Append(ctx, tx, audit.Event{Type: a.Name, Actor: a.Actor, Owner: a.Target, Details: details})
	return err
}

// consoleOptions wires the console into the web engine.
func (st *stack) consoleOptions(svc *release.Service) web.Options {
	loc, _ := time.LoadLocation(st.cfg.Audit.TimeZone)
	opts := web.Options{
		DB: st.db, Directory: st.dir, Credentials: st.creds, Passwords: st.passwords, Log: st.log, TimeZone: loc,
		Jobs: consoleJobs{svc}, History: consoleHistory{st.audit, svc}, Audit: consoleAudit{st},
		Record: consoleRecord{st.audit}, Devices: consoleDevices{svc, st.audit},
		AllowPlainCredentials: st.cfg.Server.AllowPlainCredentials,
	}
	if st.builtin != nil {
		opts.Users = st.builtin
	}
	return opts
}

// consoleRecord serves job details, the chain check, totals and exports
// from the audit log.
type consoleRecord struct{ log *audit.Log }

func (c consoleRecord) Job(ctx context.Context, id int64) (web.JobDetail, error) {
	r, err := c.log.Job(ctx, id)
	if err != nil {
		return web.JobDetail{}, notFound(err)
	}
	d := web.JobDetail{HistoryRow: historyRow(r), ClaimedUser: r.ClaimedUser, ClientAddr: r.ClientAddr,
		Format: r.Format, Size: r.Size, SHA256: hex.EncodeToString(r.SHA256), PagesKnown: r.PagesKnown,
		PagesReason: r.PagesReason, Sides: r.Sides, ColorMode: r.ColorMode, Media: r.Media, HasJobPIN: r.HasJobPIN,
		Impressions: r.Impressions, Sheets: r.Sheets, ReleasedAt: r.ReleasedAt, CompletedAt: r.CompletedAt,
		ExpiredAt: r.ExpiredAt, DeletedAt: r.DeletedAt, Method: r.Method, Printer: redactURI(r.Printer)}
	evs, err := c.log.Timeline(ctx, id)
	if err != nil && !errors.Is(err, audit.ErrNotFound) { // a record whose events were purged has none
		return web.JobDetail{}, err
	}
	if d.RecordProblem, err = c.log.CheckJob(ctx, id); err != nil && !errors.Is(err, audit.ErrNotFound) {
		return web.JobDetail{}, err
	}
	for _, ev := range evs {
		d.Events = append(d.Events, web.JobEvent{Seq: ev.Seq, At: ev.At, Type: ev.Type, Actor: ev.Actor,
			Device: ev.Device, Method: ev.Method, Printer: redactURI(ev.Printer), Outcome: ev.Outcome,
			Reason: ev.Reason, Details: ev.Details, Hash: hex.EncodeToString(ev.Hash)})
	}
	return d, nil
}

func (c consoleRecord) VerifyChain(ctx context.Context, from, to int64) (web.ChainCheck, error) {
	rep, err := c.log.Verify(ctx, from, to)
	if err != nil {
		return web.ChainCheck{}, err
	}
	check := web.ChainCheck{From: rep.From, To: rep.To, Checked: rep.Checked, FirstBad: rep.FirstBad,
		Reason: rep.Reason, LastHash: hex.EncodeToString(rep.LastHash), JobsBad: rep.JobsBad}
	if rep.FirstBad == 0 && len(rep.BadJobs) > 0 {
		check.Reason = fmt.Sprintf("job %d: %s", rep.BadJobs[0].JobID, rep.BadJobs[0].Reason)
	}
	return check, nil
}

func (c consoleRecord) Totals(ctx context.Context, q web.TotalsQuery) ([]web.Total, error) {
	by := map[web.GroupBy]audit.GroupBy{"": "", web.GroupByUser: audit.ByUser, web.GroupByDevice: audit.ByDevice,
		web.GroupByDay: audit.ByDay}
	group, ok := by[q.GroupBy]
	if !ok {
		return nil, fmt.Errorf("console: totals by %q", q.GroupBy)
	}
	ts, err := c.log.Totals(ctx, audit.TotalsQuery{GroupBy: group, From: q.From, To: q.To})
	if err != nil {
		return nil, err
	}
	out := make([]web.Total, len(ts))
	for i, t := range ts {
		out[i] = web.Total{Key: t.Key, Jobs: t.Jobs, PagesUnknown: t.PagesUnknown, Pages: t.Impressions,
			ColorPages: t.ColorImpressions, MonoPages: t.MonoImpressions}
	}
	return out, nil
}

// Export streams the job records q selects with audit.Export.
//
// audit.Filter has no document-name search, so an export with a name in
// q cannot be one audit.Export call. Rather than leave the name out (and
// export more than the page shows) or match names in Go (whose case
// folding differs from the database's), the job IDs are read page by page
// from audit.History with the very query the console pages through, and
// each job is then exported alone with the rest of the filter and its ID.
// The rows are exactly the page's, in audit.Export's order (oldest
// first); the cost is one query per row and 8 bytes of memory per
// matching job.
func (c consoleRecord) Export(ctx context.Context, w io.Writer, q web.HistoryQuery, format web.ExportFormat) (int64, error) {
	var f audit.Format
	switch format {
	case web.ExportCSV:
		f = audit.Format{Encoding: audit.CSV}
	case web.ExportCSVShiftJIS:
		f = audit.Format{Encoding: audit.CSV, ShiftJIS: true}
	case web.ExportJSONL:
		f = audit.Format{Encoding: audit.JSONL}
	default:
		return 0, fmt.Errorf("console: export format %q", format)
	}
	f.Jobs = true
	filter := audit.Filter{User: q.User, Queue: q.Queue, Device: q.Device, Outcome: q.Outcome, From: q.From, To: q.To}
	if q.Name == "" {
		return c.log.Export(ctx, w, filter, f)
	}
	ids, err := c.namedJobs(ctx, q)
	if err != nil {
		return 0, err
	}
	// The header (and byte order mark) alone: no job has ID -1.
	none := filter
	none.JobID = -1
	if _, err := c.log.Export(ctx, w, none, f); err != nil {
		return 0, err
	}
	f.NoBOM = true
	var n int64
	var buf bytes.Buffer
	for _, id := range slices.Backward(ids) {
		one := filter
		one.JobID = id
		buf.Reset()
		rows, err := c.log.Export(ctx, &buf, one, f)
		if err != nil {
			return n, err
		}
		row := buf.Bytes()
		if f.Encoding == audit.CSV {
			// Drop the header line; its names are plain ASCII, so its
			// end is the first CRLF in either encoding.
			_, row, _ = bytes.Cut(row, []byte("\r\n"))
		}
		if _, err := w.Write(row); err != nil {
			return n, fmt.Errorf("console: export: %w", err)
		}
		n += rows
	}
	return n, nil
}

// namedJobs returns the IDs of the jobs q selects, newest first, read with
// the history query itself.
func (c consoleRecord) namedJobs(ctx context.Context, q web.HistoryQuery) ([]int64, error) {
	aq := auditQuery(q)
	aq.Limit, aq.Cursor = audit.MaxPageSize, ""
	var ids []int64
	for {
		page, err := c.log.History(ctx, aq)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Jobs {
			ids = append(ids, r.JobID)
		}
		if page.Next == "" {
			return ids, nil
		}
		aq.Cursor = page.Next
	}
}

// redactURI masks a password in a printer address.
func redactURI(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}

// consoleDevices manages devices through release, which records every
// change in the audit trail.
type consoleDevices struct {
	svc *release.Service
	log *audit.Log
}

func (c consoleDevices) Devices(ctx context.Context) ([]web.Device, error) {
	devs, err := c.svc.Devices(ctx)
	if err != nil {
		return nil, err
	}
	throttled, err := c.svc.DeviceThrottles(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]web.Device, len(devs))
	byName := map[string]*web.Device{}
	for i, d := range devs {
		out[i] = web.Device{Name: d.Name, Printer: redactURI(d.Printer), Queues: d.QueueList(), Methods: d.MethodList(),
			SelfEnroll: d.SelfEnroll, AllowPlainCredentials: d.AllowPlainCredentials, Enabled: d.Enabled,
			CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
			ThrottledUntil: throttled[d.Name].Until, Refused: throttled[d.Name].Refused}
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
	_, err := c.svc.ClearDeviceThrottle(ctx, name, by)
	return notFound(err)
}

func (c consoleDevices) Queues() []string {
	var names []string
	for _, q := range c.svc.Queues() {
		names = append(names, q.Name)
	}
	return names
}

func (c consoleDevices) AddDevice(ctx context.Context, spec web.DeviceSpec, by string) (string, error) {
	_, token, err := c.svc.AddDevice(ctx, release.DeviceSpec{Name: spec.Name, Printer: spec.Printer,
		Queues: spec.Queues, Methods: spec.Methods, SelfEnroll: spec.SelfEnroll,
		AllowPlainCredentials: spec.AllowPlainCredentials}, by)
	return token, err
}

func (c consoleDevices) RotateToken(ctx context.Context, name, by string) (string, error) {
	token, err := c.svc.RotateToken(ctx, name, by)
	return token, notFound(err)
}

func (c consoleDevices) SetDeviceEnabled(ctx context.Context, name string, enabled bool, by string) error {
	return notFound(c.svc.SetDeviceEnabled(ctx, name, enabled, by))
}

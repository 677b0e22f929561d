package monitor

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/ipp"
)

// seenFor is how long a recorded job's mark is kept: printers keep
// completed jobs for hours or days, not months. A matched job's mark of
// printgate's side (matchedJob) is kept for good.
const seenFor = 90 * 24 * time.Hour

// errMatchedBefore means the printgate job a printer job was matched to
// had been matched already, by another instance in the meantime.
var errMatchedBefore = errors.New("monitor: printgate job matched before")

// collect reads p's job log and records each job not recorded before:
// one of printgate's own is matched, any other observed, within the
// printer's limits. clock relates the printer's times to printgate's.
func (m *Monitor) collect(ctx context.Context, p Printer, clock printerClock) (err error) {
	lctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	jobs, err := m.client.CompletedJobs(lctx, p.URI, m.opts.JobLogLimit)
	cancel()
	if err != nil {
		return err
	}
	seen, err := m.seenKeys(ctx, p.URI)
	if err != nil {
		return err
	}
	lp := m.newLogPoll(p, clock)
	defer func() { m.setPending(p.URI, lp.pendingAfter(err)) }()
	listed := make(map[string]bool, len(jobs))
	for _, j := range jobs {
		key := jobKey(j)
		listed[key] = true
		if seen[key] {
			continue
		}
		if err := lp.consider(ctx, j, key); err != nil {
			return err
		}
	}
	for key, pj := range lp.prev {
		if listed[key] || seen[key] {
			continue
		}
		// It waited and the printer no longer lists it: now or never.
		if err := lp.settle(ctx, pj, key); err != nil {
			return err
		}
	}
	return lp.finish(ctx)
}

// jobKey names a printer job for good: its job-uuid, or else its job-id
// with its creation time (job IDs start again when a printer restarts).
func jobKey(j ipp.CompletedJob) string {
	if j.UUID != "" {
		return j.UUID
	}
	created := strconv.Itoa(j.CreatedUp)
	if !j.Created.IsZero() {
		created = j.Created.UTC().Format(time.RFC3339)
	}
	return "id:" + strconv.Itoa(j.ID) + "@" + created
}

// seenKeys returns the keys of the jobs of uri already recorded.
func (m *Monitor) seenKeys(ctx context.Context, uri string) (map[string]bool, error) {
	var keys []string
	if err := m.opts.DB.WithContext(ctx).Model(&seenJob{}).Where("uri = ?", uri).Pluck("key", &keys).Error; err != nil {
		return nil, fmt.Errorf("monitor: recorded jobs of %s: %w", uri, err)
	}
	out := make(map[string]bool, len(keys))
	for _, k := range keys {
		out[k] = true
	}
	return out, nil
}

// record records j, with its mark, in one transaction: matched to
// printgate's job jobID, or observed when jobID is 0. It is recorded
// once, or not at all; errMatchedBefore says jobID was matched already.
func (m *Monitor) record(ctx context.Context, p Printer, j ipp.CompletedJob, key string, jobID int64) error {
	ev := m.event(ctx, p, j, jobID)
	now := m.now().UTC()
	err := m.opts.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&seenJob{URI: p.URI, Key: key, JobID: jobID, SeenAt: now})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error // another instance recorded it
		}
		if jobID != 0 {
			res := tx.Clauses(clause.OnConflict{DoNothing: true}).
				Create(&matchedJob{JobID: jobID, URI: p.URI, Key: key, MatchedAt: now})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				return errMatchedBefore
			}
		}
		_, err := m.opts.Audit.Append(ctx, tx, ev)
		return err
	})
	if err != nil {
		return fmt.Errorf("monitor: record job %d of %s: %w", j.ID, p.Name, err)
	}
	return nil
}

// event is the audit event that records j.
func (m *Monitor) event(ctx context.Context, p Printer, j ipp.CompletedJob, jobID int64) audit.Event {
	d := map[string]string{"source": SourcePrinterLog, "printer_job_id": strconv.Itoa(j.ID)}
	if j.UUID != "" {
		d["job_uuid"] = j.UUID
	}
	if j.Impressions >= 0 {
		d["pages"] = strconv.Itoa(j.Impressions)
	}
	if j.Sheets >= 0 {
		d["sheets"] = strconv.Itoa(j.Sheets)
	}
	if j.ColorImpressions >= 0 && j.MonoImpressions >= 0 {
		d[audit.DetailPrinterColorPages] = strconv.Itoa(j.ColorImpressions)
		d[audit.DetailPrinterMonoPages] = strconv.Itoa(j.MonoImpressions)
	}
	if !j.Completed.IsZero() {
		d["completed_at"] = j.Completed.UTC().Format(time.RFC3339)
	}
	if !j.Created.IsZero() {
		d["created_at"] = j.Created.UTC().Format(time.RFC3339)
	}
	ev := audit.Event{Actor: audit.ActorSystem, Device: p.Name, Printer: p.URI, Outcome: outcome(j.State), Details: d}
	if jobID != 0 {
		ev.Type, ev.JobID = EventDeviceJobMatched, jobID
		return ev
	}
	ev.Type, ev.Owner = EventDeviceJobObserved, j.User
	if m.opts.Owners != nil && j.User != "" {
		if user, known := m.opts.Owners(ctx, j.User); known {
			ev.Owner = user
		}
	}
	if ev.Owner == "" {
		ev.Owner = "unknown"
	}
	d["printer_user"] = j.User
	name := j.Name
	if m.opts.HideJobNames && name != "" {
		if keyed, err := m.opts.Audit.KeyedName(name); err == nil {
			name = keyed
		} else {
			name = ""
		}
	}
	d["job_name"] = name
	return ev
}

func outcome(s ipp.JobState) string {
	switch s {
	case ipp.JobCompleted:
		return "printed"
	case ipp.JobCanceled:
		return "canceled"
	case ipp.JobAborted:
		return "aborted"
	}
	return "unknown"
}

// forgetOld deletes marks of jobs no printer still lists, and of old
// limits, once a day; marks of matched printgate jobs stay.
func (m *Monitor) forgetOld(ctx context.Context) {
	m.mu.Lock()
	due := m.now().Sub(m.forgotAt) >= 24*time.Hour
	if due {
		m.forgotAt = m.now()
	}
	m.mu.Unlock()
	if !due {
		return
	}
	cut := m.now().Add(-seenFor).UTC()
	if err := m.opts.DB.WithContext(ctx).Where("seen_at < ?", cut).Delete(&seenJob{}).Error; err != nil {
		m.log.Warn("monitor: forget old jobs", "err", err)
	}
	if err := m.opts.DB.WithContext(ctx).Where("at < ?", cut).Delete(&alertMark{}).Error; err != nil {
		m.log.Warn("monitor: forget old limits", "err", err)
	}
}

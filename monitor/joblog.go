package monitor

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/ipp"
)

// seenFor is how long a recorded job's mark is kept: printers keep
// completed jobs for hours or days, not months.
const seenFor = 90 * 24 * time.Hour

// collect reads p's job log and records each job not recorded before:
// one of printgate's own is matched, any other observed.
func (m *Monitor) collect(ctx context.Context, p Printer) error {
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
	for _, j := range jobs {
		key := jobKey(j)
		if seen[key] {
			continue
		}
		if err := m.record(ctx, p, j, key); err != nil {
			return err
		}
	}
	return nil
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

// record matches j to one of printgate's jobs or records it as observed,
// with its mark, in one transaction: recorded once, or not at all.
func (m *Monitor) record(ctx context.Context, p Printer, j ipp.CompletedJob, key string) error {
	jobID, err := m.match(ctx, p.URI, j)
	if err != nil {
		return err
	}
	if jobID == 0 && m.wait(ctx, key) {
		return nil
	}
	ev := m.event(ctx, p, j, jobID)
	err = m.opts.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&seenJob{URI: p.URI, Key: key, JobID: jobID, SeenAt: m.now().UTC()})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error // another instance recorded it
		}
		_, err := m.opts.Audit.Append(ctx, tx, ev)
		return err
	})
	if err != nil {
		return fmt.Errorf("monitor: record job %d of %s: %w", j.ID, p.Name, err)
	}
	m.mu.Lock()
	delete(m.pending, key)
	m.mu.Unlock()
	return nil
}

// match returns printgate's job that is j, or 0. A job already matched
// once is not matched again (the printer's job IDs may start again).
func (m *Monitor) match(ctx context.Context, uri string, j ipp.CompletedJob) (int64, error) {
	if m.opts.Releases == nil {
		return 0, nil
	}
	id, found, err := m.opts.Releases.Forwarded(ctx, uri, j.ID)
	if err != nil || !found {
		return 0, err
	}
	var n int64
	if err := m.opts.DB.WithContext(ctx).Model(&seenJob{}).Where("job_id = ?", id).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("monitor: match: %w", err)
	}
	if n > 0 {
		return 0, nil
	}
	return id, nil
}

// wait reports whether an unmatched job should wait for the next poll:
// while a release is being sent its printer job ID is not yet recorded,
// so a job the printer has just completed may be printgate's own. It
// waits two poll intervals at most.
func (m *Monitor) wait(ctx context.Context, key string) bool {
	if m.opts.Releases == nil {
		return false
	}
	sending, err := m.opts.Releases.Sending(ctx)
	if err != nil || !sending {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	first, ok := m.pending[key]
	if !ok {
		m.pending[key] = m.now()
		return true
	}
	return m.now().Sub(first) < 2*m.opts.PollInterval
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

// forgetOld deletes marks of jobs no printer still lists, once a day.
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
}

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
	"github.com/printgate/printgate/audit/mynumber"
	"github.com/printgate/printgate/ipp"
)

// seenFor is how old a recorded job's mark grows before it is forgotten:
// printers keep completed jobs for hours or days, not months. But a
// printer seldom used keeps its last jobs for months, and a job forgotten
// while listed would be recorded again (as printed without printgate,
// its times too old to match): a listed job's mark is rewritten every
// seenRefresh, so only a job no longer listed is forgotten, seenFor less
// seenRefresh to seenFor after it was last listed. The mark of a matched
// send (matchedSend) is kept while printgate keeps its job.
const (
	seenFor     = 90 * 24 * time.Hour
	seenRefresh = 30 * 24 * time.Hour
)

// jobsTable is release's table of printgate's jobs, in the same
// database: the monitor forgets the sends of jobs no longer in it.
const jobsTable = "jobs"

// errMatchedBefore means the printgate send a printer job was matched to
// had been matched already, by another instance in the meantime.
var errMatchedBefore = errors.New("monitor: printgate send matched before")

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
	for i := range jobs {
		jobs[i].Name = jobLogName(jobs[i].Name)
	}
	seen, err := m.seenKeys(ctx, p.URI)
	if err != nil {
		return err
	}
	lp := m.newLogPoll(p, clock)
	defer func() { m.setPending(p.URI, lp.pendingAfter(err)) }()
	listed := make(map[string]bool, len(jobs))
	var stale []string
	for _, j := range jobs {
		key := jobKey(j)
		listed[key] = true
		if at, ok := seen[key]; ok {
			if at.Before(lp.now.Add(-seenRefresh)) {
				stale = append(stale, key)
			}
			continue
		}
		if err := lp.consider(ctx, j, key); err != nil {
			return err
		}
	}
	if err := m.refreshSeen(ctx, p.URI, stale); err != nil {
		return err
	}
	for key, pj := range lp.prev {
		if _, ok := seen[key]; listed[key] || ok {
			continue
		}
		// It waited and the printer no longer lists it: now or never.
		if err := lp.settle(ctx, pj, key); err != nil {
			return err
		}
	}
	return lp.finish(ctx)
}

// maxJobName is the most octets of a job name from a printer's log
// that is kept: a name(MAX) (RFC 8011 §5.1.3).
const maxJobName = 255

// jobLogName is a name a printer's log gives a job (its name, its user)
// as printgate keeps it: masked where it holds an individual number (a user named the job
// after it), as printgate's own jobs' names are, since the event
// reaches the trail, the job records, the exports and the SIEM; then cut
// to maxJobName. Masked first: a number straddling the cut would keep 11
// of its 12 digits, which no mask finds, and the twelfth is a check
// digit.
func jobLogName(name string) string {
	return ipp.Printable(mynumber.MaskName(name), maxJobName)
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

// seenKeys returns the keys of the jobs of uri already recorded, with
// when their marks were last written.
func (m *Monitor) seenKeys(ctx context.Context, uri string) (map[string]time.Time, error) {
	var marks []seenJob
	if err := m.opts.DB.WithContext(ctx).Select("key", "seen_at").Where("uri = ?", uri).Find(&marks).Error; err != nil {
		return nil, fmt.Errorf("monitor: recorded jobs of %s: %w", uri, err)
	}
	out := make(map[string]time.Time, len(marks))
	for _, s := range marks {
		out[s.Key] = s.SeenAt
	}
	return out, nil
}

// refreshSeen rewrites the marks of keys, jobs of uri recorded long ago
// that the printer still lists, so that forgetOld keeps them: forgotten,
// they would be recorded again, as jobs printed without printgate (their
// times too old to match). Each is rewritten once every seenRefresh at
// most, as few as the jobs recorded.
func (m *Monitor) refreshSeen(ctx context.Context, uri string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	err := m.opts.DB.WithContext(ctx).Model(&seenJob{}).Where("uri = ? AND key IN ?", uri, keys).
		Update("seen_at", m.now().UTC()).Error
	if err != nil {
		return fmt.Errorf("monitor: keep marks of %s: %w", uri, err)
	}
	return nil
}

// record records j, with its mark, in one transaction: matched to
// printgate's job mj.jobID, or observed when that is 0. It is recorded
// once, or not at all; errMatchedBefore says mj's send was matched
// already.
func (m *Monitor) record(ctx context.Context, p Printer, j ipp.CompletedJob, key string, mj ownJob) error {
	ev := m.event(ctx, p, j, mj)
	now := m.now().UTC()
	err := m.opts.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&seenJob{URI: p.URI, Key: key, JobID: mj.jobID, SeenAt: now})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error // another instance recorded it
		}
		if mj.jobID != 0 {
			res := tx.Clauses(clause.OnConflict{DoNothing: true}).
				Create(&matchedSend{JobID: mj.jobID, URI: p.URI, PrinterJobID: j.ID, Key: key, MatchedAt: now})
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

// countDetails are the details of an event from a printer's log that
// make the count of a job's record (audit/observed.go).
var countDetails = []string{"pages", "sheets", audit.DetailPrinterColorPages, audit.DetailPrinterMonoPages}

// DetailSentAgain is "true" on a device-job-matched event whose printer
// job was a failed attempt of a job sent again since. The job's record
// takes the count of its last print, so the attempt's count is under
// "attempt_pages", "attempt_sheets", "attempt_color_pages" and
// "attempt_mono_pages" instead, recorded but not the job's.
const DetailSentAgain = "sent_again"

// event is the audit event that records j, matched to mj or observed.
func (m *Monitor) event(ctx context.Context, p Printer, j ipp.CompletedJob, mj ownJob) audit.Event {
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
	if mj.jobID != 0 {
		ev.Type, ev.JobID = EventDeviceJobMatched, mj.jobID
		if mj.sentAgain {
			for _, k := range countDetails {
				if v, ok := d[k]; ok {
					d["attempt_"+k] = v
					delete(d, k)
				}
			}
			d[DetailSentAgain] = "true"
		}
		return ev
	}
	// The user is the sending computer's word, unchecked, and reaches the
	// same places as the name: kept masked (jobLogName), but looked up as
	// sent, so that a login that looks like an individual number still
	// finds its owner.
	claimed := jobLogName(j.User)
	ev.Type, ev.Owner = EventDeviceJobObserved, claimed
	if m.opts.Owners != nil && j.User != "" {
		if user, known := m.opts.Owners(ctx, j.User); known {
			ev.Owner = user
		}
	}
	if ev.Owner == "" {
		ev.Owner = "unknown"
	}
	d["printer_user"] = claimed
	// Masked as collect read it (jobLogName), before it is keyed.
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

// forgetOld deletes, once a day, the marks older than seenFor (collect
// rewrites those of jobs still listed), of old limits, and
// of sends of printgate jobs whose rows are gone (purged after they
// ended: printgate no longer knows their sends, so none can match).
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
	if m.opts.Releases == nil {
		return // no printgate jobs: nothing was matched
	}
	err := m.opts.DB.WithContext(ctx).
		Where("NOT EXISTS (SELECT 1 FROM " + jobsTable + " j WHERE j.id = monitor_matched_sends.job_id)").
		Delete(&matchedSend{}).Error
	if err != nil {
		m.log.Warn("monitor: forget sends of purged jobs", "err", err)
	}
}

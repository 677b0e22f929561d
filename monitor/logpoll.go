package monitor

import (
	"context"
	"errors"
	"time"

	"github.com/printgate/printgate/ipp"
)

// maxPendingPerPrinter bounds the jobs of one printer that wait for
// their match: a printer listing more new jobs than this in one poll is
// not one printgate is sending a job or two to, and the rest are recorded
// at once.
const maxPendingPerPrinter = 1000

// pendingJob is an unmatched job of a printer's log that waits for its
// match while a release is being sent: its printer job ID may not be
// recorded yet.
type pendingJob struct {
	job ipp.CompletedJob
	// first is when it was first seen, w when it was at the printer.
	first time.Time
	w     window
}

// logPoll is one reading of one printer's job log.
type logPoll struct {
	m     *Monitor
	p     Printer
	clock printerClock
	now   time.Time
	// prev are the jobs that waited after the last poll, waiting those
	// that wait after this one.
	prev, waiting map[string]pendingJob
	// sending is whether a job is on its way to the printer, asked once
	// and only when a job might wait.
	sending *bool
	quota   quota
}

func (m *Monitor) newLogPoll(p Printer, clock printerClock) *logPoll {
	m.mu.Lock()
	prev := m.pending[p.URI]
	m.mu.Unlock()
	return &logPoll{m: m, p: p, clock: clock, now: m.now(), prev: prev, waiting: map[string]pendingJob{},
		quota: quota{poll: m.opts.MaxObservedPerPoll, day: -1}}
}

// consider records j, listed and not recorded before, unless it waits.
func (lp *logPoll) consider(ctx context.Context, j ipp.CompletedJob, key string) error {
	before, waited := lp.prev[key]
	first := lp.now
	if waited {
		first = before.first
	}
	w := jobWindow(j, lp.clock, first, lp.m.seenLag())
	mj, err := lp.m.match(ctx, lp.p.URI, j, w)
	if err != nil {
		return err
	}
	if mj.jobID != 0 {
		err := lp.m.record(ctx, lp.p, j, key, mj)
		if !errors.Is(err, errMatchedBefore) {
			return err
		}
	} else if lp.wait(ctx, first) {
		lp.waiting[key] = pendingJob{job: j, first: first, w: w}
		return nil
	}
	return lp.observe(ctx, j, key, false)
}

// settle records a job that waited and is no longer listed: matched if
// its match is known by now, else observed, past this poll's limit too
// (there is no next poll for it; the jobs that wait are few).
func (lp *logPoll) settle(ctx context.Context, pj pendingJob, key string) error {
	mj, err := lp.m.match(ctx, lp.p.URI, pj.job, pj.w)
	if err != nil {
		return err
	}
	if mj.jobID != 0 {
		if err := lp.m.record(ctx, lp.p, pj.job, key, mj); !errors.Is(err, errMatchedBefore) {
			return err
		}
	}
	return lp.observe(ctx, pj.job, key, true)
}

// wait reports whether an unmatched job first seen at first should wait
// for the next poll: while a release is being sent to the printer, or
// printed there, its printer job ID may not be recorded yet, so a job the
// printer has just completed may be printgate's own. It waits two poll
// intervals at most.
func (lp *logPoll) wait(ctx context.Context, first time.Time) bool {
	if lp.m.opts.Releases == nil || lp.now.Sub(first) >= 2*lp.m.opts.PollInterval ||
		len(lp.waiting) >= maxPendingPerPrinter {
		return false
	}
	if lp.sending == nil {
		sending, err := lp.m.opts.Releases.Sending(ctx, lp.p.URI)
		sending = sending && err == nil
		lp.sending = &sending
	}
	return *lp.sending
}

// observe records j as printed without printgate, within the printer's
// limits: past this poll's (unless now is its last chance) it waits for
// the next, past the day's it is not recorded.
func (lp *logPoll) observe(ctx context.Context, j ipp.CompletedJob, key string, now bool) error {
	ok, err := lp.take(ctx, now)
	if err != nil || !ok {
		return err
	}
	return lp.m.record(ctx, lp.p, j, key, ownJob{})
}

// pendingAfter returns the jobs that wait after this poll: those that
// wait now, and if the poll failed midway, those that waited before and
// were not looked at again.
func (lp *logPoll) pendingAfter(err error) map[string]pendingJob {
	if err == nil {
		return lp.waiting
	}
	for key, pj := range lp.prev {
		if _, ok := lp.waiting[key]; !ok && len(lp.waiting) < maxPendingPerPrinter {
			lp.waiting[key] = pj
		}
	}
	return lp.waiting
}

// setPending keeps the jobs of uri that wait for the next poll.
func (m *Monitor) setPending(uri string, jobs map[string]pendingJob) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(jobs) == 0 {
		delete(m.pending, uri)
		return
	}
	m.pending[uri] = jobs
}

// dropPending forgets the waiting jobs of printers no longer monitored
// (byURI are those that are): nothing will poll them again.
func (m *Monitor) dropPending(byURI map[string][]Printer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for uri := range m.pending {
		if _, ok := byURI[uri]; !ok {
			delete(m.pending, uri)
		}
	}
}

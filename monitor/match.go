package monitor

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/printgate/printgate/ipp"
)

// A printer job is one of printgate's when printgate recorded that
// printer job ID for a send of a job to that printer, and that send was
// on its way there or at it while the printer job was: printer job IDs
// start again after a restart, so an ID alone may name a job printgate
// sent long ago. And each send of printgate's jobs is matched once
// (matchedSend, kept while printgate keeps the job): a second printer job
// claiming it is recorded as what it is, a job printed without printgate. A job held again after a failed
// print and released again was sent twice, to two printer job IDs: the
// failed attempt (listed aborted or canceled) and the reprint are both
// printgate's, each matched to its send; the attempt's count is not the
// job's, whose record takes its last print's.
//
// The printer's times are put on printgate's clock from what the printer
// said at the same poll: printer-up-time against time-at-creation and
// time-at-completed (seconds of the printer's own counter, whatever its
// calendar clock says), else printer-current-time against the
// date-times. A printer's calendar clock alone is not used: many are
// hours off, or in another time zone, and would make either every job
// match or none.
const (
	// matchSlack widens the printer job's time on printgate's clock:
	// the printer counts whole seconds, the poll's requests are some
	// seconds apart, and printgate notes a job's moves around the
	// printer's (a job is printing once the printer has all of it).
	matchSlack = 2 * time.Minute
	// upTimeAhead is how far past the up-time the printer said a job's
	// time may be: it completed between the two requests of a poll.
	upTimeAhead = 60
)

// printerClock relates a printer's clock to printgate's: at printgate's
// time at, the printer said its up-time was upTime seconds (-1 when it did
// not say) and its calendar time current (zero when it did not).
type printerClock struct {
	at      time.Time
	upTime  int
	current time.Time
}

// onOurClock returns when a printer time happened on printgate's clock:
// up, seconds of the printer's up-time, or else date, its calendar time;
// ok is false when the printer gave nothing that relates them.
func (c printerClock) onOurClock(up int, date time.Time) (time.Time, bool) {
	if c.at.IsZero() {
		return time.Time{}, false
	}
	if c.upTime >= 0 && up >= 0 && up <= c.upTime+upTimeAhead {
		if t := c.at.Add(-time.Duration(c.upTime-up) * time.Second); c.believable(t) {
			return t, true
		}
	}
	if !c.current.IsZero() && !date.IsZero() {
		if t := date.Add(c.at.Sub(c.current)); c.believable(t) {
			return t, true
		}
	}
	return time.Time{}, false
}

// believable reports whether t, a printer's time on printgate's clock, is
// one a printer's log may hold: printers that mix up-time and calendar
// seconds put their jobs decades away.
func (c printerClock) believable(t time.Time) bool {
	return !t.Before(c.at.Add(-seenFor)) && !t.After(c.at.Add(upTimeAhead*time.Second))
}

// window is when a printer job was at the printer, on printgate's clock.
type window struct{ from, to time.Time }

// jobWindow returns when j was at the printer, widened by matchSlack,
// from the printer's times; seen is when the monitor first saw it and lag
// how late after its completion that may have been. A printer that gives
// no time to go by is taken to have completed the job within lag before
// seen: the conservative choice, since a printgate job that in fact
// printed earlier is then recorded as observed (a job too many in the
// trail, and visible) where any wider window would let a job printed
// without printgate pass as an old one of printgate's (a job missing).
func jobWindow(j ipp.CompletedJob, c printerClock, seen time.Time, lag time.Duration) window {
	created, hasCreated := c.onOurClock(j.CreatedUp, j.Created)
	completed, hasCompleted := c.onOurClock(j.CompletedUp, j.Completed)
	var w window
	switch {
	case hasCreated && hasCompleted:
		w = window{created, completed}
		if completed.Before(created) {
			w = window{completed, created}
		}
	case hasCreated:
		w = window{created, seen}
		if seen.Before(created) {
			w.to = created
		}
	case hasCompleted:
		w = window{completed, completed}
	default:
		w = window{seen.Add(-lag), seen}
	}
	return window{w.from.Add(-matchSlack), w.to.Add(matchSlack)}
}

// seenLag is how long after a job completes the monitor may first see
// it: a poll interval, or a printer's longest backoff, and one more.
func (m *Monitor) seenLag() time.Duration { return maxBackoff + 2*m.opts.PollInterval }

// ownJob is the printgate job a printer job is: jobID 0 for none.
// sentAgain says the job was sent again after it: the printer job was a
// failed attempt, not the job's last print.
type ownJob struct {
	jobID     int64
	sentAgain bool
}

// match returns printgate's job that j is: one with a send to uri that
// got j's printer job ID there within w, that send not matched before.
func (m *Monitor) match(ctx context.Context, uri string, j ipp.CompletedJob, w window) (ownJob, error) {
	if m.opts.Releases == nil {
		return ownJob{}, nil
	}
	ids, err := m.opts.Releases.Forwarded(ctx, uri, j.ID, w.from, w.to)
	if err != nil || len(ids) == 0 {
		return ownJob{}, err
	}
	var done []int64
	if err := m.opts.DB.WithContext(ctx).Model(&matchedSend{}).
		Where("uri = ? AND printer_job_id = ? AND job_id IN ?", uri, j.ID, ids).
		Pluck("job_id", &done).Error; err != nil {
		return ownJob{}, fmt.Errorf("monitor: match: %w", err)
	}
	for _, id := range ids {
		if slices.Contains(done, id) {
			continue
		}
		again, err := m.opts.Releases.SentAgain(ctx, id, uri, j.ID)
		if err != nil {
			return ownJob{}, fmt.Errorf("monitor: match: %w", err)
		}
		return ownJob{jobID: id, sentAgain: again}, nil
	}
	return ownJob{}, nil
}

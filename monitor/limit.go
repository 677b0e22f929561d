package monitor

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/printgate/printgate/audit"
)

// Kinds of alertMark: what was said of a printer once a day.
const (
	alertObservedLimit = "observed-limit"
	alertCounterBack   = "counter-went-back"
)

// quota is what is left of a printer's limits on observed jobs in one
// poll: poll for this poll, day for the day (-1 until read).
type quota struct {
	poll, day int
	// deferred counts the jobs left for the next poll, dropped those
	// left unrecorded for the day's limit.
	deferred, dropped int
}

// take reports whether one more observed job may be recorded; past the
// poll's limit too when force.
func (lp *logPoll) take(ctx context.Context, force bool) (bool, error) {
	q := &lp.quota
	if q.day < 0 {
		n, err := lp.m.observedToday(ctx, lp.p.URI)
		if err != nil {
			return false, err
		}
		q.day = max(lp.m.opts.MaxObservedPerDay-n, 0)
	}
	switch {
	case q.day == 0:
		q.dropped++
		return false, nil
	case q.poll == 0 && !force:
		q.deferred++
		return false, nil
	}
	q.poll = max(q.poll-1, 0)
	q.day--
	return true, nil
}

// observedToday counts the jobs of uri observed since the day began.
func (m *Monitor) observedToday(ctx context.Context, uri string) (int, error) {
	var n int64
	err := m.opts.DB.WithContext(ctx).Model(&seenJob{}).
		Where("uri = ? AND job_id = 0 AND seen_at >= ?", uri, m.dayStart(m.now()).UTC()).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("monitor: jobs observed today: %w", err)
	}
	return int(n), nil
}

// dayStart is when the day of t began where the record is kept.
func (m *Monitor) dayStart(t time.Time) time.Time {
	y, mo, d := t.In(m.loc).Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, m.loc)
}

// finish says what the printer's limits left out: jobs left for the
// next poll in the log, the day's limit once a day in the audit trail.
func (lp *logPoll) finish(ctx context.Context) error {
	q := lp.quota
	if q.deferred > 0 {
		lp.m.log.Info("monitor: more jobs printed without printgate than are recorded in one poll; the rest next poll",
			"printer", lp.p.Name, "left", q.deferred, "limit", lp.m.opts.MaxObservedPerPoll)
	}
	if q.dropped == 0 {
		return nil
	}
	lp.m.log.Warn("monitor: the printer's daily limit of jobs printed without printgate is reached; not recorded",
		"printer", lp.p.Name, "left", q.dropped, "limit", lp.m.opts.MaxObservedPerDay)
	ev := audit.Event{Type: EventObservedLimited, Actor: audit.ActorSystem, Device: lp.p.Name, Printer: lp.p.URI,
		Outcome: "limited", Reason: "the printer listed more jobs printed without printgate than the daily limit",
		Details: map[string]string{"source": SourcePrinterLog, "limit": strconv.Itoa(lp.m.opts.MaxObservedPerDay),
			"day": lp.m.day(lp.now), "unrecorded": strconv.Itoa(q.dropped)}}
	return lp.m.alertOnce(ctx, lp.p, alertObservedLimit, ev)
}

// alertMark says an event of kind was recorded for a printer on a day:
// a printer that keeps misbehaving is one event a day, not one a poll.
type alertMark struct {
	URI  string `gorm:"primaryKey;column:uri"`
	Kind string `gorm:"primaryKey"`
	Day  string `gorm:"primaryKey"`
	At   time.Time
}

func (alertMark) TableName() string { return "monitor_alerts" }

// alertOnce appends ev unless an event of kind was recorded for p today,
// with its mark in the same transaction.
func (m *Monitor) alertOnce(ctx context.Context, p Printer, kind string, ev audit.Event) error {
	now := m.now()
	err := m.opts.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&alertMark{URI: p.URI, Kind: kind, Day: m.day(now), At: now.UTC()})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		_, err := m.opts.Audit.Append(ctx, tx, ev)
		return err
	})
	if err != nil {
		return fmt.Errorf("monitor: %s of %s: %w", kind, p.Name, err)
	}
	return nil
}

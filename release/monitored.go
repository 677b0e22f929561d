package release

import (
	"context"
	"strings"
	"time"
)

// Monitored answers the printer monitor (package monitor) about
// printgate's own jobs: which printer job was one of them, and whether
// one is on its way to a printer. It reads the jobs and their sends
// (job_sends) only.
type Monitored struct{ s *Service }

// Monitored returns the monitor's view of the service.
func (s *Service) Monitored() *Monitored { return &Monitored{s} }

// maxForwarded bounds the jobs Forwarded returns: a printer's job IDs
// start again seldom, and the monitor takes the first not matched yet.
const maxForwarded = 8

// Forwarded returns the jobs printgate sent to printer that got
// printerJobID there on a send that was on its way there or at it at some
// time between from and to, the most recent send first: begun no later
// than to, and ended no earlier than from (a send whose end printgate did
// not see ends with its job: while the job is being sent or printed, or
// when it last changed). Every send counts, not only a job's latest: a
// print that failed and was released again left a printer job of its own
// (sends.go). The printer's job IDs start again after a restart, so the
// ID alone may name a job sent long ago.
func (m *Monitored) Forwarded(ctx context.Context, printer string, printerJobID int, from, to time.Time) ([]int64, error) {
	var ids []int64
	err := m.s.db.WithContext(ctx).Table("job_sends AS s").Joins("JOIN jobs j ON j.id = s.job_id").
		Where("s.printer = ? AND s.printer_job_id = ? AND s.sent_at <= ?", printer, printerJobID, to.UTC()).
		Where("(s.ended_at >= ? OR (s.ended_at IS NULL AND (j.state IN ? OR COALESCE(j.completed_at, j.updated_at) >= ?)))",
			from.UTC(), []State{StateReleasing, StatePrinting}, from.UTC()).
		Order("s.sent_at DESC").Limit(maxForwarded).Pluck("s.job_id", &ids).Error
	if err != nil {
		return nil, dbErr("find forwarded jobs", err)
	}
	return ids, nil
}

// SentAgain reports whether job jobID was sent to a printer again after
// its send to printer that got printerJobID: that printer job was then
// not its last print (one that failed, before the reprint).
func (m *Monitored) SentAgain(ctx context.Context, jobID int64, printer string, printerJobID int) (bool, error) {
	var n int64
	err := m.s.db.WithContext(ctx).Table("job_sends AS s").
		Joins("JOIN job_sends l ON l.job_id = s.job_id AND l.sent_at > s.sent_at").
		Where("s.job_id = ? AND s.printer = ? AND s.printer_job_id = ?", jobID, printer, printerJobID).
		Limit(1).Count(&n).Error
	return n > 0, dbErr("later sends", err)
}

// Sending reports whether a job is being sent to printer or printed
// there: until it ends, its printer job ID may not be recorded (a job
// released again still carries its earlier one).
func (m *Monitored) Sending(ctx context.Context, printer string) (bool, error) {
	var n int64
	err := m.s.db.WithContext(ctx).Model(&Job{}).
		Where("printer = ? AND state IN ?", printer, []State{StateReleasing, StatePrinting}).Limit(1).Count(&n).Error
	return n > 0, dbErr("jobs being sent", err)
}

// DevicePrinters returns each enabled device's IPP printer (device name →
// URI); AppSocket printers keep no job log and are left out.
func (m *Monitored) DevicePrinters(ctx context.Context) (map[string]string, error) {
	var devs []Device
	if err := m.s.db.WithContext(ctx).Where("enabled").Find(&devs).Error; err != nil {
		return nil, dbErr("list devices", err)
	}
	out := make(map[string]string, len(devs))
	for _, d := range devs {
		if scheme, _, _ := strings.Cut(d.Printer, "://"); scheme == "ipp" || scheme == "ipps" {
			out[d.Name] = d.Printer
		}
	}
	return out, nil
}

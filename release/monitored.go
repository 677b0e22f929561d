package release

import (
	"context"
	"strings"
	"time"
)

// Monitored answers the printer monitor (package monitor) about
// printgate's own jobs: which printer job was one of them, and whether
// one is on its way to a printer. It reads the jobs table only.
type Monitored struct{ s *Service }

// Monitored returns the monitor's view of the service.
func (s *Service) Monitored() *Monitored { return &Monitored{s} }

// maxForwarded bounds the jobs Forwarded returns: a printer's job IDs
// start again seldom, and the monitor takes the first not matched yet.
const maxForwarded = 8

// Forwarded returns the jobs printgate sent to printer that got
// printerJobID there and were on their way there or at it at some time
// between from and to, the most recent first: sent (or, for one held
// since, submitted) no later than to, and still being sent or printed,
// or left that state no earlier than from. The printer's job IDs start
// again after a restart, so the ID alone may name a job sent long ago.
func (m *Monitored) Forwarded(ctx context.Context, printer string, printerJobID int, from, to time.Time) ([]int64, error) {
	var ids []int64
	err := m.s.db.WithContext(ctx).Model(&Job{}).
		Where("printer = ? AND printer_job_id = ? AND COALESCE(processed_at, created_at) <= ?", printer, printerJobID, to.UTC()).
		Where("(state IN ? OR COALESCE(completed_at, updated_at) >= ?)", []State{StateReleasing, StatePrinting}, from.UTC()).
		Order("id DESC").Limit(maxForwarded).Pluck("id", &ids).Error
	if err != nil {
		return nil, dbErr("find forwarded jobs", err)
	}
	return ids, nil
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

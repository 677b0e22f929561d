package release

import (
	"context"
	"strings"
)

// Monitored answers the printer monitor (package monitor) about
// printgate's own jobs: which printer job was one of them, and whether
// one is on its way to a printer. It reads the jobs table only.
type Monitored struct{ s *Service }

// Monitored returns the monitor's view of the service.
func (s *Service) Monitored() *Monitored { return &Monitored{s} }

// Forwarded returns the job printgate sent to printer that got
// printerJobID there, the most recent first.
func (m *Monitored) Forwarded(ctx context.Context, printer string, printerJobID int) (int64, bool, error) {
	var ids []int64
	err := m.s.db.WithContext(ctx).Model(&Job{}).Where("printer = ? AND printer_job_id = ?", printer, printerJobID).
		Order("id DESC").Limit(1).Pluck("id", &ids).Error
	if err != nil {
		return 0, false, dbErr("find forwarded job", err)
	}
	if len(ids) == 0 {
		return 0, false, nil
	}
	return ids[0], true, nil
}

// Sending reports whether a job is being sent to a printer: until it
// becomes printing, its printer job ID may not be recorded (a job
// released again still carries its earlier one).
func (m *Monitored) Sending(ctx context.Context) (bool, error) {
	var n int64
	err := m.s.db.WithContext(ctx).Model(&Job{}).
		Where("state = ?", StateReleasing).Limit(1).Count(&n).Error
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

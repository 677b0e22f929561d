package release

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/release/printerinfo"
)

// ErrPrinterUnavailable: the device's printer cannot print now (stopped,
// unreachable, refusing jobs, or reporting a condition that stops
// printing); nothing was released. A *PrinterUnavailable says more.
var ErrPrinterUnavailable = errors.New("release: printer unavailable")

// PrinterUnavailable is the error of a release refused because its
// printer cannot print now. It wraps ErrPrinterUnavailable.
type PrinterUnavailable struct {
	Printer string
	// Reachable says the printer answered at all.
	Reachable bool
	// State is its printer-state ("stopped", "idle", "processing"), or
	// "unknown".
	State string
	// Reasons are its printer-state-reasons as it sent them.
	Reasons []string
	// Why is the keyword that decided: "printer-unreachable",
	// "printer-stopped", "printer-not-accepting-jobs", or the reason
	// that stops printing ("media-empty-error").
	Why string
}

func (e *PrinterUnavailable) Error() string {
	return fmt.Sprintf("release: printer %s cannot print now (%s): %s", e.Printer, e.Why, ErrPrinterUnavailable)
}

// Unwrap returns ErrPrinterUnavailable.
func (e *PrinterUnavailable) Unwrap() error { return ErrPrinterUnavailable }

// checkPrinter asks the printer (or the cache, when it was asked a moment
// ago) whether it can print, and returns a *PrinterUnavailable if not.
func (s *Service) checkPrinter(ctx context.Context, printer string) (printerinfo.Info, error) {
	info := s.printers.Check(ctx, printer)
	why := info.Unavailable()
	if why == "" {
		return info, nil
	}
	return info, &PrinterUnavailable{Printer: printer, Reachable: info.Reachable, State: info.State.String(),
		Reasons: slices.Clone(info.Reasons), Why: why}
}

// refusedForPrinter records, for each held job a release named, that the
// release was refused because the printer cannot print; the jobs stay as
// they are.
func (s *Service) refusedForPrinter(ctx context.Context, jobs []Job, by Actor, pu *PrinterUnavailable) error {
	details := map[string]string{"printer_state": pu.State, "why": pu.Why}
	if len(pu.Reasons) > 0 {
		details["printer_state_reasons"] = strings.Join(pu.Reasons, ",")
	}
	var events []audit.Event
	for _, j := range jobs {
		if j.State != StateHeld {
			continue
		}
		events = append(events, audit.Event{Type: audit.EventReleaseAttempt, JobID: j.ID, Owner: j.Owner,
			Actor: by.name(), Queue: j.Queue, Device: by.Device, Method: by.Method, Printer: by.Printer,
			Outcome: "refused", Reason: "printer-unavailable", Details: details})
	}
	if len(events) == 0 {
		return nil
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, err := s.audit.AppendBatch(ctx, tx, events)
		return err
	})
	return dbErr("record release refused for the printer", err)
}

// printerURIs lists the printers of the enabled devices and of the
// direct queues, for the printer cache's refresh.
func (s *Service) printerURIs(ctx context.Context) ([]string, error) {
	var uris []string
	err := s.db.WithContext(ctx).Model(&Device{}).Where("enabled = ?", true).Distinct().Pluck("printer", &uris).Error
	if err != nil {
		return nil, dbErr("list devices' printers", err)
	}
	for _, q := range s.queues {
		if q.Mode == Direct && q.Printer != "" && !slices.Contains(uris, q.Printer) {
			uris = append(uris, q.Printer)
		}
	}
	return uris, nil
}

// unhonourable returns the reason keyword ("sides-not-supported") when
// the printer cannot print j as it asks and the policy refuses the
// change, after recording the refused release; "" when j may go.
func (s *Service) unhonourable(ctx context.Context, j *Job, printer printerinfo.Info, by Actor) (string, error) {
	ranges := j.PageRanges
	if s.selectsPages(j.Format, printer.Caps) {
		ranges = ""
	}
	_, _, err := printerinfo.Fit(printerinfo.JobOptions{Copies: j.Copies, Sides: j.Sides, ColorMode: j.ColorMode,
		Media: j.Media, PageRanges: ranges}, printer.Caps, s.unsupported)
	var un *printerinfo.Unsupported
	if !errors.As(err, &un) {
		return "", nil
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, err := s.audit.Append(ctx, tx, audit.Event{Type: audit.EventReleaseAttempt, JobID: j.ID, Owner: j.Owner,
			Actor: by.name(), Queue: j.Queue, Device: by.Device, Method: by.Method, Printer: by.Printer,
			Outcome: "refused", Reason: un.Reason(), Details: map[string]string{un.Attr: un.Value}})
		return err
	})
	return un.Reason(), dbErr("record release refused for an option", err)
}

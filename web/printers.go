package web

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/monitor"
)

// Printers is what the console shows of the printer monitor: each
// printer's state from its last poll, and what the printers' own logs and
// counters recorded. monitor.View implements it.
type Printers interface {
	// Printers lists the monitored printers.
	Printers(ctx context.Context) ([]monitor.Printer, error)
	// Recent returns the latest events of a type, newest first.
	Recent(ctx context.Context, typ string, limit int) ([]audit.Event, error)
}

var _ Printers = (*monitor.View)(nil)

// recentRows is how many observed jobs and discrepancies a page lists.
const recentRows = 50

// printersData is the printers page's data.
type printersData struct {
	// State is "ok", "unavailable" (no monitor wired) or "error".
	State    string
	Printers []monitor.Printer
	// Observed are jobs printed without printgate, Discrepancies the
	// days a counter moved by more pages than were printed.
	Observed, Discrepancies []audit.Event
}

// printersPage shows the printers' state and what was printed without
// printgate.
func (s *server) printersPage(c *gin.Context) {
	d := s.printers(c.Request.Context(), recentRows)
	s.render(c, http.StatusOK, "printers", view{Title: "printers.title", Data: d})
}

// printers loads the monitor's view, at most limit events of each kind.
func (s *server) printers(ctx context.Context, limit int) printersData {
	d := printersData{State: "unavailable"}
	p := s.opts.Printers
	if p == nil {
		return d
	}
	d.State = "ok"
	var err error
	if d.Printers, err = p.Printers(ctx); err == nil {
		if d.Observed, err = p.Recent(ctx, monitor.EventDeviceJobObserved, limit); err == nil {
			d.Discrepancies, err = p.Recent(ctx, monitor.EventCounterDiscrepancy, limit)
		}
	}
	if err != nil {
		s.log.Error("web: printers", "err", err)
		d.State = "error"
	}
	return d
}

// exportObserved downloads the jobs printed without printgate (the
// device-job-observed events, source "printer log") as CSV or JSON Lines;
// the export is recorded like a history export.
func (s *server) exportObserved(c *gin.Context) {
	if !s.mayExport(c) {
		return
	}
	format := ExportFormat(c.DefaultQuery("format", string(ExportCSV)))
	ctype, ext, enc, ok := exportType(format)
	if !ok {
		s.renderError(c, http.StatusBadRequest, "history.bad_format")
		return
	}
	enc.Jobs = false // events: an observed job has no job record
	if !s.recordDetails(c, ActionExport, "", map[string]string{"type": monitor.EventDeviceJobObserved, "format": string(format)}) {
		return
	}
	s.streamExport(c, "printgate-printed-without-printgate-", ctype, ext, audit.Filter{Type: monitor.EventDeviceJobObserved}, enc)
}

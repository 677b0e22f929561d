package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/monitor"
)

// printers is a Printers standing in for the monitor.
type printers struct {
	list   []monitor.Printer
	events map[string][]audit.Event
}

func (p *printers) Printers(context.Context) ([]monitor.Printer, error) { return p.list, nil }

func (p *printers) Recent(_ context.Context, typ string, limit int) ([]audit.Event, error) {
	evs := p.events[typ]
	return evs[:min(limit, len(evs))], nil
}

// TestPrintersPage: auditors see each printer's state, a stopped or
// silent printer flagged, the jobs printed without printgate with the
// user the printer saw and the source "printer log", and counter
// discrepancies, on the printers page and the dashboard; an observed
// job export selects the device-job-observed events; users are refused.
func TestPrintersPage(t *testing.T) {
	at := time.Date(2026, 4, 1, 1, 0, 0, 0, time.UTC)
	p := &printers{
		list: []monitor.Printer{
			{Name: "mfp1", URI: "ipp://10.0.0.5/ipp/print", Source: monitor.SourceDevice, State: "idle", LastPoll: at, Supplies: "Black 80%"},
			{Name: "mfp2", URI: "ipp://10.0.0.6/ipp/print", Source: monitor.SourceMonitor, State: "stopped", Reasons: "media-jam-error", LastPoll: at},
			{Name: "mfp3", URI: "ipp://10.0.0.7/ipp/print", Source: monitor.SourceMonitor, State: monitor.StateUnreachable, LastError: "connection refused"},
		},
		events: map[string][]audit.Event{
			monitor.EventDeviceJobObserved: {{Type: monitor.EventDeviceJobObserved, At: at, Owner: "mallory", Device: "mfp1",
				Details: map[string]string{"pages": "2", "job_name": "salaries.pdf", "source": monitor.SourcePrinterLog}}},
			monitor.EventCounterDiscrepancy: {{Type: monitor.EventCounterDiscrepancy, At: at, Device: "mfp2",
				Details: map[string]string{"day": "2026-04-01", "counter_delta": "60", "released_pages": "5", "observed_pages": "2"}}},
		},
	}
	eachDB(t, func(t *testing.T, db *database.DB) {
		rec := &record{}
		e := newEnv(t, db, func(o *Options) { o.Printers = p; o.Record = rec })
		auditor := e.signIn(t, auditorName)
		w := e.do(t, request{method: http.MethodGet, path: "/admin/printers?lang=en", cookie: auditor})
		body := w.Body.String()
		if w.Code != http.StatusOK {
			t.Fatalf("printers page: %d %s", w.Code, body)
		}
		for _, want := range []string{
			`data-printer="mfp2" data-state="stopped" class="flagged"`,
			`data-printer="mfp3" data-state="unreachable" class="flagged"`,
			`<strong class="warn printer-stopped">not answering</strong>`,
			`title="connection refused"`, "paper jam", "Black 80%",
			"<td>mallory</td>", "salaries.pdf", "<td>printer log</td>", "Printed without printgate",
			"/admin/printers/observed/export?format=csv",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("printers page lacks %q", want)
			}
		}
		if strings.Contains(body, `data-printer="mfp1" data-state="idle" class="flagged"`) {
			t.Error("an idle printer is flagged")
		}
		w = e.do(t, request{method: http.MethodGet, path: "/admin?lang=en", cookie: auditor})
		if !strings.Contains(w.Body.String(), `id="dashboard-discrepancies"`) || !strings.Contains(w.Body.String(), "2026-04-01") {
			t.Errorf("dashboard does not show the discrepancy:\n%s", w.Body)
		}
		w = e.do(t, request{method: http.MethodGet, path: "/admin/printers/observed/export?format=jsonl", cookie: auditor})
		if w.Code != http.StatusOK || len(rec.exports) != 1 || rec.exports[0].Type != monitor.EventDeviceJobObserved {
			t.Errorf("export: %d, filters %+v", w.Code, rec.exports)
		}
		w = e.do(t, request{method: http.MethodGet, path: "/admin/history?lang=en", cookie: auditor})
		if !strings.Contains(w.Body.String(), `href="/admin/printers#observed" id="f-without-printgate">Printed without printgate<`) {
			t.Error("the history page does not lead to the jobs printed without printgate")
		}
		user := e.signIn(t, userName)
		if w := e.do(t, request{method: http.MethodGet, path: "/admin/printers", cookie: user}); w.Code != http.StatusForbidden {
			t.Errorf("a user gets the printers page: %d", w.Code)
		}
	})
}

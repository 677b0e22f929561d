package monitor

import (
	"context"
	"fmt"
	"time"

	"github.com/printgate/printgate/audit"
)

// recentSpan is how far back Recent looks.
const recentSpan = 31 * 24 * time.Hour

// View is what the console shows of the monitor: the printers and what
// their logs and counters recorded.
type View struct {
	registry *Registry
	audit    *audit.Log
	now      func() time.Time
}

// View returns the console's view of the monitor.
func (m *Monitor) View() *View { return &View{registry: m.registry, audit: m.opts.Audit, now: m.now} }

// Printers lists the monitored printers with their last poll.
func (v *View) Printers(ctx context.Context) ([]Printer, error) { return v.registry.List(ctx) }

// Recent returns the latest events of type typ (EventDeviceJobObserved,
// EventCounterDiscrepancy) of the last month, newest first, at most limit.
func (v *View) Recent(ctx context.Context, typ string, limit int) ([]audit.Event, error) {
	ring := make([]audit.Event, 0, limit)
	next := 0
	for ev, err := range v.audit.Events(ctx, audit.Filter{Type: typ, From: v.now().Add(-recentSpan)}) {
		if err != nil {
			return nil, fmt.Errorf("monitor: recent %s: %w", typ, err)
		}
		if len(ring) < limit {
			ring = append(ring, ev)
			continue
		}
		ring[next] = ev
		next = (next + 1) % limit
	}
	out := make([]audit.Event, 0, len(ring))
	for i := len(ring) - 1; i >= 0; i-- {
		out = append(out, ring[(next+i)%len(ring)])
	}
	return out, nil
}

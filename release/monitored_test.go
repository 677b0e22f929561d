package release

import (
	"slices"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

// TestMonitoredForwarded: a printer job ID names printgate's job only
// while that job was at the printer (sent before the printer job's time,
// and printing or ended after it); a printer's job IDs start again, so
// an older job with the same ID is not it. Sending is per printer.
func TestMonitoredForwarded(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
		at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
		const p, q = "ipp://10.0.0.5/ipp/print", "ipp://10.0.0.6/ipp/print"
		for _, j := range []Job{
			{ID: 1, State: StateCompleted, Printer: p, PrinterJobID: 5, CreatedAt: now.Add(-4 * time.Hour),
				ProcessedAt: at(-3 * time.Hour), CompletedAt: at(-3*time.Hour + time.Minute), UpdatedAt: now.Add(-3*time.Hour + time.Minute)},
			{ID: 2, State: StateCompleted, Printer: p, PrinterJobID: 5, CreatedAt: now.Add(-time.Hour),
				ProcessedAt: at(-time.Minute), CompletedAt: at(-30 * time.Second), UpdatedAt: now.Add(-30 * time.Second)},
			{ID: 3, State: StatePrinting, Printer: p, PrinterJobID: 5, CreatedAt: now.Add(-time.Hour),
				ProcessedAt: at(-10 * time.Minute), UpdatedAt: now.Add(-10 * time.Minute)},
			{ID: 4, State: StateCompleted, Printer: q, PrinterJobID: 5, CreatedAt: now.Add(-time.Hour),
				ProcessedAt: at(-time.Minute), CompletedAt: at(-30 * time.Second), UpdatedAt: now.Add(-30 * time.Second)},
			// Held again after a print that may have printed.
			{ID: 5, State: StateHeld, Reason: ReasonMayHavePrinted, Printer: p, PrinterJobID: 6,
				CreatedAt: now.Add(-24 * time.Hour), UpdatedAt: now.Add(-5 * time.Minute)},
		} {
			j.Queue, j.Owner = "secure", "alice"
			if err := db.Create(&j).Error; err != nil {
				t.Fatal(err)
			}
		}
		mon := (&Service{db: db}).Monitored()
		for _, tc := range []struct {
			name     string
			id       int
			from, to time.Duration
			want     []int64
		}{
			{"just now: the recent one and the one still printing", 5, -2 * time.Minute, 0, []int64{3, 2}},
			{"three hours ago: the old one", 5, -3*time.Hour - time.Minute, -3*time.Hour + 2*time.Minute, []int64{1}},
			{"before any was sent", 5, -5 * time.Hour, -4 * time.Hour, nil},
			{"held again: while it was being sent", 6, -7 * time.Minute, -6 * time.Minute, []int64{5}},
			{"held again: after", 6, -2 * time.Minute, 0, nil},
			{"an ID never given", 7, -time.Hour, 0, nil},
		} {
			got, err := mon.Forwarded(t.Context(), p, tc.id, now.Add(tc.from), now.Add(tc.to))
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
			}
		}
		for printer, want := range map[string]bool{p: true, q: false} {
			if got, err := mon.Sending(t.Context(), printer); err != nil || got != want {
				t.Errorf("sending to %s: %v, %v; want %v", printer, got, err, want)
			}
		}
	})
}

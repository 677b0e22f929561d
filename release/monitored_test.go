package release

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// TestMonitoredForwarded: a printer job ID names printgate's job only
// while a send of that job was at the printer (begun before the printer
// job's time, and printing or ended after it); a printer's job IDs start
// again, so an older job with the same ID is not it. Jobs sent before
// job_sends have their send from the migration, ended with the job; a
// job sent twice has both, and was sent again after the first. Sending
// is per printer.
func TestMonitoredForwarded(t *testing.T) {
	all := migrations()
	i := slices.IndexFunc(all, func(m database.Migration) bool { return m.Name == "job_sends" })
	if i < 0 {
		t.Fatal("no migration adds job_sends")
	}
	before := func(ctx context.Context, db *database.DB) error { return db.Migrate(ctx, "release", all[:i]) }
	testenv.EachDB(t, before, func(t *testing.T, db *database.DB) {
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
			// Printed at the second try, after the upgrade.
			{ID: 6, State: StateCompleted, Printer: p, CreatedAt: now.Add(-time.Hour),
				ProcessedAt: at(-10 * time.Minute), CompletedAt: at(-9 * time.Minute), UpdatedAt: now.Add(-9 * time.Minute)},
			// Never sent.
			{ID: 7, State: StateHeld, CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour)},
		} {
			j.Queue, j.Owner = "secure", "alice"
			if err := db.Create(&j).Error; err != nil {
				t.Fatal(err)
			}
		}
		if err := Migrate(t.Context(), db); err != nil {
			t.Fatal(err)
		}
		// Job 6: printer job 8 failed, printer job 9 printed.
		for _, s := range []struct {
			id         int
			sent, ends time.Duration
		}{{8, -20 * time.Minute, -19 * time.Minute}, {9, -10 * time.Minute, -9 * time.Minute}} {
			if err := recordSend(db.DB, 6, p, s.id, now.Add(s.sent), now.Add(s.sent)); err != nil {
				t.Fatal(err)
			}
			if err := db.Model(&jobSend{}).Where("job_id = 6 AND printer_job_id = ?", s.id).
				Update("ended_at", now.Add(s.ends)).Error; err != nil {
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
			{"just now: the recent one and the one still printing", 5, -2 * time.Minute, 0, []int64{2, 3}},
			{"three hours ago: the old one", 5, -3*time.Hour - time.Minute, -3*time.Hour + 2*time.Minute, []int64{1}},
			{"before any was sent", 5, -5 * time.Hour, -4 * time.Hour, nil},
			{"held again: while it was being sent", 6, -7 * time.Minute, -6 * time.Minute, []int64{5}},
			{"held again: after", 6, -2 * time.Minute, 0, nil},
			{"sent twice: the failed attempt", 8, -20 * time.Minute, -19 * time.Minute, []int64{6}},
			{"sent twice: the reprint", 9, -10 * time.Minute, -9 * time.Minute, []int64{6}},
			{"sent twice: the failed attempt's ID, after it ended", 8, -15 * time.Minute, 0, nil},
			{"an ID never given", 7, -time.Hour, 0, nil},
		} {
			got, err := mon.Forwarded(t.Context(), p, tc.id, now.Add(tc.from), now.Add(tc.to))
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
			}
		}
		for _, tc := range []struct {
			job  int64
			id   int
			want bool
		}{{6, 8, true}, {6, 9, false}, {5, 6, false}, {7, 1, false}} {
			if got, err := mon.SentAgain(t.Context(), tc.job, p, tc.id); err != nil || got != tc.want {
				t.Errorf("job %d sent again after printer job %d: %v, %v; want %v", tc.job, tc.id, got, err, tc.want)
			}
		}
		for printer, want := range map[string]bool{p: true, q: false} {
			if got, err := mon.Sending(t.Context(), printer); err != nil || got != want {
				t.Errorf("sending to %s: %v, %v; want %v", printer, got, err, want)
			}
		}
		// A job's sends go with its row (purgeFinished).
		if err := db.Exec(`DELETE FROM jobs WHERE id = 6`).Error; err != nil {
			t.Fatal(err)
		}
		var left int64
		if err := db.Model(&jobSend{}).Where("job_id = 6").Count(&left).Error; err != nil || left != 0 {
			t.Errorf("%d sends of a deleted job left (%v), want none", left, err)
		}
	})
}

// TestReprintSends: a job the printer aborts is held again with its
// printer job ID; released again, it prints as another printer job. The
// monitor is told of both (each in its time, the first one sent again
// since), and each send ends as its print does.
func TestReprintSends(t *testing.T) {
	// The printer's command fails the first document (the printer
	// aborts the job) and prints the next.
	dir := t.TempDir()
	cmd := filepath.Join(dir, "jam-once")
	script := "#!/bin/sh\nif [ ! -e " + dir + "/jammed ]; then touch " + dir + "/jammed; exit 1; fi\nexit 0\n"
	if err := os.WriteFile(cmd, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	printer := testenv.IPPEvePrinter(t, testenv.WithCommand(cmd))
	db := openSQLite(t)
	svc, _ := startService(t, db, Options{Queues: []Queue{{Name: "secure", Mode: Hold,
		Formats: []string{"application/pdf"}, MaxSize: 1 << 20}}})
	ctx := t.Context()
	ij, err := svc.IPP().PrintJob(ctx, ipp.JobRequest{Queue: "secure", User: "hanako", Name: "payslip",
		Copies: 1, Document: ipp.DocumentInfo{Format: "application/pdf"}},
		bytes.NewReader(testdocs.PDF(1, "payslip", testdocs.A4)))
	if err != nil {
		t.Fatal(err)
	}
	id := int64(ij.ID)
	dev := Device{Name: "mfp", Printer: printer.URI, Queues: "secure", Methods: MethodCard, Enabled: true}
	sess := Session{UserName: "hanako", Method: MethodCard}
	// print releases the job and waits for it to end in state want; it
	// returns its printer job ID and when the print began and ended.
	print := func(want State) (int, time.Time, time.Time) {
		t.Helper()
		begun := time.Now()
		out, err := svc.DeviceRelease().Release(ctx, sess, dev, ReleaseRequest{IDs: []int64{id}, ConfirmReprint: []int64{id}})
		if err != nil || len(out) != 1 || out[0].Problem != "" {
			t.Fatalf("release: %+v, %v", out, err)
		}
		var j Job
		testenv.WaitFor(t, "the job "+string(want), func() bool {
			if j, err = svc.load(ctx, "secure", id); err != nil {
				t.Fatal(err)
			}
			return j.State == want
		})
		return j.PrinterJobID, begun, time.Now()
	}
	failed, t0, t1 := print(StateHeld)
	reprint, t2, t3 := print(StateCompleted)
	if failed == 0 || reprint == 0 || failed == reprint {
		t.Fatalf("printer jobs %d then %d, want two", failed, reprint)
	}
	mon := svc.Monitored()
	for _, tc := range []struct {
		name     string
		id       int
		from, to time.Time
		want     []int64
	}{
		{"the failed attempt, in its time", failed, t0, t1, []int64{id}},
		{"the reprint, in its time", reprint, t2, t3, []int64{id}},
		{"the failed attempt's ID, in the reprint's time", failed, t3.Add(time.Minute), t3.Add(2 * time.Minute), nil},
	} {
		got, err := mon.Forwarded(ctx, printer.URI, tc.id, tc.from, tc.to)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	for pj, want := range map[int]bool{failed: true, reprint: false} {
		if got, err := mon.SentAgain(ctx, id, printer.URI, pj); err != nil || got != want {
			t.Errorf("sent again after printer job %d: %v, %v; want %v", pj, got, err, want)
		}
	}
	var open int64
	if err := db.Model(&jobSend{}).Where("job_id = ? AND ended_at IS NULL", id).Count(&open).Error; err != nil || open != 0 {
		t.Errorf("%d sends of the ended prints still open (%v), want none", open, err)
	}
}

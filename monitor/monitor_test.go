package monitor

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// migrate makes the audit's tables, a stand-in for release's jobs table
// (the monitor forgets the sends of jobs no longer in it), and the
// monitor's.
func migrate(ctx context.Context, db *database.DB) error {
	if err := audit.Migrate(ctx, db); err != nil {
		return err
	}
	if err := standInJobs(db); err != nil {
		return err
	}
	return Migrate(ctx, db)
}

// standInJobs makes the columns of release's jobs table that the
// monitor reads.
func standInJobs(db *database.DB) error {
	return db.Exec(`CREATE TABLE ` + jobsTable + ` (id BIGINT PRIMARY KEY, printer TEXT NOT NULL DEFAULT '',
		printer_job_id INTEGER NOT NULL DEFAULT 0)`).Error
}

// addJobs adds printgate's jobs ids to the stand-in jobs table.
func addJobs(t *testing.T, db *database.DB, ids ...int64) {
	t.Helper()
	for _, id := range ids {
		if err := db.Exec(`INSERT INTO `+jobsTable+` (id) VALUES (?)`, id).Error; err != nil {
			t.Fatal(err)
		}
	}
}

// newMonitor returns a monitor over db with the test's clock, and its
// audit log.
func newMonitor(t *testing.T, db *database.DB, clock *testenv.Clock, edit func(*Options)) (*Monitor, *audit.Log) {
	t.Helper()
	log := audit.New(db, audit.Options{Key: []byte("monitor-test-key-0123456789abcdef"), Now: clock.Now})
	opts := Options{DB: db, Audit: log, Now: clock.Now, Key: []byte("monitor-test-credentials-key-0123"), PollInterval: time.Second, Timeout: 5 * time.Second, Threshold: 10}
	if edit != nil {
		edit(&opts)
	}
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return m, log
}

func events(t *testing.T, log *audit.Log, typ string) []audit.Event {
	t.Helper()
	var out []audit.Event
	for ev, err := range log.Events(t.Context(), audit.Filter{Type: typ}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// TestCounterReconcile: a real snmpd serves the printer's
// prtMarkerLifeCount; each day's delta is stored, a day whose counter
// moved by the pages observed in the printer's log raises nothing, and a
// day whose counter moved by 50 pages nobody printed raises one
// counter-discrepancy event.
func TestCounterReconcile(t *testing.T) {
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		printer := testenv.IPPEvePrinter(t, testenv.WithImpressions(t))
		agent := testenv.SNMPD(t, 1000)
		clock := testenv.NewClockAt(time.Date(2026, 4, 1, 0, 30, 0, 0, time.UTC)) // 09:30 in Tokyo
		m, log := newMonitor(t, db, clock, nil)
		ctx := t.Context()
		if _, err := m.Registry().Add(ctx, Spec{Name: "lobby", URI: printer.URI, SNMPAddr: agent.Addr,
			SNMPCommunity: agent.Community}, nil); err != nil {
			t.Fatal(err)
		}
		poll := func() {
			t.Helper()
			if err := m.PollOnce(ctx); err != nil {
				t.Fatal(err)
			}
			ps, _ := m.Registry().List(ctx)
			if len(ps) != 1 || ps[0].LastError != "" {
				t.Fatalf("after the poll: %+v", ps)
			}
		}
		poll()
		// Day 1: mallory prints 3 pages straight to the printer.
		st, err := (&ipp.Client{}).PrintJob(ctx, printer.URI, ipp.PrintRequest{UserName: "mallory", JobName: "x",
			DocumentFormat: "application/pdf"}, strings.NewReader(string(testdocs.PDF(3, "direct", testdocs.A4))))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := (&ipp.Client{}).Wait(ctx, printer.URI, st.ID); err != nil {
			t.Fatal(err)
		}
		agent.Set(1003)
		poll()
		// Day 2: nobody prints, yet 50 pages come out (copies at the panel).
		clock.Advance(24 * time.Hour)
		poll()
		agent.Set(1053)
		clock.Advance(6 * time.Hour)
		poll()
		// Day 3 begins: day 2 is settled.
		clock.Advance(18 * time.Hour)
		poll()

		days, err := m.Registry().Counters(ctx, printer.URI, 10)
		if err != nil {
			t.Fatal(err)
		}
		want := []Counter{{Day: "2026-04-03", First: 1053, Last: 1053, Delta: -1},
			{Day: "2026-04-02", First: 1003, Last: 1053, Delta: 50}, {Day: "2026-04-01", First: 1000, Last: 1003, Delta: 3, Expected: 3}}
		if len(days) != len(want) {
			t.Fatalf("counter days %+v, want %+v", days, want)
		}
		for i := range want {
			if days[i] != want[i] {
				t.Errorf("day %d: %+v, want %+v", i, days[i], want[i])
			}
		}
		obs := events(t, log, EventDeviceJobObserved)
		if len(obs) != 1 || obs[0].Owner != "mallory" || obs[0].Details["pages"] != "3" {
			t.Errorf("observed %+v, want mallory's 3 pages", obs)
		}
		disc := events(t, log, EventCounterDiscrepancy)
		if len(disc) != 1 || disc[0].Details["day"] != "2026-04-02" || disc[0].Details["difference"] != "50" ||
			disc[0].Printer != printer.URI {
			t.Fatalf("discrepancies %+v, want one for 2026-04-02 of 50 pages", disc)
		}
		// Polling again settles nothing twice.
		poll()
		if n := len(events(t, log, EventCounterDiscrepancy)); n != 1 {
			t.Errorf("%d discrepancy events after another poll, want 1", n)
		}
	})
}

// TestUnreachableBackoff: a printer that does not answer is marked
// unreachable with the error, and is asked again only after its backoff.
func TestUnreachableBackoff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		clock := testenv.NewClock()
		m, _ := newMonitor(t, db, clock, nil)
		ctx := t.Context()
		if _, err := m.Registry().Add(ctx, Spec{Name: "gone", URI: "ipp://" + addr + "/ipp/print"}, nil); err != nil {
			t.Fatal(err)
		}
		state := func() Printer {
			ps, err := m.Registry().List(ctx)
			if err != nil || len(ps) != 1 {
				t.Fatalf("list: %v %v", ps, err)
			}
			return ps[0]
		}
		for _, step := range []struct {
			advance  time.Duration
			failures int
		}{
			{0, 1},               // first poll fails
			{time.Second, 1},     // backoff 2s: not asked
			{time.Second, 2},     // 2s after: asked, fails again
			{3 * time.Second, 2}, // backoff 4s: not asked
			{time.Second, 3},
		} {
			clock.Advance(step.advance)
			if err := m.PollOnce(ctx); err != nil {
				t.Fatal(err)
			}
			p := state()
			if p.Failures != step.failures || p.State != StateUnreachable || !p.Stopped() || p.LastError == "" {
				t.Fatalf("after %v: failures %d state %q error %q, want %d failures, unreachable", step.advance,
					p.Failures, p.State, p.LastError, step.failures)
			}
		}
	})
}

// TestRegistry: printers are added with checked names, URIs and SNMP
// settings, listed, and removed; a device's printer cannot be removed.
func TestRegistry(t *testing.T) {
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		r := NewRegistry(db, []byte("monitor-test-credentials-key-0123"), nil)
		ctx := t.Context()
		for _, tc := range []struct {
			name string
			spec Spec
			err  error
		}{
			{"ok", Spec{Name: "mfp-1", URI: "ipp://10.0.0.5/ipp/print"}, nil},
			{"snmp", Spec{Name: "mfp-2", URI: "ipps://10.0.0.6/ipp/print", SNMPAddr: "10.0.0.6", SNMPCommunity: "pg-community-xyz"}, nil},
			{"twice", Spec{Name: "mfp-1", URI: "ipp://10.0.0.5/ipp/print"}, ErrExists},
			{"bad name", Spec{Name: "a b", URI: "ipp://h/"}, ErrBadPrinter},
			{"socket", Spec{Name: "s", URI: "socket://h:9100"}, ErrBadPrinter},
			{"credentials", Spec{Name: "c", URI: "ipp://u:p@h/"}, ErrBadPrinter},
			{"no community", Spec{Name: "n", URI: "ipp://h/", SNMPAddr: "h"}, ErrBadPrinter},
			{"bad port", Spec{Name: "p", URI: "ipp://h/", SNMPAddr: "h:99999", SNMPCommunity: "c"}, ErrBadPrinter},
		} {
			_, err := r.Add(ctx, tc.spec, nil)
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
			}
		}
		if err := r.syncDevices(ctx, map[string]string{"panel": "ipp://10.0.0.9/ipp/print"}); err != nil {
			t.Fatal(err)
		}
		ps, err := r.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range ps {
			names = append(names, p.Name+"/"+p.Source+"/"+p.SNMPAddr)
		}
		if got := strings.Join(names, " "); got != "mfp-1/monitor/ mfp-2/monitor/10.0.0.6:161 panel/device/" {
			t.Errorf("listed %s", got)
		}
		if err := r.Remove(ctx, "panel", nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("removing a device's printer: %v, want ErrNotFound", err)
		}
		if err := r.Remove(ctx, "mfp-1", nil); err != nil {
			t.Error(err)
		}
		if err := r.syncDevices(ctx, map[string]string{}); err != nil {
			t.Fatal(err)
		}
		ps, _ = r.List(ctx)
		if len(ps) != 1 || ps[0].Name != "mfp-2" {
			t.Fatalf("after removals: %+v", ps)
		}
		// The community is sealed at rest, bound to its printer.
		stored := ps[0].SNMPCommunity
		if strings.Contains(stored, "pg-community-xyz") {
			t.Errorf("community stored in clear: %q", stored)
		}
		if c, err := openCommunity(r.key, "mfp-2", stored); err != nil || c != "pg-community-xyz" {
			t.Errorf("open: %q %v", c, err)
		}
		if _, err := openCommunity(r.key, "mfp-1", stored); err == nil {
			t.Error("a community opens for another printer")
		}
	})
}

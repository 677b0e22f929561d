package monitor

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

// TestCounterWentBack: a life counter that reads less than before (the
// printer reset or replaced, the counter wrapped, or a forged reply) is a
// counter-discrepancy, went back, once a printer a day; the day it spans
// is not reconciled into another.
func TestCounterWentBack(t *testing.T) {
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		fp := &logPrinter{}
		uri := fp.serve(t)
		agent := testenv.SNMPD(t, 1000)
		clock := testenv.NewClock() // 18:00 in Tokyo
		m, log := newMonitor(t, db, clock, nil)
		if _, err := m.Registry().Add(t.Context(), Spec{Name: "lobby", URI: uri, SNMPAddr: agent.Addr,
			SNMPCommunity: agent.Community}, nil); err != nil {
			t.Fatal(err)
		}
		for _, step := range []struct {
			name    string
			advance time.Duration
			count   int64
			events  int
		}{
			{"first reading", 0, 1000, 0},
			{"went back", time.Minute, 900, 1},
			{"forward again", time.Minute, 1000, 1},
			{"back again the same day", time.Minute, 900, 1},
			{"back the next day", 24 * time.Hour, 800, 2},
		} {
			clock.Advance(step.advance)
			agent.Set(step.count)
			if err := m.PollOnce(t.Context()); err != nil {
				t.Fatal(err)
			}
			if n := len(events(t, log, EventCounterDiscrepancy)); n != step.events {
				t.Fatalf("%s: %d counter-discrepancy events, want %d", step.name, n, step.events)
			}
		}
		ev := events(t, log, EventCounterDiscrepancy)[0]
		if ev.Outcome != OutcomeCounterWentBack || ev.Device != "lobby" || ev.Details["counter_delta"] != "-100" ||
			ev.Details["previous"] != "1000" || ev.Details["reading"] != "900" || ev.Details["day"] != "2026-04-01" {
			t.Errorf("went back: %+v", ev)
		}
	})
}

// fakeAgent answers every SNMPv2c request with value under oid.
func fakeAgent(t *testing.T, oid string, value uint32) string {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			dec := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Logger: gosnmp.NewLogger(nil)}
			req, err := dec.SnmpDecodePacket(buf[:n])
			if err != nil {
				continue
			}
			resp := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: req.Community, PDUType: gosnmp.GetResponse,
				RequestID: req.RequestID, Variables: []gosnmp.SnmpPDU{{Name: oid, Type: gosnmp.Counter32, Value: value}}}
			if out, err := resp.MarshalMsg(); err == nil {
				conn.WriteTo(out, from)
			}
		}
	}()
	return conn.LocalAddr().String()
}

// TestCounterOID: a reply's value is taken only under the object asked
// for (prtMarkerLifeCount), not under any other the agent names.
func TestCounterOID(t *testing.T) {
	for _, tc := range []struct {
		name string
		oid  string
		err  error
	}{
		{"prtMarkerLifeCount", "." + LifeCountOID, nil},
		{"sysUpTime", ".1.3.6.1.2.1.1.3.0", errNoCounter},
		{"the next marker", "." + LifeCountOID + ".2", errNoCounter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.EachDB(t, nil, func(t *testing.T, db *database.DB) {
				if db.Dialect != database.SQLite {
					t.Skip("the reply is the agent's, not the database's")
				}
				addr := fakeAgent(t, tc.oid, 4321)
				m, _ := newMonitor(t, db, testenv.NewClock(), nil)
				community, err := sealCommunity(m.opts.Key, "lobby", "public")
				if err != nil {
					t.Fatal(err)
				}
				n, err := m.getCounter(t.Context(), Printer{Name: "lobby", SNMPAddr: addr, SNMPCommunity: community})
				if !errors.Is(err, tc.err) || (err == nil && n != 4321) {
					t.Errorf("read %d, %v; want 4321 or %v", n, err, tc.err)
				}
			})
		})
	}
}

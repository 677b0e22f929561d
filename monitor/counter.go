package monitor

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"
	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/ipp"
)

// LifeCountOID is Printer-MIB prtMarkerLifeCount of the first marker of
// the first printer (RFC 3805): the pages it has printed in its life.
const LifeCountOID = "1.3.6.1.2.1.43.10.2.1.4.1.1"

// defaultSNMPPort is where SNMP agents listen.
const defaultSNMPPort = "161"

// snmpTarget checks HOST[:PORT] and adds the default port.
func snmpTarget(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = addr, defaultSNMPPort
	}
	if host == "" {
		return "", fmt.Errorf("%w: SNMP address %q has no host", ErrBadPrinter, addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return "", fmt.Errorf("%w: SNMP port %q", ErrBadPrinter, port)
	}
	return net.JoinHostPort(host, port), nil
}

// errNoCounter means the agent answered without a usable counter.
var errNoCounter = errors.New("no prtMarkerLifeCount")

// readCounter reads p's life counter over SNMPv2c or v3, stores it in the
// day's row, says so if it went back, and reconciles the days that are
// complete.
func (m *Monitor) readCounter(ctx context.Context, p Printer) (int64, error) {
	n, err := m.getCounter(ctx, p)
	if err != nil {
		return 0, err
	}
	prev, err := m.lastReading(ctx, p.URI)
	if err != nil {
		return n, err
	}
	if err := m.storeCounter(ctx, p.URI, n); err != nil {
		return n, err
	}
	if prev != nil && n < prev.LastCount {
		if err := m.wentBack(ctx, p, *prev, n); err != nil {
			return n, err
		}
	}
	return n, m.reconcile(ctx, p)
}

// getCounter asks the agent for prtMarkerLifeCount.
func (m *Monitor) getCounter(ctx context.Context, p Printer) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	host, port, err := net.SplitHostPort(p.SNMPAddr)
	if err != nil {
		return 0, err
	}
	pn, _ := strconv.Atoi(port)
	timeout := m.opts.Timeout / 2
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl)/2)
	}
	g := &gosnmp.GoSNMP{Target: host, Port: uint16(pn), Version: gosnmp.Version2c,
		Timeout: timeout, Retries: 1, Context: ctx, MaxOids: 1}
	if p.SNMPVersion == Version3 {
		g.Version, g.SecurityModel = gosnmp.Version3, gosnmp.UserSecurityModel
		if g.SecurityParameters, g.MsgFlags, err = m.usm(p); err != nil {
			return 0, err
		}
	} else if g.Community, err = openCommunity(m.opts.Key, p.Name, p.SNMPCommunity); err != nil {
		return 0, err
	}
	if err := g.Connect(); err != nil {
		return 0, fmt.Errorf("snmp %s: %w", p.SNMPAddr, err)
	}
	defer g.Conn.Close()
	res, err := g.Get([]string{LifeCountOID})
	if err != nil {
		if p.SNMPVersion == Version3 {
			err = v3Error(err)
		}
		return 0, fmt.Errorf("snmp %s: %w", p.SNMPAddr, err)
	}
	if len(res.Variables) != 1 {
		return 0, fmt.Errorf("snmp %s: %w", p.SNMPAddr, errNoCounter)
	}
	v := res.Variables[0]
	// A reply is matched to its request by its request ID alone: the
	// value must be of the object asked for.
	if strings.TrimPrefix(v.Name, ".") != LifeCountOID {
		return 0, fmt.Errorf("snmp %s: %w (reply for %q)", p.SNMPAddr, errNoCounter, ipp.Printable(v.Name, 64))
	}
	switch v.Type {
	case gosnmp.Counter32, gosnmp.Counter64, gosnmp.Integer, gosnmp.Gauge32, gosnmp.Uinteger32:
	default:
		return 0, fmt.Errorf("snmp %s: %w (type %s)", p.SNMPAddr, errNoCounter, v.Type)
	}
	b := gosnmp.ToBigInt(v.Value)
	if b.Sign() < 0 || b.Cmp(big.NewInt(1<<62)) > 0 {
		return 0, fmt.Errorf("snmp %s: %w (value out of range)", p.SNMPAddr, errNoCounter)
	}
	return b.Int64(), nil
}

// day is the calendar day of t where the record is kept.
func (m *Monitor) day(t time.Time) string { return t.In(m.loc).Format(time.DateOnly) }

// storeCounter keeps n as the day's first reading, or its latest.
func (m *Monitor) storeCounter(ctx context.Context, uri string, n int64) error {
	now := m.now().UTC()
	day := m.day(now)
	return m.opts.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&counterDay{}).Where("uri = ? AND day = ?", uri, day).
			Updates(map[string]any{"last_count": n, "last_at": now})
		if res.Error != nil || res.RowsAffected > 0 {
			return res.Error
		}
		return tx.Create(&counterDay{URI: uri, Day: day, FirstCount: n, FirstAt: now, LastCount: n, LastAt: now, Delta: -1}).Error
	})
}

// lastReading returns uri's latest day of readings, nil before the first.
func (m *Monitor) lastReading(ctx context.Context, uri string) (*counterDay, error) {
	var days []counterDay
	if err := m.opts.DB.WithContext(ctx).Where("uri = ?", uri).Order("day DESC").Limit(1).Find(&days).Error; err != nil {
		return nil, fmt.Errorf("monitor: last counter of %s: %w", uri, err)
	}
	if len(days) == 0 {
		return nil, nil
	}
	return &days[0], nil
}

// wentBack records that p's counter read n, less than prev's latest
// reading: the printer was replaced or reset, the counter wrapped, or the
// reply was forged. It is a counter-discrepancy, one a printer a day at
// most, with the pages printed in between.
func (m *Monitor) wentBack(ctx context.Context, p Printer, prev counterDay, n int64) error {
	now := m.now()
	released, observed, err := m.printed(ctx, p.URI, prev.LastAt, now)
	if err != nil {
		return err
	}
	ev := audit.Event{Type: EventCounterDiscrepancy, Actor: audit.ActorSystem, Device: p.Name, Printer: p.URI,
		Outcome: OutcomeCounterWentBack, Reason: "counter went back: printer replaced or reset, counter wrapped, or a forged reply",
		Details: map[string]string{"day": m.day(now), "counter_delta": strconv.FormatInt(n-prev.LastCount, 10),
			"previous": strconv.FormatInt(prev.LastCount, 10), "reading": strconv.FormatInt(n, 10),
			"released_pages": strconv.FormatInt(released, 10), "observed_pages": strconv.FormatInt(observed, 10),
			"from": prev.LastAt.UTC().Format(time.RFC3339), "to": now.UTC().Format(time.RFC3339)}}
	return m.alertOnce(ctx, p, alertCounterBack, ev)
}

// reconcile settles every day of p whose next day has begun: the delta
// between the two days' first readings against the pages printgate
// released to p and observed in its log between them. A difference over
// the threshold is a counter-discrepancy event.
func (m *Monitor) reconcile(ctx context.Context, p Printer) error {
	var days []counterDay
	if err := m.opts.DB.WithContext(ctx).Where("uri = ?", p.URI).Order("day").Find(&days).Error; err != nil {
		return fmt.Errorf("monitor: counters of %s: %w", p.Name, err)
	}
	for i := 0; i+1 < len(days); i++ {
		d, next := days[i], days[i+1]
		if d.Reconciled {
			continue
		}
		if err := m.settle(ctx, p, d, next); err != nil {
			return err
		}
	}
	return nil
}

// settle reconciles day d, whose span ends at next's first reading.
func (m *Monitor) settle(ctx context.Context, p Printer, d, next counterDay) error {
	delta := next.FirstCount - d.FirstCount
	released, observed, err := m.printed(ctx, p.URI, d.FirstAt, next.FirstAt)
	if err != nil {
		return err
	}
	expected := released + observed
	return m.opts.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&counterDay{}).Where("uri = ? AND day = ? AND NOT reconciled", d.URI, d.Day).
			Updates(map[string]any{"delta": delta, "expected": expected, "reconciled": true})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error // settled by another instance
		}
		diff := delta - expected
		if delta < 0 || abs(diff) <= m.opts.Threshold {
			// A counter that went back has nothing to compare: it was
			// recorded when read (wentBack).
			return nil
		}
		_, err := m.opts.Audit.Append(ctx, tx, audit.Event{Type: EventCounterDiscrepancy, Actor: audit.ActorSystem,
			Device: p.Name, Printer: p.URI, Outcome: "discrepancy", Reason: "counter moved by other pages than printed",
			Details: map[string]string{"day": d.Day, "counter_delta": strconv.FormatInt(delta, 10),
				"released_pages": strconv.FormatInt(released, 10), "observed_pages": strconv.FormatInt(observed, 10),
				"difference": strconv.FormatInt(diff, 10), "threshold": strconv.FormatInt(m.opts.Threshold, 10),
				"from": d.FirstAt.UTC().Format(time.RFC3339), "to": next.FirstAt.UTC().Format(time.RFC3339)}})
		return err
	})
}

// printed sums the pages released to uri through printgate (job records
// printed there; a printer's own count where its log matched the job)
// and the pages observed in its log, in [from, to).
func (m *Monitor) printed(ctx context.Context, uri string, from, to time.Time) (released, observed int64, err error) {
	var sum struct{ N int64 }
	// Observed jobs have records too (source "printer log"): they are
	// counted once, from their events, below.
	err = m.opts.DB.WithContext(ctx).Raw(`SELECT CAST(COALESCE(SUM(COALESCE(printer_impressions, impressions)), 0) AS BIGINT) AS n
		FROM audit_jobs WHERE printer = ? AND outcome = 'printed' AND source = '' AND completed_at >= ? AND completed_at < ?`,
		uri, from.UTC(), to.UTC()).
		Scan(&sum).Error
	if err != nil {
		return 0, 0, fmt.Errorf("monitor: released pages: %w", err)
	}
	released = sum.N
	for ev, err := range m.opts.Audit.Events(ctx, audit.Filter{Type: EventDeviceJobObserved, From: from, To: to}) {
		if err != nil {
			return 0, 0, fmt.Errorf("monitor: observed pages: %w", err)
		}
		if ev.Printer != uri {
			continue
		}
		if n, err := strconv.ParseInt(ev.Details["pages"], 10, 64); err == nil && n > 0 {
			observed += n
		}
	}
	return released, observed, nil
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// Counter is one day of a printer's life counter.
type Counter struct {
	Day string
	// First and Last are the day's first and latest readings; Delta the
	// pages between this day's first reading and the next day's, -1
	// until the next day begins; Expected released plus observed pages.
	First, Last, Delta, Expected int64
}

// Counters returns the days of uri's counter, the latest first, at most
// limit.
func (r *Registry) Counters(ctx context.Context, uri string, limit int) ([]Counter, error) {
	var days []counterDay
	if err := r.db.WithContext(ctx).Where("uri = ?", uri).Order("day DESC").Limit(limit).Find(&days).Error; err != nil {
		return nil, fmt.Errorf("monitor: counters: %w", err)
	}
	out := make([]Counter, 0, len(days))
	for _, d := range days {
		out = append(out, Counter{Day: d.Day, First: d.FirstCount, Last: d.LastCount, Delta: d.Delta, Expected: d.Expected})
	}
	return out, nil
}

// Package monitor follows printers from their side: it polls each
// printer's own job log (IPP Get-Jobs, which-jobs=completed), matches the
// jobs printgate released (by printer job ID, while printgate's send was
// at the printer, each send once: match.go) and records every other job
// in the audit trail as device-job-observed, up to limits a printer a
// poll and a day (limit.go); it reads the printers' life page counters over SNMP
// (Printer-MIB prtMarkerLifeCount), keeps daily deltas and reconciles
// them with the pages printed, raising counter-discrepancy when they part
// or a counter goes back; and it keeps each printer's state, reasons and
// supplies for the console.
//
// Polling is bounded: every request has a timeout, at most
// Options.Concurrency printers are polled at once, a printer that fails is
// asked again later and later (backoff), and what a printer answers is
// read under size limits. It runs on its own goroutine and shares nothing
// with submission or release but the database.
package monitor

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/ipp"
)

// Defaults for Options left zero.
const (
	DefaultPollInterval = 30 * time.Second
	DefaultTimeout      = 10 * time.Second
	DefaultConcurrency  = 4
	DefaultThreshold    = 10
	// DefaultMaxObservedPerPoll and DefaultMaxObservedPerDay bound the
	// jobs printed without printgate recorded from one printer: a real
	// printer completes a few jobs between two polls and hundreds a day,
	// while whatever answers at its address can invent thousands each
	// poll, every one an audit event in a real user's name.
	DefaultMaxObservedPerPoll = 100
	DefaultMaxObservedPerDay  = 5000
	// maxBackoff bounds how long a failing printer waits between polls.
	maxBackoff = 10 * time.Minute
)

// Audit event types the monitor appends.
const (
	// EventDeviceJobObserved is a job found in a printer's own log that
	// printgate did not send: its Owner is the user the printer saw.
	EventDeviceJobObserved = audit.EventDeviceJobObserved
	// EventDeviceJobMatched completes one of printgate's own jobs with
	// what the printer's log says of it (its impressions).
	EventDeviceJobMatched = audit.EventDeviceJobMatched
	// EventCounterDiscrepancy says a printer's life counter moved by more
	// pages than printgate released and observed over a day.
	// A counter that went back (replaced, reset, wrapped, or a forged
	// reply) is one too, with Outcome OutcomeCounterWentBack.
	EventCounterDiscrepancy = "counter-discrepancy"
	// EventObservedLimited says a printer listed more jobs printed
	// without printgate in a day than Options.MaxObservedPerDay: the rest
	// of that day's were not recorded. One a printer a day at most.
	EventObservedLimited = "device-jobs-limited"
	// SourcePrinterLog is the "source" detail of events from a
	// printer's log.
	SourcePrinterLog = audit.SourcePrinterLog
)

// OutcomeCounterWentBack is the Outcome of a counter-discrepancy event
// that says a printer's life counter read less than the reading before.
const OutcomeCounterWentBack = "counter-went-back"

// Releases finds printgate's own jobs among a printer's: release.Service
// implements it.
type Releases interface {
	// Forwarded returns the printgate jobs that were sent to printer and
	// got printerJobID there on a send that was on its way there or at
	// it at some time between from and to (on printgate's clock), the
	// most recent send first, at most a few. Every send of a job counts:
	// one held again after a failed print and released again got a
	// printer job ID each time.
	Forwarded(ctx context.Context, printer string, printerJobID int, from, to time.Time) ([]int64, error)
	// SentAgain reports whether job jobID was sent again after its send
	// to printer that got printerJobID: that printer job's count is then
	// a failed attempt's, not the job's.
	SentAgain(ctx context.Context, jobID int64, printer string, printerJobID int) (bool, error)
	// Sending reports whether some job is being sent to printer or
	// printing there: its printer job ID may not be recorded yet, so a
	// job the printer has just completed may be that one.
	Sending(ctx context.Context, printer string) (bool, error)
}

// Options configure a Monitor.
type Options struct {
	DB    *database.DB
	Audit *audit.Log
	// Client asks printers over IPP; nil is a new ipp.Client.
	Client *ipp.Client
	// Releases matches printgate's own jobs; nil matches none.
	Releases Releases
	// Devices lists the devices' printers (device name → URI); nil
	// monitors registered printers only.
	Devices func(ctx context.Context) (map[string]string, error)
	// PollInterval is how often each printer is asked;
	// DefaultPollInterval when 0.
	PollInterval time.Duration
	// Timeout bounds each request to a printer; DefaultTimeout when 0.
	Timeout time.Duration
	// Concurrency is how many printers are polled at once;
	// DefaultConcurrency when 0.
	Concurrency int
	// Owners maps the user name a printer saw to a directory user's
	// (release/owner: case, domain, aliases); known is false for a name
	// no user has, which then stays as the printer wrote it. Nil maps
	// nothing.
	Owners func(ctx context.Context, seen string) (user string, known bool)
	// Key seals and opens SNMP communities in the database: the
	// credentials key.
	Key []byte
	// HideJobNames records observed jobs' names as keyed HMACs.
	HideJobNames bool
	// Threshold is how many pages a day's counter delta may differ from
	// released plus observed pages before counter-discrepancy is raised;
	// DefaultThreshold when 0.
	Threshold int64
	// JobLogLimit is how many completed jobs are asked of a printer.
	JobLogLimit int
	// MaxObservedPerPoll is how many jobs printed without printgate are
	// recorded from one printer in one poll (the rest wait for the next);
	// DefaultMaxObservedPerPoll when 0.
	MaxObservedPerPoll int
	// MaxObservedPerDay is how many are recorded from one printer in a
	// day (in Location): beyond it, one EventObservedLimited event and
	// no more that day; DefaultMaxObservedPerDay when 0.
	MaxObservedPerDay int
	// Location is the time zone days are counted in; nil is Asia/Tokyo.
	Location *time.Location
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Log receives poll failures (never a community or a job name).
	Log *slog.Logger
}

// Monitor polls printers.
type Monitor struct {
	opts     Options
	registry *Registry
	client   *ipp.Client
	now      func() time.Time
	log      *slog.Logger
	loc      *time.Location

	mu sync.Mutex
	// pending holds, by printer URI and job key, the unmatched jobs of
	// the last poll that wait for their match while a release is being
	// sent (logpoll.go); each poll replaces its printer's.
	pending map[string]map[string]pendingJob
	// forgotAt is when old marks were last deleted.
	forgotAt time.Time
}

// New returns a Monitor; Run starts it.
func New(opts Options) (*Monitor, error) {
	if opts.DB == nil || opts.Audit == nil {
		return nil, fmt.Errorf("monitor: a database and an audit log are needed")
	}
	m := &Monitor{opts: opts, client: opts.Client, now: opts.Now, log: opts.Log, loc: opts.Location,
		pending: map[string]map[string]pendingJob{}}
	if m.client == nil {
		m.client = &ipp.Client{}
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.loc == nil {
		m.loc, _ = time.LoadLocation(audit.DefaultTimeZone)
	}
	if m.opts.PollInterval <= 0 {
		m.opts.PollInterval = DefaultPollInterval
	}
	if m.opts.Timeout <= 0 {
		m.opts.Timeout = DefaultTimeout
	}
	if m.opts.Concurrency <= 0 {
		m.opts.Concurrency = DefaultConcurrency
	}
	if m.opts.Threshold <= 0 {
		m.opts.Threshold = DefaultThreshold
	}
	if m.opts.MaxObservedPerPoll <= 0 {
		m.opts.MaxObservedPerPoll = DefaultMaxObservedPerPoll
	}
	if m.opts.MaxObservedPerDay <= 0 {
		m.opts.MaxObservedPerDay = DefaultMaxObservedPerDay
	}
	m.registry = NewRegistry(opts.DB, opts.Key, m.now)
	return m, nil
}

// Registry returns the registry of monitored printers.
func (m *Monitor) Registry() *Registry { return m.registry }

// Run polls every printer every PollInterval until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if err := m.PollOnce(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("monitor: poll", "err", err)
		}
		timer.Reset(m.opts.PollInterval)
	}
}

// PollOnce polls each printer that is due (not backing off) once, at
// most Concurrency at a time, and returns when all are done. Printers
// that share a URI (two devices at one printer) are asked once.
func (m *Monitor) PollOnce(ctx context.Context) error {
	if m.opts.Devices != nil {
		devs, err := m.opts.Devices(ctx)
		if err != nil {
			return fmt.Errorf("monitor: devices: %w", err)
		}
		if err := m.registry.syncDevices(ctx, devs); err != nil {
			return fmt.Errorf("monitor: devices: %w", err)
		}
	}
	printers, err := m.registry.List(ctx)
	if err != nil {
		return err
	}
	byURI := map[string][]Printer{}
	var order []string
	for _, p := range printers {
		if _, ok := byURI[p.URI]; !ok {
			order = append(order, p.URI)
		}
		byURI[p.URI] = append(byURI[p.URI], p)
	}
	sem := make(chan struct{}, m.opts.Concurrency)
	var wg sync.WaitGroup
	for _, uri := range order {
		ps := byURI[uri]
		if !m.due(ps[0]) {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			m.poll(ctx, ps)
		})
	}
	wg.Wait()
	m.dropPending(byURI)
	m.forgetOld(ctx)
	return nil
}

// due reports whether p's backoff is over: after n failures in a row it
// waits PollInterval × 2^n, at most maxBackoff.
func (m *Monitor) due(p Printer) bool {
	if p.Failures == 0 || p.LastTry.IsZero() {
		return true
	}
	wait := m.opts.PollInterval << min(p.Failures, 16)
	wait = min(wait, maxBackoff)
	return !m.now().Before(p.LastTry.Add(wait))
}

// poll asks one printer for its state and job log, and its counter, and
// stores what it found on every row with its URI.
func (m *Monitor) poll(ctx context.Context, ps []Printer) {
	p := ps[0]
	// Each request to the printer has its own timeout; recording what it
	// said does not, so a long first log is recorded over a few polls at
	// worst, never cut off midway through a job.
	upd := map[string]any{"last_try": m.now().UTC()}
	st, err := m.status(ctx, p.URI)
	if err != nil {
		m.log.Warn("monitor: printer did not answer", "printer", p.Name, "err", err)
		upd["state"] = StateUnreachable
	} else {
		upd["last_poll"], upd["state"], upd["reasons"], upd["supplies"] = m.now().UTC(), st.state, st.reasons, st.supplies
		// A printer that answers but whose log cannot be read or
		// recorded is not unreachable: its state stays as it said.
		if err = m.collect(ctx, p, st.clock); err != nil {
			m.log.Warn("monitor: job log", "printer", p.Name, "err", err)
		}
	}
	if err != nil {
		upd["last_error"] = ipp.Printable(err.Error(), 300)
		upd["failures"] = p.Failures + 1
	} else {
		upd["last_error"], upd["failures"] = "", 0
	}
	for _, q := range ps {
		if q.SNMPAddr == "" {
			continue
		}
		if n, cerr := m.readCounter(ctx, q); cerr != nil {
			m.log.Warn("monitor: counter", "printer", q.Name, "err", cerr)
			if err == nil {
				upd["last_error"] = ipp.Printable("SNMP: "+cerr.Error(), 300)
			}
		} else {
			upd["counter"], upd["counter_at"] = n, m.now().UTC()
		}
		break
	}
	if derr := m.opts.DB.WithContext(context.WithoutCancel(ctx)).Model(&Printer{}).
		Where("uri = ?", p.URI).Updates(upd).Error; derr != nil {
		m.log.Error("monitor: store poll", "printer", p.Name, "err", derr)
	}
}

package main

import (
	"context"
	"strings"
	"time"

	"github.com/printgate/printgate/internal/secret"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/monitor"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/credential"
)

// MonitoringConfig sets how printers' own job logs and counters are
// followed (package monitor).
type MonitoringConfig struct {
	// Enabled polls printers; default true.
	Enabled bool `yaml:"enabled"`
	// PollInterval is how often each printer is asked; default 30s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// Timeout bounds each request to a printer; default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// Concurrency is how many printers are polled at once; default 4.
	Concurrency int `yaml:"concurrency"`
	// HideJobNames records the names of observed jobs as keyed HMACs.
	HideJobNames bool `yaml:"hide_job_names"`
	// DiscrepancyThreshold is how many pages a day's counter delta may
	// differ from the pages printed before counter-discrepancy; default 10.
	DiscrepancyThreshold int64 `yaml:"discrepancy_threshold"`
	// MaxObservedPerPoll and MaxObservedPerDay bound the jobs printed
	// without printgate recorded from one printer; defaults 100 and
	// 5000 (monitor.DefaultMaxObservedPerPoll, ...PerDay).
	MaxObservedPerPoll int `yaml:"max_observed_per_poll"`
	MaxObservedPerDay  int `yaml:"max_observed_per_day"`
}

func defaultMonitoring() MonitoringConfig {
	return MonitoringConfig{Enabled: true, PollInterval: monitor.DefaultPollInterval, Timeout: monitor.DefaultTimeout,
		Concurrency: monitor.DefaultConcurrency, DiscrepancyThreshold: monitor.DefaultThreshold,
		MaxObservedPerPoll: monitor.DefaultMaxObservedPerPoll, MaxObservedPerDay: monitor.DefaultMaxObservedPerDay}
}

// checkMonitoring checks the monitoring settings.
func (c *Config) checkMonitoring(p *problems) {
	m := c.Monitoring
	if m.PollInterval < time.Second {
		p.add("monitoring.poll_interval", "must be at least 1s")
	}
	if m.Timeout <= 0 {
		p.add("monitoring.timeout", "must be above 0")
	}
	if m.Concurrency < 1 || m.Concurrency > 64 {
		p.add("monitoring.concurrency", "must be from 1 to 64")
	}
	if m.DiscrepancyThreshold < 0 {
		p.add("monitoring.discrepancy_threshold", "must not be negative")
	}
	if m.MaxObservedPerPoll < 1 {
		p.add("monitoring.max_observed_per_poll", "must be at least 1")
	}
	if m.MaxObservedPerDay < m.MaxObservedPerPoll {
		p.add("monitoring.max_observed_per_day", "must be at least max_observed_per_poll")
	}
}

// startMonitor makes the printer monitor over the stack and the release
// service and, when monitoring is enabled, runs it until the returned
// stop is called.
func (st *stack) startMonitor(ctx context.Context, svc *release.Service) (*monitor.Monitor, func(), error) {
	c := st.cfg.Monitoring
	loc, _ := time.LoadLocation(st.cfg.Audit.TimeZone) // validated with the config
	rel := svc.Monitored()
	owners, err := st.owners()
	if err != nil {
		return nil, nil, err
	}
	key, err := st.monitorKey()
	if err != nil {
		return nil, nil, err
	}
	m, err := monitor.New(monitor.Options{DB: st.db, Audit: st.audit, Client: &ipp.Client{}, Releases: rel,
		Devices: st.monitoredPrinters(rel), PollInterval: c.PollInterval, Timeout: c.Timeout, Concurrency: c.Concurrency,
		Owners: func(ctx context.Context, seen string) (string, bool) {
			o, err := owners.Map(ctx, seen)
			return o.Name, err == nil && o.Known
		},
		Key: key, HideJobNames: c.HideJobNames, Threshold: c.DiscrepancyThreshold,
		MaxObservedPerPoll: c.MaxObservedPerPoll, MaxObservedPerDay: c.MaxObservedPerDay, Location: loc, Now: st.now, Log: st.log})
	if err != nil {
		return nil, nil, err
	}
	if !c.Enabled {
		return m, func() {}, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	return m, func() { cancel(); <-done }, nil
}

// monitoredPrinters returns the printers the monitor follows besides
// those added with printgate printer add: every enabled device's, and
// every direct queue's IPP printer (as "queue-NAME").
func (st *stack) monitoredPrinters(rel *release.Monitored) func(context.Context) (map[string]string, error) {
	return func(ctx context.Context) (map[string]string, error) {
		out, err := rel.DevicePrinters(ctx)
		if err != nil {
			return nil, err
		}
		for _, q := range st.cfg.queues {
			scheme, _, _ := strings.Cut(q.Printer, "://")
			if q.Mode == release.Direct && (scheme == "ipp" || scheme == "ipps") {
				if _, taken := out["queue-"+q.Name]; !taken {
					out["queue-"+q.Name] = q.Printer
				}
			}
		}
		return out, nil
	}
}

// monitorRegistry is the registry of monitored printers, sealing SNMP
// communities under the credentials key.
func (st *stack) monitorRegistry() (*monitor.Registry, error) {
	key, err := st.monitorKey()
	if err != nil {
		return nil, err
	}
	return monitor.NewRegistry(st.db, key, st.now), nil
}

// monitorKey is the key SNMP communities are sealed under: the
// credentials key, which openStack has made when it was missing.
func (st *stack) monitorKey() ([]byte, error) {
	return secret.LoadOrCreateKeyFile(st.cfg.credentialKeyFile(), credential.MinKeyLength)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"

	"github.com/printgate/printgate/health"
	"github.com/printgate/printgate/joblog"
	"github.com/printgate/printgate/metrics"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/throttle"
	"github.com/printgate/printgate/web"
)

// ops is what serve offers operators: Prometheus metrics, the job log and
// the health probes.
type ops struct {
	cfg     Config
	metrics *metrics.Metrics
	// jobLog is nil with log.job_log off; jobFile is its file, if it has
	// one of its own.
	jobLog  *joblog.Log
	jobFile *os.File
	health  *health.Checker
}

// newOps makes the metrics and the job log, which the release service
// reports to (observer); watch then points them at the service.
func (a *app) newOps(cfg Config, st *stack, log *slog.Logger) (*ops, error) {
	names := make([]string, len(cfg.queues))
	for i, q := range cfg.queues {
		names[i] = q.Name
	}
	o := &ops{cfg: cfg, metrics: metrics.New(metrics.Options{Queues: names, Log: log})}
	if !cfg.Log.JobLog {
		return o, nil
	}
	opts := joblog.Options{JSON: cfg.Log.Format == "json", Location: logZone(cfg), KeyedName: st.audit.KeyedName}
	w := a.stderr
	if path := cfg.Log.JobLogFile; path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("log.job_log_file: %w", err)
		}
		o.jobFile, w = f, f
	} else {
		// In the server log, job lines are info lines like any other.
		var level slog.Level
		_ = level.UnmarshalText([]byte(cfg.Log.Level))
		opts.Level = level
	}
	o.jobLog = joblog.New(w, opts)
	return o, nil
}

// observer is what the release service reports to.
func (o *ops) observer() release.Observer {
	if o.jobLog == nil {
		return o.metrics
	}
	return release.Observers{o.metrics, o.jobLog}
}

// watch points the metrics' gauges and the readiness checks at svc and
// the stack's database.
func (o *ops) watch(st *stack, svc *release.Service, log *slog.Logger) {
	o.metrics.Watch(svc)
	o.health = health.New(health.Options{Log: log},
		health.Check{Name: "database", Reason: "database unreachable", Run: func(ctx context.Context) error {
			sqlDB, err := st.db.DB.DB()
			if err != nil {
				return err
			}
			return sqlDB.PingContext(ctx)
		}},
		health.Check{Name: "spool", Reason: "spool not writable", Run: func(context.Context) error {
			return svc.CheckSpool()
		}},
		health.Check{Name: "disk", Reason: "no room for new documents under the spool quota", Run: func(context.Context) error {
			return svc.CheckRoom()
		}},
	)
}

// webOptions hands the probes and, unless server.metrics_listen serves
// them apart, the metrics to the main listeners' engine; the console's
// refused passwords are counted.
func (o *ops) webOptions(opts *web.Options) {
	opts.Live, opts.Ready = o.liveReady()
	if o.cfg.Server.MetricsListen == "" {
		opts.Metrics, opts.MetricsNetworks = o.metrics.Handler(), o.cfg.metricsNetworks
	}
	if opts.Passwords != nil {
		opts.Passwords = countedPasswords{Passwords: opts.Passwords, failed: o.metrics.SignInFailed}
	}
}

// opsOptions are the options of server.metrics_listen's engine.
func (o *ops) opsOptions(log *slog.Logger) web.Options {
	opts := web.Options{Metrics: o.metrics.Handler(), MetricsNetworks: o.cfg.metricsNetworks, Log: log}
	opts.Live, opts.Ready = o.liveReady()
	return opts
}

func (o *ops) liveReady() (live, ready http.Handler) {
	return http.HandlerFunc(o.health.ServeLive), http.HandlerFunc(o.health.ServeReady)
}

// Close writes the job log's queued lines and closes its own file. Call
// it after the service has closed: no move comes afterwards.
func (o *ops) Close() error {
	if o.jobLog != nil {
		o.jobLog.Close()
	}
	if o.jobFile == nil {
		return nil
	}
	return o.jobFile.Close()
}

// countedPasswords counts the refused passwords of the console (sign-in,
// password change) in printgate_auth_failures_total; IPP's and
// self-enrolment's are counted by the release service.
type countedPasswords struct {
	web.Passwords
	failed func(method string)
}

func (p countedPasswords) Authenticate(ctx context.Context, name, password string, addr netip.Addr, where string) (directory.Identity, error) {
	id, err := p.Passwords.Authenticate(ctx, name, password, addr, where)
	if errors.Is(err, directory.ErrInvalidCredentials) || errors.Is(err, throttle.ErrThrottled) {
		p.failed(where)
	}
	return id, err
}

// Package health answers the probes of load balancers and supervisors:
// /healthz says the process is alive and serving HTTP, /readyz that it
// can take jobs now (its checks pass: the database answers, the spool
// takes files, the disk has room). Each answers 200 or 503 with a JSON
// body that says why.
//
// The body names each failed check with a fixed reason, never the error
// behind it (which may name hosts or paths): the error goes to the log,
// once when the check starts failing and once when it passes again.
package health

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// A Check is one condition of readiness.
type Check struct {
	// Name keys the check in the answer ("database").
	Name string
	// Reason is what the answer says when the check fails ("database
	// unreachable").
	Reason string
	// Run returns nil when the condition holds. It must return when ctx
	// ends.
	Run func(ctx context.Context) error
}

// Options configure a Checker.
type Options struct {
	// Timeout bounds each check; default 2s. A check still running then
	// has failed.
	Timeout time.Duration
	// Fresh is how long one round of checks answers every probe; default
	// 1s, so that probes from many balancers cost one round.
	Fresh time.Duration
	// Now is the clock of Fresh; default time.Now.
	Now func() time.Time
	// Log receives the errors of failing checks; nil discards them.
	Log *slog.Logger
}

// Checker runs the checks and serves the probes.
type Checker struct {
	checks  []Check
	timeout time.Duration
	fresh   time.Duration
	now     func() time.Time
	log     *slog.Logger

	// mu guards the last round, and makes concurrent probes wait for
	// one round instead of each running its own.
	mu     sync.Mutex
	at     time.Time
	last   Status
	failed map[string]bool
}

// New returns a Checker of checks.
func New(opts Options, checks ...Check) *Checker {
	c := &Checker{checks: checks, timeout: cmp.Or(opts.Timeout, 2*time.Second), fresh: cmp.Or(opts.Fresh, time.Second),
		now: opts.Now, log: opts.Log, failed: map[string]bool{}}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Status is the answer of a probe.
type Status struct {
	// Status is "alive", "ready" or "not ready".
	Status string `json:"status"`
	// Reason says, when not ready, what fails: the failed checks'
	// reasons, joined.
	Reason string `json:"reason,omitempty"`
	// Checks maps each check's name to "ok" or its reason.
	Checks map[string]string `json:"checks,omitempty"`
}

// Ready reports whether every check passes, running them unless a round
// is fresh.
func (c *Checker) Ready(ctx context.Context) Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); c.last.Status != "" && now.Sub(c.at) < c.fresh && !now.Before(c.at) {
		return c.last
	}
	// One prober hanging up must not fail the round the others share.
	errs := c.run(context.WithoutCancel(ctx))
	st := Status{Status: "ready", Checks: make(map[string]string, len(c.checks))}
	for i, ch := range c.checks {
		err := errs[i]
		if err == nil {
			st.Checks[ch.Name] = "ok"
			if c.failed[ch.Name] {
				c.log.Info("health: check passes again", "check", ch.Name)
			}
			c.failed[ch.Name] = false
			continue
		}
		st.Status, st.Checks[ch.Name] = "not ready", ch.Reason
		if st.Reason != "" {
			st.Reason += "; "
		}
		st.Reason += ch.Reason
		if !c.failed[ch.Name] {
			c.log.Warn("health: check fails: not ready", "check", ch.Name, "err", err)
		}
		c.failed[ch.Name] = true
	}
	c.at, c.last = c.now(), st
	return st
}

// run runs every check at once, each within the timeout.
func (c *Checker) run(ctx context.Context) []error {
	errs := make([]error, len(c.checks))
	var wg sync.WaitGroup
	for i, ch := range c.checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, c.timeout)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- ch.Run(ctx) }()
			select {
			case errs[i] = <-done:
			case <-ctx.Done():
				errs[i] = ctx.Err()
			}
		})
	}
	wg.Wait()
	return errs
}

// ServeLive answers /healthz: the process is alive and serves HTTP.
func (c *Checker) ServeLive(w http.ResponseWriter, r *http.Request) {
	write(w, http.StatusOK, Status{Status: "alive"})
}

// ServeReady answers /readyz: 200 when every check passes, else 503.
func (c *Checker) ServeReady(w http.ResponseWriter, r *http.Request) {
	st := c.Ready(r.Context())
	code := http.StatusOK
	if st.Status != "ready" {
		code = http.StatusServiceUnavailable
	}
	write(w, code, st)
}

func write(w http.ResponseWriter, code int, st Status) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(st)
}

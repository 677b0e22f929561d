package printerinfo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/printgate/printgate/ipp"
)

// Defaults of Options.
const (
	DefaultFresh   = 5 * time.Second
	DefaultTimeout = 3 * time.Second
	DefaultRefresh = time.Minute
)

// Options configure a Cache.
type Options struct {
	// Client asks IPP printers; nil means a default ipp.Client.
	Client *ipp.Client
	// Fresh is how old a status may be and still be used without asking
	// the printer again (default DefaultFresh): a burst of releases at
	// one printer asks it once.
	Fresh time.Duration
	// Timeout bounds one check (default DefaultTimeout). A printer that
	// does not answer in time is unreachable, unless it answered the
	// last refresh: then that answer stands until the next.
	Timeout time.Duration
	// Refresh is how often Run asks every printer again, capabilities
	// included (default DefaultRefresh); a check fetches capabilities
	// too once they are twice as old.
	Refresh time.Duration
	// Now is the clock of every decision on age (default time.Now).
	Now func() time.Time
	Log *slog.Logger
}

// Cache keeps what printers said about themselves. It is safe for
// concurrent use.
type Cache struct {
	client                  *ipp.Client
	fresh, timeout, refresh time.Duration
	now                     func() time.Time
	log                     *slog.Logger

	mu       sync.Mutex
	printers map[string]*entry
}

// entry is one printer's cached Info.
type entry struct {
	info Info
	// used is when a release last looked the printer up; Run forgets
	// printers no device names that nobody used for a while.
	used time.Time
	// fetching is closed when the fetch under way ends; nil when none
	// is.
	fetching chan struct{}
}

// New returns an empty Cache.
func New(opts Options) *Cache {
	c := &Cache{
		client:   opts.Client,
		fresh:    cmp.Or(opts.Fresh, DefaultFresh),
		timeout:  cmp.Or(opts.Timeout, DefaultTimeout),
		refresh:  cmp.Or(opts.Refresh, DefaultRefresh),
		now:      opts.Now,
		log:      opts.Log,
		printers: make(map[string]*entry),
	}
	if c.client == nil {
		c.client = &ipp.Client{}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Check returns what is known of the printer at uri, asking it first
// unless its status is fresh. Callers at once share one question.
func (c *Cache) Check(ctx context.Context, uri string) Info {
	return c.get(ctx, uri, false)
}

// Cached returns what is known of the printer at uri without asking it;
// false if it was never asked.
func (c *Cache) Cached(uri string) (Info, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.printers[uri]
	if !ok || e.info.Checked.IsZero() {
		return Info{URI: uri}, false
	}
	return e.info, true
}

// get returns the printer's Info, asking it when the status is older than
// Fresh, or always when force is set.
func (c *Cache) get(ctx context.Context, uri string, force bool) Info {
	now := c.now()
	c.mu.Lock()
	e, ok := c.printers[uri]
	if !ok {
		e = &entry{info: Info{URI: uri}}
		c.printers[uri] = e
	}
	if !force {
		e.used = now
	}
	if !force && !e.info.Checked.IsZero() && now.Sub(e.info.Checked) < c.fresh {
		info := e.info
		c.mu.Unlock()
		return info
	}
	if ch := e.fetching; ch != nil {
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return e.info
	}
	ch := make(chan struct{})
	e.fetching = ch
	prev := e.info
	c.mu.Unlock()

	full := force || prev.CapsFetched.IsZero() || now.Sub(prev.CapsFetched) >= 2*c.refresh
	// The fetch outlives a caller that gives up (it is bounded by
	// c.timeout anyway): others may be waiting for its answer, and an
	// answer cut short would read as an unreachable printer to them.
	info, keep := c.fetch(context.WithoutCancel(ctx), prev, full)

	c.mu.Lock()
	defer c.mu.Unlock()
	if keep {
		e.info = info
	}
	e.fetching = nil
	close(ch)
	return info
}

// fetch asks the printer for its state, and its capabilities too when
// full. keep says the answer is worth caching: not when the caller gave
// up before the printer could answer.
func (c *Cache) fetch(parent context.Context, prev Info, full bool) (info Info, keep bool) {
	ctx, cancel := context.WithTimeout(parent, c.timeout)
	defer cancel()
	info = prev
	info.Checked = c.now()
	if addr, ok := socketAddr(prev.URI); ok {
		info.Status = probe(ctx, addr)
		if info.Reachable {
			info.Seen = info.Checked
		}
		return info, parent.Err() == nil
	}
	names := stateAttributes
	if full {
		names = append(append([]string(nil), stateAttributes...), capabilityAttributes...)
	}
	attrs, err := c.client.PrinterAttributes(ctx, prev.URI, names...)
	var refused *ipp.StatusError
	switch {
	case parent.Err() != nil:
		return prev, false
	case errors.As(err, &refused):
		// It answers, but not this question; the print will tell.
		info.Status = Status{Reachable: true, Accepting: true, Err: err}
	case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && prev.Reachable &&
		info.Checked.Sub(prev.Seen) < c.refresh:
		// Slow rather than gone: the last answer stands until the next
		// refresh, or a printer busy with a big job could not be used.
		c.log.Warn("printerinfo: printer slow to answer; its last state stands", "printer", prev.URI, "err", err)
		return info, true
	case err != nil:
		info.Status = Status{Err: err}
	default:
		info.Status = parseStatus(attrs)
		if full {
			info.Caps, info.CapsFetched = parseCapabilities(attrs), info.Checked
		}
	}
	if info.Reachable {
		info.Seen = info.Checked
	}
	if prev.Reachable != info.Reachable || prev.Checked.IsZero() && !info.Reachable {
		c.log.Info("printerinfo: printer reachability", "printer", prev.URI, "reachable", info.Reachable, "err", info.Status.Err)
	}
	return info, true
}

// probe is all that can be asked of an AppSocket printer: whether it
// takes a connection. Nothing is written, so nothing prints.
func probe(ctx context.Context, addr string) Status {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return Status{Err: fmt.Errorf("printerinfo: connect to %s: %w", addr, err)}
	}
	conn.Close()
	return Status{Reachable: true, Accepting: true}
}

// Socket reports whether uri names an AppSocket printer, which takes a
// document and nothing else: no options, no questions.
func Socket(uri string) bool {
	_, ok := socketAddr(uri)
	return ok
}

// socketAddr returns host:port of a socket:// URI (port 9100 by default).
func socketAddr(uri string) (string, bool) {
	u, err := url.Parse(uri)
	if err != nil || !strings.EqualFold(u.Scheme, "socket") || u.Hostname() == "" {
		return "", false
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "9100"), true
	}
	return u.Host, true
}

// Run asks every printer that targets names, capabilities included, at
// once and then every Refresh, until ctx ends. It forgets printers that
// targets no longer names and no release used for two Refresh periods.
func (c *Cache) Run(ctx context.Context, targets func(context.Context) ([]string, error)) {
	t := time.NewTicker(c.refresh)
	defer t.Stop()
	for {
		uris, err := targets(ctx)
		if err != nil {
			c.log.Warn("printerinfo: list printers", "err", err)
		} else {
			c.RefreshAll(ctx, uris)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RefreshAll asks each printer in uris for its state and capabilities,
// a few at a time, and forgets printers not in uris that no release used
// for two Refresh periods.
func (c *Cache) RefreshAll(ctx context.Context, uris []string) {
	const parallel = 4
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, uri := range uris {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c.get(ctx, uri, true)
		})
	}
	wg.Wait()
	want := make(map[string]bool, len(uris))
	for _, u := range uris {
		want[u] = true
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for uri, e := range c.printers {
		if !want[uri] && e.fetching == nil && now.Sub(e.used) >= 2*c.refresh {
			delete(c.printers, uri)
		}
	}
}

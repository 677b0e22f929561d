// Package dnssd advertises printgate's queues by DNS-SD (RFC 6763) over
// multicast DNS, through the system's Avahi daemon over D-Bus as CUPS
// does on Linux, so that the "Add printer" dialogs of macOS, iOS,
// Windows and Linux list them: each queue as _ipp._tcp (and _ipps._tcp
// on a TLS listener) with the _print and _universal subtypes and the TXT
// keys of PWG 5100.14. Every TXT value is read from the queue's own
// Get-Printer-Attributes answer (ipp.Server.Describe).
package dnssd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/printgate/printgate/ipp"
)

// Describer describes a queue as a client reaching it at scheme and
// host:port would read it.
type Describer interface {
	Describe(ctx context.Context, queue, scheme, host string) (ipp.Description, error)
}

var _ Describer = (*ipp.Server)(nil)

// Listener is an address printgate serves IPP on.
type Listener struct {
	// Addr is where it listens.
	Addr *net.TCPAddr
	// TLSVersion is, for an IPPS listener, the lowest TLS version it
	// accepts ("1.2"), the value of the TLS key; empty for plain IPP.
	TLSVersion string
}

// Queue is a queue to advertise.
type Queue struct {
	// Name is the queue's name.
	Name string
	// TLSOnly keeps the queue off plain listeners: one that takes
	// passwords only over TLS refuses every plain request, so a client
	// that found it as _ipp._tcp could not use it.
	TLSOnly bool
}

// Options configure an Advertiser.
type Options struct {
	// Bus is the D-Bus system bus address; empty for the system's.
	Bus string
	// Required makes Start fail when no Avahi daemon answers
	// (server.dnssd: on); otherwise its absence is logged and nothing is
	// advertised, and a daemon that starts later is used.
	Required bool
	// Queues are the queues to advertise.
	Queues []Queue
	// Listeners are where printgate serves; one plain and one TLS
	// listener are advertised at most (see choose).
	Listeners []Listener
	// Describer gives the values the TXT records carry.
	Describer Describer
	// Log receives what happens; nil discards it.
	Log *slog.Logger
	// Refresh is how often the TXT records are computed again, since a
	// hold queue's capabilities follow its printers'; default one minute.
	Refresh time.Duration
}

// Advertiser keeps the queues advertised until Close.
type Advertiser struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Start advertises the queues of o and keeps them advertised (through
// name collisions, Avahi restarts and changed capabilities) until Close.
// Without a reachable bus it advertises nothing and returns a working
// Advertiser, unless o.Required.
func Start(ctx context.Context, o Options) (*Advertiser, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Refresh <= 0 {
		o.Refresh = time.Minute
	}
	eps := choose(o.Listeners)
	a := &Advertiser{done: make(chan struct{})}
	if len(eps) == 0 || len(o.Queues) == 0 {
		close(a.done)
		return a, nil
	}
	// The connection lives until the queues are withdrawn, not until ctx
	// ends: godbus closes a connection when the context it was made with
	// ends.
	connCtx, closeConn := context.WithCancel(context.WithoutCancel(ctx))
	av, up, err := dial(connCtx, o)
	if err != nil {
		closeConn()
		return nil, err
	}
	if av == nil {
		closeConn()
		close(a.done)
		return a, nil
	}
	r := &run{o: o, av: av, eps: eps, sigs: make(chan *dbus.Signal, 64)}
	av.conn.Signal(r.sigs)
	hasTLS := slices.ContainsFunc(eps, func(ep endpoint) bool { return ep.tls != "" })
	for _, q := range o.Queues {
		if q.TLSOnly && !hasTLS {
			o.Log.Warn("dnssd: queue not advertised: it takes passwords only over TLS, and no TLS listener is configured",
				"queue", q.Name)
		}
		r.entries = append(r.entries, &entry{queue: q.Name, tlsOnly: q.TLSOnly})
	}
	if up {
		r.publishAll(ctx)
	}
	runCtx, stop := context.WithCancel(connCtx)
	a.cancel = stop
	go func() {
		defer close(a.done)
		defer closeConn()
		r.loop(runCtx)
	}()
	return a, nil
}

// dial connects to the bus and asks whether Avahi runs (up). Without a
// bus, or with a bus but no Avahi when o.Required, it fails; otherwise
// it says so in the log and returns no connection (no bus) or one to
// watch for Avahi's start.
func dial(ctx context.Context, o Options) (av *avahi, up bool, err error) {
	av, err = dialAvahi(ctx, o.Bus)
	if err == nil {
		if _, err = av.state(ctx); err == nil {
			return av, true, nil
		}
		if !o.Required && errors.Is(err, errNoAvahi) {
			o.Log.Info("dnssd: no Avahi daemon yet; the queues are advertised once it starts")
			return av, false, nil
		}
		av.Close()
	}
	if o.Required {
		return nil, false, fmt.Errorf("dnssd: %w", err)
	}
	o.Log.Info("dnssd: queues not advertised: Avahi cannot be reached on the D-Bus system bus", "err", err)
	return nil, false, nil
}

// Close withdraws every advertised queue (Avahi sends goodbye packets, so
// browsers drop them at once) and waits until it is done.
func (a *Advertiser) Close() error {
	if a.cancel != nil {
		a.cancel()
	}
	<-a.done
	return nil
}

// endpoint is a listener as advertised.
type endpoint struct {
	iface  int32
	port   uint16
	typ    string // TypeIPP or TypeIPPS
	scheme string // ipp or ipps
	tls    string
}

// choose returns the endpoints to advertise: the plain and the TLS
// listener that reach furthest (a wildcard address, on every interface;
// else an address of one interface, on it; else loopback, on the
// loopback interface only, for a server nobody else can reach). One
// instance name with two ports on one interface would be a collision.
func choose(ls []Listener) []endpoint {
	var out []endpoint
	for _, tls := range []bool{false, true} {
		best, bestReach := -1, -1
		for i, l := range ls {
			if (l.TLSVersion != "") != tls || l.Addr == nil {
				continue
			}
			if r := reach(l.Addr.IP); r > bestReach {
				best, bestReach = i, r
			}
		}
		if best < 0 {
			continue
		}
		l := ls[best]
		ep := endpoint{iface: ifaceOf(l.Addr.IP), port: uint16(l.Addr.Port), typ: TypeIPP, scheme: "ipp"}
		if tls {
			ep.typ, ep.scheme, ep.tls = TypeIPPS, "ipps", l.TLSVersion
		}
		out = append(out, ep)
	}
	return out
}

// reach ranks an address by how far it can be reached.
func reach(ip net.IP) int {
	switch {
	case ip == nil || ip.IsUnspecified():
		return 2
	case ip.IsLoopback():
		return 0
	}
	return 1
}

// ifaceOf is the Avahi interface index to announce ip on: every
// interface for a wildcard address, else the one that has ip (for
// loopback, the loopback interface).
func ifaceOf(ip net.IP) int32 {
	if ip == nil || ip.IsUnspecified() {
		return ifaceUnspec
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return ifaceUnspec
	}
	for _, ifc := range ifs {
		if ip.IsLoopback() && ifc.Flags&net.FlagLoopback != 0 {
			return int32(ifc.Index)
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
				return int32(ifc.Index)
			}
		}
	}
	return ifaceUnspec
}

// hostPort joins the daemon's host name and a port for URLs.
func hostPort(fqdn string, port uint16) string {
	return net.JoinHostPort(strings.TrimSuffix(fqdn, "."), strconv.Itoa(int(port)))
}

// sameServices reports whether a and b announce the same.
func sameServices(a, b []service) bool {
	return slices.EqualFunc(a, b, func(x, y service) bool {
		return x.iface == y.iface && x.name == y.name && x.typ == y.typ && x.port == y.port && slices.Equal(x.txt, y.txt)
	})
}

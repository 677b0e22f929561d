package dnssd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// run is the state of an Advertiser's loop, owned by its goroutine.
type run struct {
	o       Options
	av      *avahi
	eps     []endpoint
	entries []*entry
	// sigs receives Avahi's signals from before the first registration
	// on, so that no collision of it is missed.
	sigs chan *dbus.Signal
}

// entry is one queue's entry group: the queue's services on every
// endpoint under one instance name.
type entry struct {
	queue   string
	tlsOnly bool
	// name is the instance name; it changes after a collision.
	name string
	// group is Avahi's object, "" while nothing is registered.
	group    dbus.ObjectPath
	services []service
}

// loop follows Avahi's signals and refreshes the TXT records until ctx
// ends, then withdraws everything.
func (r *run) loop(ctx context.Context) {
	defer r.withdraw()
	tick := time.NewTicker(r.o.Refresh)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case s, ok := <-r.sigs:
			if !ok {
				r.o.Log.Warn("dnssd: the D-Bus connection closed; queues no longer advertised")
				return
			}
			r.signal(ctx, s)
		case <-tick.C:
			r.publishAll(ctx)
		}
	}
}

// signal handles one of the signals dialAvahi subscribed to.
func (r *run) signal(ctx context.Context, s *dbus.Signal) {
	switch s.Name {
	case dbusName + ".NameOwnerChanged":
		// A new Avahi daemon knows none of the old one's groups.
		for _, e := range r.entries {
			e.group, e.services = "", nil
		}
		if len(s.Body) == 3 && s.Body[2] != "" {
			r.o.Log.Info("dnssd: Avahi (re)started; advertising the queues")
			r.publishAll(ctx)
		}
	case avahiServer + ".StateChanged":
		state, _ := first[int32](s.Body)
		if state == serverRunning {
			r.publishAll(ctx)
			return
		}
		// The host name is being registered or collided: Avahi asks
		// clients to reset their groups and add them again once it runs.
		for _, e := range r.entries {
			r.reset(ctx, e)
		}
	case avahiEntryGroup + ".StateChanged":
		state, _ := first[int32](s.Body)
		for _, e := range r.entries {
			if e.group == s.Path {
				r.groupState(ctx, e, state, s.Body)
			}
		}
	}
}

// groupState handles a change of e's group's state.
func (r *run) groupState(ctx context.Context, e *entry, state int32, body []any) {
	switch state {
	case groupEstablished:
		r.o.Log.Info("dnssd: queue advertised", "queue", e.queue, "name", e.name)
	case groupCollision:
		alt, err := r.av.alternativeName(ctx, e.name)
		if err != nil {
			r.o.Log.Warn("dnssd: service name taken, no other one found", "queue", e.queue, "err", err)
			return
		}
		r.o.Log.Info("dnssd: service name taken on the network; trying another", "queue", e.queue,
			"taken", e.name, "name", alt)
		e.name = alt
		r.reset(ctx, e)
		r.publish(ctx, e)
	case groupFailure:
		var msg string
		if len(body) > 1 {
			msg, _ = body[1].(string)
		}
		r.o.Log.Warn("dnssd: Avahi could not advertise the queue", "queue", e.queue, "err", msg)
	}
}

// publishAll registers the queues not registered yet and updates the TXT
// records of the others where their queue's description changed.
func (r *run) publishAll(ctx context.Context) {
	if s, err := r.av.state(ctx); err != nil || s != serverRunning {
		return // published on Avahi's StateChanged or NameOwnerChanged
	}
	for _, e := range r.entries {
		r.publish(ctx, e)
	}
}

// publish registers e, or updates its TXT records.
func (r *run) publish(ctx context.Context, e *entry) {
	log := r.o.Log.With("queue", e.queue)
	fqdn, err := r.av.hostFQDN(ctx)
	if err != nil {
		log.Warn("dnssd: Avahi's host name", "err", err)
		return
	}
	svcs, err := r.services(ctx, e, fqdn)
	if err != nil {
		log.Warn("dnssd: queue not advertised", "err", err)
		return
	}
	if len(svcs) == 0 {
		return // a TLS-only queue without a TLS listener: told at Start
	}
	if e.group != "" && len(e.services) > 0 {
		if !sameServices(svcs, e.services) {
			r.updateTXT(ctx, e, svcs, log)
		}
		return
	}
	if e.group == "" {
		if e.group, err = r.av.newGroup(ctx); err != nil {
			log.Warn("dnssd: new Avahi entry group", "err", err)
			return
		}
	}
	if err := r.register(ctx, e, svcs); err != nil {
		log.Warn("dnssd: queue not advertised", "name", e.name, "err", err)
		r.reset(ctx, e)
		return
	}
	e.services = svcs
	log.Debug("dnssd: registering", "name", e.name, "services", len(svcs))
}

// maxRenames bounds the names tried for one queue whose name other
// services of this host hold.
const maxRenames = 20

// register adds svcs to e's empty group and commits it. A name another
// service of this host holds is replaced with Avahi's alternative, as
// a collision with another host is (groupState).
func (r *run) register(ctx context.Context, e *entry, svcs []service) error {
	for range maxRenames {
		err := r.addAll(ctx, e.group, svcs)
		if err == nil {
			return r.av.groupCall(ctx, e.group, "Commit")
		}
		if !errors.Is(err, errCollision) {
			return err
		}
		alt, err := r.av.alternativeName(ctx, e.name)
		if err != nil {
			return err
		}
		r.o.Log.Info("dnssd: service name taken on this host; trying another", "queue", e.queue, "taken", e.name, "name", alt)
		e.name = alt
		for i := range svcs {
			svcs[i].name = alt
		}
		if err := r.av.groupCall(ctx, e.group, "Reset"); err != nil {
			return err
		}
	}
	return fmt.Errorf("%d names tried: %w", maxRenames, errCollision)
}

// addAll adds svcs to group.
func (r *run) addAll(ctx context.Context, group dbus.ObjectPath, svcs []service) error {
	for _, s := range svcs {
		if err := r.av.addService(ctx, group, s); err != nil {
			return err
		}
	}
	return nil
}

// services returns what e announces: on each endpoint, the queue
// described as a client there reads it.
func (r *run) services(ctx context.Context, e *entry, fqdn string) ([]service, error) {
	var out []service
	for _, ep := range r.eps {
		if e.tlsOnly && ep.tls == "" {
			continue
		}
		d, err := r.o.Describer.Describe(ctx, e.queue, ep.scheme, hostPort(fqdn, ep.port))
		if err != nil {
			return nil, err
		}
		if e.name == "" {
			host, _, _ := strings.Cut(fqdn, ".")
			e.name = InstanceName(d, host)
		}
		out = append(out, service{iface: ep.iface, name: e.name, typ: ep.typ, port: ep.port, txt: TXT(d, ep.tls)})
	}
	return out, nil
}

// updateTXT replaces e's TXT records with those of svcs; where that
// fails, e is registered anew.
func (r *run) updateTXT(ctx context.Context, e *entry, svcs []service, log *slog.Logger) {
	for _, s := range svcs {
		if err := r.av.updateTXT(ctx, e.group, s); err != nil {
			log.Warn("dnssd: TXT record not updated; registering again", "err", err)
			r.reset(ctx, e)
			r.publish(ctx, e)
			return
		}
	}
	e.services = svcs
	log.Info("dnssd: queue's TXT record updated", "name", e.name)
}

// reset empties e's group, which stays for the next registration.
func (r *run) reset(ctx context.Context, e *entry) {
	if e.group != "" {
		if err := r.av.groupCall(ctx, e.group, "Reset"); err != nil {
			e.group = "" // gone with its daemon, or unusable: make another
		}
	}
	e.services = nil
}

// withdraw frees every group, which withdraws its services, and closes
// the connection.
func (r *run) withdraw() {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	for _, e := range r.entries {
		if e.group != "" {
			if err := r.av.groupCall(ctx, e.group, "Free"); err != nil {
				r.o.Log.Warn("dnssd: queue not withdrawn; it goes when the connection closes", "queue", e.queue, "err", err)
			}
		}
	}
	r.av.Close()
	r.o.Log.Info("dnssd: queues withdrawn")
}

// first returns the first value of a signal's body as a T.
func first[T any](body []any) (T, bool) {
	var zero T
	if len(body) == 0 {
		return zero, false
	}
	v, ok := body[0].(T)
	return v, ok
}

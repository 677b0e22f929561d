package dnssd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"
)

// Avahi's D-Bus names (avahi-daemon's org.freedesktop.Avahi.*.xml).
const (
	avahiName       = "org.freedesktop.Avahi"
	avahiServer     = avahiName + ".Server"
	avahiEntryGroup = avahiName + ".EntryGroup"
	dbusName        = "org.freedesktop.DBus"
)

// Avahi's enumerations (avahi-common/defs.h).
const (
	ifaceUnspec = int32(-1)
	protoUnspec = int32(-1)

	serverRunning = int32(2)

	groupEstablished = int32(2)
	groupCollision   = int32(3)
	groupFailure     = int32(4)
)

// callTimeout bounds each call to Avahi: a daemon that hangs must not
// hold printgate's start or shutdown.
const callTimeout = 5 * time.Second

// errNoAvahi says no Avahi daemon answers on the bus.
var errNoAvahi = errors.New("no Avahi daemon on the D-Bus system bus")

// errCollision says a service of this host already has the name.
var errCollision = errors.New("name taken by another service of this host")

// avahi is a connection to the Avahi daemon.
type avahi struct {
	conn *dbus.Conn
}

// dialAvahi connects to the D-Bus system bus at address ("" for the
// system's, $DBUS_SYSTEM_BUS_ADDRESS or its standard socket) and
// subscribes to the signals the advertiser follows.
func dialAvahi(ctx context.Context, address string) (*avahi, error) {
	var (
		conn *dbus.Conn
		err  error
	)
	if address == "" {
		conn, err = dbus.ConnectSystemBus(dbus.WithContext(ctx))
	} else {
		conn, err = dbus.Connect(address, dbus.WithContext(ctx))
	}
	if err != nil {
		return nil, fmt.Errorf("connect to the D-Bus system bus: %w", err)
	}
	a := &avahi{conn: conn}
	for _, m := range [][]dbus.MatchOption{
		{dbus.WithMatchInterface(avahiEntryGroup), dbus.WithMatchMember("StateChanged")},
		{dbus.WithMatchInterface(avahiServer), dbus.WithMatchMember("StateChanged")},
		{dbus.WithMatchSender(dbusName), dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, avahiName)},
	} {
		if err := conn.AddMatchSignalContext(ctx, m...); err != nil {
			conn.Close()
			return nil, fmt.Errorf("subscribe to Avahi's signals: %w", err)
		}
	}
	return a, nil
}

// call calls method on the object at path and stores the reply in out.
func (a *avahi) call(ctx context.Context, path dbus.ObjectPath, method string, out []any, args ...any) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	c := a.conn.Object(avahiName, path).CallWithContext(ctx, method, 0, args...)
	if c.Err != nil {
		var e dbus.Error
		if errors.As(c.Err, &e) {
			switch e.Name {
			case "org.freedesktop.DBus.Error.ServiceUnknown":
				return errNoAvahi
			case avahiName + ".CollisionError":
				return fmt.Errorf("avahi %s: %w", method, errCollision)
			}
		}
		return fmt.Errorf("avahi %s: %w", method, c.Err)
	}
	if len(out) > 0 {
		if err := c.Store(out...); err != nil {
			return fmt.Errorf("avahi %s: %w", method, err)
		}
	}
	return nil
}

// state returns the server's state (serverRunning once it has a host
// name), or errNoAvahi.
func (a *avahi) state(ctx context.Context) (int32, error) {
	var s int32
	err := a.call(ctx, "/", avahiServer+".GetState", []any{&s})
	return s, err
}

// hostFQDN returns the host name the daemon announces ("host.local").
func (a *avahi) hostFQDN(ctx context.Context) (string, error) {
	var h string
	err := a.call(ctx, "/", avahiServer+".GetHostNameFqdn", []any{&h})
	return h, err
}

// alternativeName returns the name Avahi proposes after name collided
// ("name #2").
func (a *avahi) alternativeName(ctx context.Context, name string) (string, error) {
	var alt string
	err := a.call(ctx, "/", avahiServer+".GetAlternativeServiceName", []any{&alt}, name)
	return alt, err
}

// newGroup makes an entry group, the unit Avahi registers and withdraws
// services by.
func (a *avahi) newGroup(ctx context.Context) (dbus.ObjectPath, error) {
	var p dbus.ObjectPath
	err := a.call(ctx, "/", avahiServer+".EntryGroupNew", []any{&p})
	return p, err
}

// service is one service of an entry group.
type service struct {
	iface int32
	name  string
	typ   string
	port  uint16
	txt   []string
}

// addService adds s with its subtypes to group.
func (a *avahi) addService(ctx context.Context, group dbus.ObjectPath, s service) error {
	err := a.call(ctx, group, avahiEntryGroup+".AddService", nil,
		s.iface, protoUnspec, uint32(0), s.name, s.typ, "", "", s.port, txtBytes(s.txt))
	if err != nil {
		return err
	}
	for _, sub := range subtypes(s.typ) {
		err := a.call(ctx, group, avahiEntryGroup+".AddServiceSubtype", nil,
			s.iface, protoUnspec, uint32(0), s.name, s.typ, "", sub)
		if err != nil {
			return err
		}
	}
	return nil
}

// updateTXT replaces the TXT record of s, registered in group.
func (a *avahi) updateTXT(ctx context.Context, group dbus.ObjectPath, s service) error {
	return a.call(ctx, group, avahiEntryGroup+".UpdateServiceTxt", nil,
		s.iface, protoUnspec, uint32(0), s.name, s.typ, "", txtBytes(s.txt))
}

// groupCall calls a method without arguments or reply on group: Commit,
// Reset or Free.
func (a *avahi) groupCall(ctx context.Context, group dbus.ObjectPath, method string) error {
	return a.call(ctx, group, avahiEntryGroup+"."+method, nil)
}

// txtBytes is the aay of Avahi's TXT arguments.
func txtBytes(txt []string) [][]byte {
	out := make([][]byte, len(txt))
	for i, s := range txt {
		out[i] = []byte(s)
	}
	return out
}

// Close ends the connection; Avahi then withdraws every group it had.
func (a *avahi) Close() error { return a.conn.Close() }

package main

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"strings"

	"github.com/printgate/printgate/dnssd"
	"github.com/printgate/printgate/release"
)

// advertise starts advertising cfg's queues on listeners by DNS-SD as
// server.dnssd says; the first len(cfg.Server.Listen) listeners are the
// plain ones, the rest TLS ones accepting tlsConf. The Advertiser's Close
// withdraws them.
func advertise(ctx context.Context, cfg Config, desc dnssd.Describer, listeners []net.Listener,
	tlsConf *tls.Config, log *slog.Logger) (*dnssd.Advertiser, error) {
	if cfg.Server.DNSSD == "off" {
		return dnssd.Start(ctx, dnssd.Options{})
	}
	var ls []dnssd.Listener
	for i, ln := range listeners {
		addr, ok := ln.Addr().(*net.TCPAddr)
		if !ok {
			continue
		}
		l := dnssd.Listener{Addr: addr}
		if i >= len(cfg.Server.Listen) && tlsConf != nil {
			// The TLS key's value is the lowest version served: "1.2".
			l.TLSVersion = strings.TrimPrefix(tls.VersionName(tlsConf.MinVersion), "TLS ")
		}
		ls = append(ls, l)
	}
	var queues []dnssd.Queue
	for _, q := range cfg.queues {
		queues = append(queues, dnssd.Queue{Name: q.Name, TLSOnly: q.Auth == release.AuthBasic && !q.AllowPlaintextBasic})
	}
	return dnssd.Start(ctx, dnssd.Options{
		Required:  cfg.Server.DNSSD == "on",
		Queues:    queues,
		Listeners: ls,
		Describer: desc,
		Log:       log,
	})
}

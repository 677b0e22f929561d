package main

import (
	"fmt"
	"net/netip"

	"github.com/printgate/printgate/release"
)

// loopbackNets are the addresses a proxy on this machine connects from
// (IPv4-mapped included: printgate unmaps them before it compares).
var loopbackNets = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("::ffff:127.0.0.0/104"),
}

// checkProxy refuses, with server.behind_tls_proxy, what trusts loopback.
// The proxy runs on this machine, so every client it forwards reaches
// printgate from loopback: a requesting-user-name queue that trusts
// loopback would take anyone's jobs in anyone's name, and /metrics on the
// main listeners, open to loopback, would answer anyone. It runs after
// checkQueues and checkMetrics, whose parsed networks it reads.
func (c *Config) checkProxy(p *problems) {
	if !c.Server.BehindTLSProxy {
		return
	}
	for i, q := range c.queues {
		if q.Auth == release.AuthBasic {
			continue // trusted_networks is not asked
		}
		for _, n := range q.TrustedNetworks {
			if !overlapsLoopback(n) {
				continue
			}
			which := fmt.Sprintf("%q includes", n)
			if c.Queues[i].TrustedNetworks == nil {
				which = fmt.Sprintf("unset, it is %v, which includes", defaultTrusted)
			}
			p.add(fmt.Sprintf("queues[%d].trusted_networks", i),
				"%s loopback: with server.behind_tls_proxy every client the proxy forwards comes from loopback, "+
					"so anyone who reaches the proxy could print in anyone's name: list only your print clients' networks, or use auth: basic", which)
			break
		}
	}
	if c.Server.MetricsListen != "" {
		return
	}
	for _, n := range c.metricsNetworks {
		if overlapsLoopback(n) {
			p.add("server.metrics_listen",
				"needed with server.behind_tls_proxy while server.metrics_networks (default loopback) includes loopback: "+
					"every client the proxy forwards comes from loopback and could read /metrics on the main listeners; "+
					"serve it on an address of its own that the proxy does not forward (or take loopback out of metrics_networks)")
			return
		}
	}
}

// overlapsLoopback reports whether n holds a loopback address.
func overlapsLoopback(n netip.Prefix) bool {
	for _, l := range loopbackNets {
		if n.Overlaps(l) {
			return true
		}
	}
	return false
}

package main

import (
	"fmt"
	"net"
	"net/netip"
)

// checkMetrics checks where metrics are served and to whom, and parses
// the networks once into c.metricsNetworks.
func (c *Config) checkMetrics(p *problems) {
	if a := c.Server.MetricsListen; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			p.add("server.metrics_listen", "%q is not host:port", a)
		}
	}
	nets := c.Server.MetricsNetworks
	if nets == nil {
		nets = defaultTrusted
	}
	c.metricsNetworks = nil
	for i, n := range nets {
		pfx, err := netip.ParsePrefix(n)
		if err != nil {
			p.add(fmt.Sprintf("server.metrics_networks[%d]", i), "%q is not a CIDR prefix", n)
			continue
		}
		c.metricsNetworks = append(c.metricsNetworks, pfx.Masked())
	}
}

package web

import (
	"net/http"
	"net/netip"

	"github.com/gin-gonic/gin"
)

// Operations' routes: /metrics for Prometheus, only to clients from
// Options.MetricsNetworks, and /healthz and /readyz for load balancers.

// NewOps returns an engine of the operations' routes alone, for a
// listener of their own (server.metrics_listen): Metrics, Live and Ready
// of opts, the rest unused.
func NewOps(opts Options) *gin.Engine {
	s := newServer(opts)
	return s.engineOf(s.opsRoutes())
}

// opsRoutes are the routes of the handlers Options gives.
func (s *server) opsRoutes() []route {
	var rs []route
	if s.opts.Metrics != nil {
		rs = append(rs, route{http.MethodGet, "/metrics", accessPublic, kindRaw,
			s.fromNetworks(s.opts.MetricsNetworks, gin.WrapH(s.opts.Metrics))})
	}
	if s.opts.Live != nil {
		rs = append(rs, route{http.MethodGet, "/healthz", accessPublic, kindRaw, gin.WrapH(s.opts.Live)})
	}
	if s.opts.Ready != nil {
		rs = append(rs, route{http.MethodGet, "/readyz", accessPublic, kindRaw, gin.WrapH(s.opts.Ready)})
	}
	return rs
}

// fromNetworks lets through only requests whose TCP peer is in one of
// nets; others get 403. The peer, not a forwarded-for header, which anyone
// can write.
func (s *server) fromNetworks(nets []netip.Prefix, h gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		addr, err := netip.ParseAddr(clientIP(c.Request))
		if err == nil && inNetworks(nets, addr.Unmap()) {
			h(c)
			return
		}
		s.log.Info("web: metrics refused to an untrusted address", "remote", clientIP(c.Request))
		c.Data(http.StatusForbidden, "text/plain; charset=utf-8",
			[]byte("403 forbidden: metrics are served to the networks in server.metrics_networks only\n"))
	}
}

func inNetworks(nets []netip.Prefix, addr netip.Addr) bool {
	for _, n := range nets {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

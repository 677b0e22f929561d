package web

import (
	"net"
	"net/http"
	"net/netip"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/release"
)

// inClear reports whether r came over plain HTTP from another machine,
// so that anyone on the network path could read its body. Loopback is
// 127.0.0.0/8 and ::1 (IPv4-mapped too), judged by the TCP peer, never by
// a forwarded-for header; an address that cannot be read counts as
// another machine.
func inClear(r *http.Request) bool {
	if r.TLS != nil {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err != nil || !addr.Unmap().IsLoopback()
}

// refusePlainText guards a console form that takes a secret (a password,
// a PIN, a card's UID): in clear from another machine it is refused with
// 403 before its body is read, unless the server allows plain
// credentials.
func (s *server) refusePlainText(h gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.opts.AllowPlainCredentials || !inClear(c.Request) {
			h(c)
			return
		}
		s.log.Warn("web: sign-in over plain HTTP refused", "route", routeOf(c), "remote", clientIP(c.Request))
		s.render(c, http.StatusForbidden, "signin", view{Title: "signin.title",
			Error: s.locale(c).T("signin.needs_tls"), Data: s.signinData("")})
	}
}

// markPlainText marks the context of an API request that came in clear
// from another machine (release.WithPlainText), unless the server allows
// plain credentials: the release service then refuses a PIN or password
// in it, before checking it, from devices not allowed to send them so.
func (s *server) markPlainText(h gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !s.opts.AllowPlainCredentials && inClear(c.Request) {
			c.Request = c.Request.WithContext(release.WithPlainText(c.Request.Context()))
		}
		h(c)
	}
}

package web

import (
	"errors"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/throttle"
)

// Longest sign-in fields accepted; longer input is refused unread by the
// directory.
const (
	maxNameLength     = 256
	maxPasswordLength = directory.MaxPasswordLength
)

// signinData is the sign-in page's data.
type signinData struct {
	Name string
	// SSO offers single sign-on when set (oidc.go).
	SSO *ssoButton
}

// ssoButton is the sign-in page's button to the identity provider.
type ssoButton struct {
	// Label is the configured text; "" shows the catalog's.
	Label string
}

// signinData is the sign-in page's data with name filled in.
func (s *server) signinData(name string) signinData {
	d := signinData{Name: name}
	if s.oidc != nil {
		d.SSO = &ssoButton{Label: s.oidc.cfg.Label}
	}
	return d
}

func (s *server) signinPage(c *gin.Context) {
	s.render(c, http.StatusOK, "signin", view{Title: "signin.title", Data: s.signinData("")})
}

// clientIP is the address the request came from. It is the TCP peer, not
// a forwarded-for header, which anyone can write.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// signin checks the name and password against the directory and starts a
// new session. Attempts are counted per account and per client address
// before the password is checked, in the database, with the policy IPP
// and self-enrolment share.
func (s *server) signin(c *gin.Context) {
	name := strings.TrimSpace(c.PostForm("name"))
	password := c.PostForm("password")
	again := func(status int, key string, args ...any) {
		s.render(c, status, "signin", view{Title: "signin.title", Error: s.locale(c).T(key, args...),
			Data: s.signinData(name)})
	}
	if name == "" || password == "" || len(name) > maxNameLength || len(password) > maxPasswordLength {
		again(http.StatusBadRequest, "signin.missing")
		return
	}
	ip := clientIP(c.Request)
	addr, _ := netip.ParseAddr(ip)
	id, err := s.opts.Passwords.Authenticate(c.Request.Context(), name, password, addr.Unmap(), "console")
	var throttled *throttle.Error
	switch {
	case errors.As(err, &throttled):
		wait := throttled.RetryAfter()
		c.Header("Retry-After", itoa(int64(wait.Seconds())))
		s.log.Warn("web: sign-in refused by rate limit", "remote", ip)
		again(http.StatusTooManyRequests, "signin.too_many", int(math.Ceil(wait.Minutes())))
		return
	case errors.Is(err, directory.ErrInvalidCredentials):
		// The typed name is not logged: people type passwords there.
		s.log.Info("web: sign-in failed", "remote", ip)
		again(http.StatusUnauthorized, "signin.invalid")
		return
	case errors.Is(err, directory.ErrUnavailable):
		s.log.Error("web: sign-in: directory unavailable", "err", err)
		again(http.StatusServiceUnavailable, "signin.unavailable")
		return
	case err != nil:
		s.fail(c, "sign-in", err)
		return
	}
	s.startSession(c, id, nil, "password")
}

// signout ends the session: its row is deleted, so the cookie is useless
// even if it was copied.
func (s *server) signout(c *gin.Context) {
	if err := s.sessions.end(c.Request.Context(), s.sessionToken(c.Request)); err != nil {
		s.fail(c, "sign-out", err)
		return
	}
	s.clearSessionCookie(c.Writer, c.Request)
	c.Redirect(http.StatusSeeOther, "/signin?ok=signed_out")
}

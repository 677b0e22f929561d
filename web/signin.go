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
	id, ok := s.checkPassword(c, name, password, "console", again)
	if !ok {
		return
	}
	// Recorded as single sign-on is: a session under someone's name is
	// the first step of anything done in it, an administrator who reset
	// that someone's password included.
	rec := s.record(c, Action{Name: ActionSignIn, Actor: id.Name, Role: id.Role(), Target: id.Name, Method: MethodPassword})
	s.startSession(c, id, rec, MethodPassword)
}

// MethodPassword is Action.Method of a sign-in by name and password.
const MethodPassword = "password"

// checkPassword checks name's password, typed at where (the console, a
// QR link), under the account and address limits. On failure it has
// answered, through again (the form shown again with a message) or an
// error page, and returns false.
func (s *server) checkPassword(c *gin.Context, name, password, where string,
	again func(status int, key string, args ...any)) (directory.Identity, bool) {
	if name == "" || password == "" || len(name) > maxNameLength || len(password) > maxPasswordLength {
		again(http.StatusBadRequest, "signin.missing")
		return directory.Identity{}, false
	}
	ip := clientIP(c.Request)
	addr, _ := netip.ParseAddr(ip)
	id, err := s.opts.Passwords.Authenticate(c.Request.Context(), name, password, addr.Unmap(), where)
	var throttled *throttle.Error
	switch {
	case err == nil:
		return id, true
	case errors.As(err, &throttled):
		wait := throttled.RetryAfter()
		c.Header("Retry-After", itoa(int64(wait.Seconds())))
		s.log.Warn("web: sign-in refused by rate limit", "where", where, "remote", ip)
		again(http.StatusTooManyRequests, "signin.too_many", int(math.Ceil(wait.Minutes())))
	case errors.Is(err, directory.ErrInvalidCredentials):
		// The typed name is not logged: people type passwords there.
		s.log.Info("web: sign-in failed", "where", where, "remote", ip)
		again(http.StatusUnauthorized, "signin.invalid")
	case errors.Is(err, directory.ErrUnavailable):
		s.log.Error("web: sign-in: directory unavailable", "err", err)
		again(http.StatusServiceUnavailable, "signin.unavailable")
	default:
		s.fail(c, "sign-in", err)
	}
	return directory.Identity{}, false
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

package web

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/netip"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/throttle"
)

// PasswordSetter replaces a built-in user's password (directory.Builtin
// implements it).
type PasswordSetter interface {
	// SetPassword replaces name's password, after the policy; an error
	// wrapping directory.ErrPasswordPolicy for one it refuses. rec runs
	// in the same transaction.
	SetPassword(ctx context.Context, name, password string, rec database.Hook) error
}

var _ PasswordSetter = (*directory.Builtin)(nil)

// ActionChangePassword is a user's change of their own password.
const ActionChangePassword = "password-changed"

// changeMyPassword changes the signed-in user's password. The current
// password is checked as a sign-in is, under the same account and
// address limits, so that a session left open does not let anyone try
// passwords unthrottled. On success the user's other console sessions
// end. No password is echoed back, logged or put in an error.
func (s *server) changeMyPassword(c *gin.Context) {
	ctx, sess := c.Request.Context(), currentSession(c)
	loc := s.locale(c)
	if s.opts.PasswordSetter == nil {
		s.showMy(c, http.StatusNotFound, loc.T("my.password.directory"))
		return
	}
	current, next, again := c.PostForm("current"), c.PostForm("password"), c.PostForm("password2")
	switch {
	case current == "" || next == "" || len(current) > maxPasswordLength || len(next) > maxPasswordLength:
		s.showMy(c, http.StatusBadRequest, loc.T("signin.missing"))
		return
	case next != again:
		s.showMy(c, http.StatusBadRequest, loc.T("password.mismatch"))
		return
	}
	addr, _ := netip.ParseAddr(clientIP(c.Request))
	_, err := s.opts.Passwords.Authenticate(ctx, sess.User, current, addr.Unmap(), "password-change")
	var throttled *throttle.Error
	switch {
	case errors.As(err, &throttled):
		wait := throttled.RetryAfter()
		c.Header("Retry-After", itoa(int64(wait.Seconds())))
		s.showMy(c, http.StatusTooManyRequests, loc.T("signin.too_many", int(math.Ceil(wait.Minutes()))))
		return
	case errors.Is(err, directory.ErrInvalidCredentials):
		s.log.Info("web: password change: wrong current password", "user", sess.User)
		s.showMy(c, http.StatusUnauthorized, loc.T("password.wrong"))
		return
	case err != nil:
		s.fail(c, "password change", err)
		return
	}
	rec := s.recordIn(c, ActionChangePassword, sess.User, "", nil)
	err = s.opts.PasswordSetter.SetPassword(ctx, sess.User, next, rec)
	switch {
	case errors.Is(err, directory.ErrPasswordPolicy):
		s.showMy(c, http.StatusBadRequest, loc.T("password.policy", directory.MinPasswordLength, directory.MaxPasswordLength))
		return
	case err != nil:
		s.fail(c, "password change", err)
		return
	}
	if err := s.sessions.endOthers(ctx, sess); err != nil {
		s.fail(c, "password change", err)
		return
	}
	s.log.Info("web: password changed", "user", sess.User)
	c.Redirect(http.StatusSeeOther, "/my?ok=password_changed")
}

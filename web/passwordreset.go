package web

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/release/directory"
)

// ActionResetPassword is an administrator's setting of a built-in user's
// password.
const ActionResetPassword = "password-reset"

// resetPassword sets a built-in user's new password on an administrator's
// behalf, typed twice. The change and its audit record are one
// transaction; the user's console sessions then end, so that whoever held
// the old password is signed out. The password is never echoed back,
// logged or recorded. LDAP users are told to have it changed in the
// directory.
func (s *server) resetPassword(c *gin.Context) {
	user, ok := s.adminTarget(c)
	if !ok {
		return
	}
	ctx, loc := c.Request.Context(), s.locale(c)
	if s.opts.PasswordSetter == nil {
		s.showUsers(c, http.StatusNotFound, user, loc.T("users.password.directory"))
		return
	}
	next, again := c.PostForm("password"), c.PostForm("password2")
	switch {
	case next == "" || len(next) > maxPasswordLength:
		s.showUsers(c, http.StatusBadRequest, user, loc.T("users.password.missing"))
		return
	case next != again:
		s.showUsers(c, http.StatusBadRequest, user, loc.T("password.mismatch"))
		return
	}
	err := s.opts.PasswordSetter.SetPassword(ctx, user, next, s.recordIn(c, ActionResetPassword, user, "", nil))
	switch {
	case errors.Is(err, directory.ErrPasswordPolicy):
		s.showUsers(c, http.StatusBadRequest, user,
			loc.T("password.policy", directory.MinPasswordLength, directory.MaxPasswordLength))
		return
	case errors.Is(err, directory.ErrNotFound):
		// Found by the directory but not a built-in user.
		s.showUsers(c, http.StatusNotFound, user, loc.T("users.password.directory"))
		return
	case err != nil:
		s.fail(c, "password reset", err)
		return
	}
	if _, err := EndUserSessions(ctx, s.opts.DB, user); err != nil {
		s.fail(c, "password reset", err)
		return
	}
	s.adminDone(c, "password reset", user, "password_reset")
}

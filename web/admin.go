package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/release/credential"
	"github.com/printgate/printgate/release/directory"
)

// dashboardData is the dashboard's data.
type dashboardData struct {
	// State is "ok", "unavailable" (no record wired) or "error".
	State   string
	Day     time.Time
	Summary Summary
	// Printers holds the printers' counter discrepancies (printers.go).
	Printers printersData
}

// DayParam is the day as the history filter takes it.
func (d dashboardData) DayParam() string { return d.Day.Format(dateLayout) }

// dashboard shows today's figures, today being the calendar day in the
// configured time zone.
func (s *server) dashboard(c *gin.Context) {
	now := s.now().In(s.tz)
	from := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, s.tz)
	d := dashboardData{State: "unavailable", Day: from}
	if s.opts.History != nil {
		d.State = "ok"
		sum, err := s.opts.History.Summary(c.Request.Context(), from, from.AddDate(0, 0, 1))
		if err != nil {
			s.log.Error("web: dashboard", "err", err)
			d.State = "error"
		}
		d.Summary = sum
	}
	d.Printers = s.printers(c.Request.Context(), 5)
	s.render(c, http.StatusOK, "admin", view{Title: "admin.title", Data: d})
}

// userInfo is one user on the users page.
type userInfo struct {
	Name        string
	DisplayName string
	Role        directory.Role
	PIN         credential.PINStatus
	Cards       []credential.Card
}

// usersData is the users page's data.
type usersData struct {
	// Listed reports whether the built-in users are listed (a UserLister
	// is wired); Users holds them.
	Listed bool
	Users  []userInfo
	// Query is the name searched for; Found the user it found, NotFound
	// whether it found nobody.
	Query    string
	Found    *userInfo
	NotFound bool
	// Resettable says administrators may set passwords here: the
	// built-in directory keeps them.
	Resettable bool
}

func (s *server) usersPage(c *gin.Context) {
	s.showUsers(c, http.StatusOK, strings.TrimSpace(c.Query("user")), "")
}

// showUsers renders the users page, with the user named query shown in
// detail, and an optional error message.
func (s *server) showUsers(c *gin.Context, status int, query, errText string) {
	ctx := c.Request.Context()
	d := usersData{Listed: s.opts.Users != nil, Query: query, Resettable: s.opts.PasswordSetter != nil}
	if s.opts.Users != nil {
		users, err := s.opts.Users.Users(ctx)
		if err != nil {
			s.fail(c, "users page", err)
			return
		}
		for _, u := range users {
			info, err := s.userInfo(ctx, directory.Identity{Name: u.Name, DisplayName: u.DisplayName,
				Roles: []directory.Role{u.Role}})
			if err != nil {
				s.fail(c, "users page", err)
				return
			}
			d.Users = append(d.Users, info)
		}
	}
	if query != "" && len(query) <= maxNameLength {
		id, err := s.opts.Directory.Lookup(ctx, query)
		switch {
		case errors.Is(err, directory.ErrNotFound):
			d.NotFound = true
		case err != nil:
			s.fail(c, "users page", err)
			return
		default:
			info, err := s.userInfo(ctx, id)
			if err != nil {
				s.fail(c, "users page", err)
				return
			}
			d.Found = &info
		}
	}
	s.render(c, status, "users", view{Title: "users.title", Error: errText, Data: d})
}

func (s *server) userInfo(ctx context.Context, id directory.Identity) (userInfo, error) {
	info := userInfo{Name: id.Name, DisplayName: id.DisplayName, Role: id.Role()}
	var err error
	if info.PIN, err = s.opts.Credentials.PINStatus(ctx, id.Name); err != nil {
		return info, err
	}
	info.Cards, err = s.opts.Credentials.Cards(ctx, id.Name)
	return info, err
}

// adminTarget finds the user an admin form acts on, by the directory's
// canonical name, so that nothing is ever stored for a user who does not
// exist. It renders the error itself and returns false when there is none.
func (s *server) adminTarget(c *gin.Context) (string, bool) {
	name := strings.TrimSpace(c.PostForm("name"))
	if name == "" || len(name) > maxNameLength {
		s.showUsers(c, http.StatusBadRequest, "", s.locale(c).T("users.not_found"))
		return "", false
	}
	id, err := s.opts.Directory.Lookup(c.Request.Context(), name)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		s.showUsers(c, http.StatusNotFound, "", s.locale(c).T("users.not_found"))
		return "", false
	case err != nil:
		s.fail(c, "find user", err)
		return "", false
	}
	return id.Name, true
}

// adminDone logs an admin action and shows the user acted on.
func (s *server) adminDone(c *gin.Context, action, target, flash string) {
	s.log.Info("web: "+action, "admin", currentSession(c).User, "user", target)
	c.Redirect(http.StatusSeeOther, "/admin/users?"+url.Values{"user": {target}, "ok": {flash}}.Encode())
}

// resetPIN removes a user's PIN, so that they set a new one.
func (s *server) resetPIN(c *gin.Context) {
	user, ok := s.adminTarget(c)
	if !ok {
		return
	}
	err := s.opts.Credentials.RemovePIN(c.Request.Context(), user, s.recordIn(c, ActionResetPIN, user, "", nil))
	switch {
	case errors.Is(err, credential.ErrNotFound):
		s.showUsers(c, http.StatusNotFound, user, s.locale(c).T("pin.none"))
	case err != nil:
		s.fail(c, "reset PIN", err)
	default:
		s.adminDone(c, "PIN reset", user, "pin_reset")
	}
}

// unlockUser lifts a user's PIN lockout and the lock on their password
// after too many wrong ones.
func (s *server) unlockUser(c *gin.Context) {
	user, ok := s.adminTarget(c)
	if !ok {
		return
	}
	// A lifted password lock is recorded by Reset with its change
	// (throttle-cleared); the PIN unlock below with its own.
	passwordCounted, err := s.opts.Passwords.Reset(c.Request.Context(), user, currentSession(c).User)
	if err != nil {
		s.fail(c, "unlock", err)
		return
	}
	err = s.opts.Credentials.Unlock(c.Request.Context(), user, s.recordIn(c, ActionUnlock, user, "", nil))
	switch {
	case errors.Is(err, credential.ErrNotFound) && passwordCounted:
		s.adminDone(c, "password unlocked", user, "unlocked")
	case errors.Is(err, credential.ErrNotFound):
		s.showUsers(c, http.StatusNotFound, user, s.locale(c).T("pin.none"))
	case err != nil:
		s.fail(c, "unlock", err)
	default:
		s.adminDone(c, "PIN unlocked", user, "unlocked")
	}
}

// addCard enrolls a card for a user. The UID is a secret: it goes to the
// credential store and nowhere else, not even the audit trail.
func (s *server) addCard(c *gin.Context) {
	user, ok := s.adminTarget(c)
	if !ok {
		return
	}
	fp, err := s.opts.Credentials.Fingerprint(c.PostForm("uid"))
	if err != nil {
		s.showUsers(c, http.StatusBadRequest, user, s.locale(c).T("card.bad_uid"))
		return
	}
	id, err := directory.LookupName(c.Request.Context(), s.opts.Directory, user)
	if err != nil {
		s.fail(c, "find user", err)
		return
	}
	// The card's fingerprint goes in the record, as the command line's
	// card add puts it: a card an administrator gave someone must be
	// traceable to the sign-ins it makes.
	err = s.opts.Credentials.EnrolCard(c.Request.Context(), credential.Account{Name: id.Name, ID: id.AccountID},
		c.PostForm("uid"), s.recordIn(c, ActionAddCard, user, fp, nil))
	switch {
	case errors.Is(err, credential.ErrCardInUse):
		s.showUsers(c, http.StatusConflict, user, s.locale(c).T("card.in_use"))
	case err != nil:
		s.fail(c, "add card", err)
	default:
		s.adminDone(c, "card added", user, "card_added")
	}
}

// removeCard removes a user's card by its fingerprint.
func (s *server) removeCard(c *gin.Context) {
	user, ok := s.adminTarget(c)
	fp := strings.TrimSpace(c.PostForm("card"))
	if !ok {
		return
	}
	err := s.opts.Credentials.RemoveCardByFingerprint(c.Request.Context(), user, fp, s.recordIn(c, ActionRemoveCard, user, fp, nil))
	switch {
	case errors.Is(err, credential.ErrNotFound):
		s.showUsers(c, http.StatusNotFound, user, s.locale(c).T("card.not_found"))
	case err != nil:
		s.fail(c, "remove card", err)
	default:
		s.adminDone(c, "card removed", user, "card_removed")
	}
}

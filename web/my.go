package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release/credential"
	"github.com/printgate/printgate/release/directory"
)

// myHistoryRows is how many history rows My page shows at a time.
const myHistoryRows = 20

// myData is My page's data.
type myData struct {
	PIN    credential.PINStatus
	Policy credential.Policy
	// PasswordChange says the user's password is printgate's to change
	// (built-in directory); PasswordMin is its least length.
	PasswordChange bool
	PasswordMin    int
	Cards          []credential.Card
	// Jobs holds the held jobs; JobsState says whether they could be
	// read: "ok", "unavailable" (not wired) or "error".
	Jobs      []HeldJob
	JobsState string
	// History holds a page of the user's record, HistoryState as above,
	// HistoryNext the cursor of the next page.
	History      []audit.JobRecord
	HistoryState string
	HistoryNext  string
	// Release offers release to a chosen device for jobs of queues that
	// allow it; nil when none do.
	Release *myRelease
}

func (s *server) myPage(c *gin.Context) {
	s.showMy(c, http.StatusOK, "")
}

// showMy renders My page with an optional error message.
func (s *server) showMy(c *gin.Context, status int, errText string) {
	ctx, user := c.Request.Context(), currentSession(c).User
	d := myData{Policy: s.opts.Credentials.Policy(), JobsState: "unavailable", HistoryState: "unavailable",
		PasswordChange: s.opts.PasswordSetter != nil, PasswordMin: directory.MinPasswordLength}
	var err error
	account, created, bound := s.myAccount(ctx, user)
	since := directory.OwnedSince(created)
	if d.PIN, err = s.myPINStatus(ctx, account, bound); err != nil {
		s.fail(c, "my page", err)
		return
	}
	if d.Cards, err = s.myCards(ctx, account, bound); err != nil {
		s.fail(c, "my page", err)
		return
	}
	if s.opts.Jobs != nil {
		d.JobsState = "ok"
		if d.Jobs, err = s.opts.Jobs.HeldJobs(ctx, user); err != nil {
			s.log.Error("web: my page: held jobs", "user", user, "err", err)
			d.JobsState = "error"
		}
		d.Jobs = slices.DeleteFunc(d.Jobs, func(j HeldJob) bool { return j.SubmittedAt.Before(since) })
	}
	d.Release = s.myReleaseData(ctx)
	if s.opts.History != nil {
		d.HistoryState = "ok"
		page, err := s.opts.History.History(ctx, audit.HistoryQuery{User: user, From: since, Limit: myHistoryRows, Cursor: c.Query("cursor"),
			// A printer's log names users as the sending computer said,
			// unchecked: such rows are for administrators to weigh.
			Source: audit.SourcePrintgate})
		if err != nil {
			s.log.Error("web: my page: history", "user", user, "err", err)
			d.HistoryState = "error"
		}
		d.History, d.HistoryNext = page.Jobs, page.Next
	}
	s.render(c, status, "my", view{Title: "my.title", Error: errText, Data: d})
}

// myAccount is the signed-in user's account as the directory has it now,
// so that My page shows and changes only that account's PIN and cards: a
// card or PIN bound to a former account of the name (a leaver's) is none
// of theirs; created is when the directory made it (zero when not
// known). ok is false when the directory cannot answer; My page then
// goes by the name, as it did before credentials were bound.
func (s *server) myAccount(ctx context.Context, user string) (a credential.Account, created time.Time, ok bool) {
	id, err := directory.LookupName(ctx, s.opts.Directory, user)
	if err != nil {
		s.log.Warn("web: my page: directory", "user", user, "err", err)
		return credential.Account{Name: user}, time.Time{}, false
	}
	return credential.Account{Name: id.Name, ID: id.AccountID}, id.Created, true
}

// myPINStatus is the PIN status of a, the account myAccount found (ok),
// or of its name.
func (s *server) myPINStatus(ctx context.Context, a credential.Account, ok bool) (credential.PINStatus, error) {
	if ok {
		return s.opts.Credentials.AccountPINStatus(ctx, a)
	}
	return s.opts.Credentials.PINStatus(ctx, a.Name)
}

// myCards are the cards of a, the account myAccount found (ok), or of its
// name.
func (s *server) myCards(ctx context.Context, a credential.Account, ok bool) ([]credential.Card, error) {
	if ok {
		return s.opts.Credentials.AccountCards(ctx, a)
	}
	return s.opts.Credentials.Cards(ctx, a.Name)
}

// recordDetails appends a console action that changes nothing, such as
// an export, to the audit trail, if one is wired, before it is carried
// out. A failure stops the action: it must not happen unrecorded.
func (s *server) recordDetails(c *gin.Context, name, target string, details map[string]string) bool {
	rec := s.recordIn(c, name, target, "", details)
	if rec == nil {
		return true
	}
	// The record must not be lost to a client that goes away mid-request.
	ctx := context.WithoutCancel(c.Request.Context())
	if err := s.opts.DB.WithContext(ctx).Transaction(rec); err != nil {
		s.fail(c, "audit "+name, err)
		return false
	}
	return true
}

// recordIn returns the hook that records a console change in the
// transaction of the change itself, filling in who acted, from where and
// when; nil when no audit trail is wired. A change that fails to be
// recorded is undone with it.
func (s *server) recordIn(c *gin.Context, name, target, detail string, details map[string]string) database.Hook {
	if s.opts.Audit == nil {
		return nil
	}
	sess := currentSession(c)
	a := Action{Name: name, Target: target, Detail: detail, Details: details,
		Actor: sess.User, Role: sess.Role, Remote: clientIP(c.Request), At: s.now()}
	ctx := context.WithoutCancel(c.Request.Context())
	return func(tx *gorm.DB) error { return s.opts.Audit.RecordAction(ctx, tx, a) }
}

// pinError maps a PIN the policy refuses to its message; "" for any other
// error.
func (s *server) pinError(c *gin.Context, err error) string {
	p := s.opts.Credentials.Policy()
	switch {
	case errors.Is(err, credential.ErrPINPolicy):
		return s.locale(c).T("pin.policy", p.MinPIN, p.MaxPIN)
	case errors.Is(err, credential.ErrWeakPIN):
		return s.locale(c).T("pin.weak")
	}
	return ""
}

// pinSignInWindow is how long after signing in a user may set their PIN.
// A PIN opens their jobs at every device that takes ID and PIN: someone
// who finds a session left open (a PC left unlocked, a shared tablet)
// must not be able to set one and print the user's documents later. A
// password change asks for the current password instead; a PIN, which
// users who sign in through their company's OpenID provider set too,
// asks for a recent sign-in, however it was made.
const pinSignInWindow = 10 * time.Minute

// setMyPIN sets the signed-in user's PIN, within pinSignInWindow of the
// sign-in. The PIN is never echoed back, logged or put in an error.
func (s *server) setMyPIN(c *gin.Context) {
	sess := currentSession(c)
	user := sess.User
	if s.sessions.now().Sub(sess.SignedIn) > pinSignInWindow {
		s.showMy(c, http.StatusForbidden, s.locale(c).T("pin.signin_again", int(pinSignInWindow.Minutes())))
		return
	}
	pin, again := c.PostForm("pin"), c.PostForm("pin2")
	if pin != again {
		s.showMy(c, http.StatusBadRequest, s.locale(c).T("pin.mismatch"))
		return
	}
	if err := s.opts.Credentials.ValidatePIN(pin); err != nil {
		s.showMy(c, http.StatusBadRequest, s.pinError(c, err))
		return
	}
	id, err := directory.LookupName(c.Request.Context(), s.opts.Directory, user)
	if err != nil {
		s.fail(c, "find user", err)
		return
	}
	rec := s.recordIn(c, ActionSetPIN, user, "", nil)
	// Bound to the account, so that it never passes to whoever has the
	// name next.
	if err := s.opts.Credentials.SetAccountPIN(c.Request.Context(), credential.Account{Name: id.Name, ID: id.AccountID},
		pin, rec); err != nil {
		if msg := s.pinError(c, err); msg != "" {
			s.showMy(c, http.StatusBadRequest, msg)
			return
		}
		s.fail(c, "set PIN", err)
		return
	}
	s.log.Info("web: PIN set", "user", user)
	c.Redirect(http.StatusSeeOther, "/my?ok=pin_set")
}

// removeMyCard removes one of the signed-in user's cards, named by its
// fingerprint (the UID itself is not kept).
func (s *server) removeMyCard(c *gin.Context) {
	user := currentSession(c).User
	fp := strings.TrimSpace(c.PostForm("card"))
	rec := s.recordIn(c, ActionRemoveCard, user, fp, nil)
	ctx := c.Request.Context()
	var err error
	if a, _, ok := s.myAccount(ctx, user); ok {
		err = s.opts.Credentials.RemoveAccountCardByFingerprint(ctx, a, fp, rec)
	} else {
		err = s.opts.Credentials.RemoveCardByFingerprint(ctx, user, fp, rec)
	}
	switch {
	case errors.Is(err, credential.ErrNotFound):
		s.showMy(c, http.StatusNotFound, s.locale(c).T("card.not_found"))
	case err != nil:
		s.fail(c, "remove card", err)
	default:
		s.log.Info("web: card removed", "user", user, "card", fp)
		c.Redirect(http.StatusSeeOther, "/my?ok=card_removed")
	}
}

// cancelMyJob cancels one of the signed-in user's held jobs.
func (s *server) cancelMyJob(c *gin.Context) {
	user := currentSession(c).User
	id, err := strconv.ParseInt(c.PostForm("job"), 10, 64)
	if err != nil || id <= 0 || s.opts.Jobs == nil || s.beforeAccount(c.Request.Context(), user, id) {
		s.showMy(c, http.StatusNotFound, s.locale(c).T("job.not_found"))
		return
	}
	err = s.opts.Jobs.CancelJob(c.Request.Context(), user, id)
	switch {
	case errors.Is(err, ErrNotFound):
		s.showMy(c, http.StatusNotFound, s.locale(c).T("job.not_found"))
	case err != nil:
		s.fail(c, "cancel job", err)
	default:
		s.log.Info("web: job canceled", "user", user, "job", id)
		c.Redirect(http.StatusSeeOther, "/my?ok=job_canceled")
	}
}

// beforeAccount reports whether job id, held under user's name, was
// submitted before user's account was made: My page neither shows nor
// cancels such a job (directory.OwnedSince).
func (s *server) beforeAccount(ctx context.Context, user string, id int64) bool {
	_, created, ok := s.myAccount(ctx, user)
	if !ok || created.IsZero() {
		return false
	}
	jobs, err := s.opts.Jobs.HeldJobs(ctx, user)
	if err != nil {
		return false // CancelJob meets the same failure and says so
	}
	i := slices.IndexFunc(jobs, func(j HeldJob) bool { return j.ID == id })
	return i >= 0 && jobs[i].SubmittedAt.Before(directory.OwnedSince(created))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

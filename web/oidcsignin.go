package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"golang.org/x/oauth2"
	"golang.org/x/text/unicode/norm"
	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release/directory"
)

// Paths of the OpenID Connect sign-in.
const (
	oidcStartPath    = "/signin/oidc"
	oidcCallbackPath = "/signin/oidc/callback"
)

// Sign-in actions for the audit trail: ActionSignIn is a console sign-in
// (Action.Method says how), ActionLoginFailed one refused after the
// identity provider vouched for a name.
const (
	ActionSignIn      = audit.EventSignedIn
	ActionLoginFailed = audit.EventLoginFailed
)

// MethodOIDC is Action.Method of a sign-in by OpenID Connect.
const MethodOIDC = "oidc"

// flow is one sign-in in progress: the state that ties the provider's
// answer to this browser, the nonce that ties the ID token to it, and the
// PKCE verifier that ties the code to it. It lives in a short-lived
// cookie, so that any printgate instance can finish a flow another began.
type flow struct {
	State, Nonce, Verifier string
}

// flowMaxAge is how long a browser has to sign in at the provider.
const flowMaxAge = 600 // seconds

// Flow cookie names; over TLS the __Host- prefix keeps another host or a
// plain-HTTP page from planting one.
const (
	flowCookiePlain  = "printgate_oidc"
	flowCookieSecure = "__Host-printgate_oidc"
)

func newFlow() flow {
	return flow{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier()}
}

func (f flow) String() string { return f.State + "." + f.Nonce + "." + f.Verifier }

// parseFlow reads a flow cookie: three parts of the exact shapes newFlow
// makes (rand.Text's base32, then a base64url verifier), or an error.
func parseFlow(s string) (flow, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || !ofAlphabet(parts[0], base32Chars, 26) || !ofAlphabet(parts[1], base32Chars, 26) ||
		!ofAlphabet(parts[2], base64URLChars, 43) {
		return flow{}, errors.New("web: malformed sign-in flow")
	}
	return flow{State: parts[0], Nonce: parts[1], Verifier: parts[2]}, nil
}

const (
	base32Chars    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	base64URLChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)

func ofAlphabet(s, alphabet string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune(alphabet, r) {
			return false
		}
	}
	return true
}

// equalSecret compares two secrets in constant time.
func equalSecret(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func (s *server) flowCookieName(r *http.Request) string {
	if s.secure(r) {
		return flowCookieSecure
	}
	return flowCookiePlain
}

// setFlow hands the browser f. SameSite=Lax lets it come back on the
// provider's top-level redirect, and on nothing a third site could send
// in the background.
func (s *server) setFlow(w http.ResponseWriter, r *http.Request, f flow, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: s.flowCookieName(r), Value: f.String(), Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
}

// takeFlow reads the browser's flow and deletes it: each is good for one
// answer from the provider.
func (s *server) takeFlow(c *gin.Context) (flow, bool) {
	ck, err := c.Request.Cookie(s.flowCookieName(c.Request))
	if err != nil {
		return flow{}, false
	}
	s.setFlow(c.Writer, c.Request, flow{}, -1)
	f, err := parseFlow(ck.Value)
	return f, err == nil
}

// oidcStart sends the browser to the provider with a new flow.
func (s *server) oidcStart(c *gin.Context) {
	f := newFlow()
	to, err := s.oidc.authURL(c.Request.Context(), f)
	if err != nil {
		s.log.Error("web: single sign-on", "err", err)
		s.oidcRefused(c, http.StatusServiceUnavailable, "oidc.unavailable")
		return
	}
	s.setFlow(c.Writer, c.Request, f, flowMaxAge)
	c.Redirect(http.StatusSeeOther, to)
}

// oidcCallback finishes a flow: the state must be the browser's, the
// code is redeemed with its verifier, the ID token must verify and carry
// its nonce, and the name it gives must be a directory user who is not
// disabled. Only then does a session start.
func (s *server) oidcCallback(c *gin.Context) {
	ctx, ip := c.Request.Context(), clientIP(c.Request)
	f, code, ok := s.oidcAnswer(c)
	if !ok {
		return
	}
	name, err := s.oidc.exchange(ctx, code, f)
	switch {
	case errors.Is(err, errOIDCToken):
		s.log.Warn("web: single sign-on: ID token refused", "err", err, "remote", ip)
		s.oidcRefused(c, http.StatusUnauthorized, "oidc.refused")
		return
	case err != nil:
		s.log.Error("web: single sign-on", "err", err, "remote", ip)
		s.oidcRefused(c, http.StatusBadGateway, "oidc.unavailable")
		return
	}
	id, err := s.oidcUser(ctx, name)
	switch {
	case errors.Is(err, directory.ErrNotFound), errors.Is(err, directory.ErrDisabled):
		reason, key := "no directory user", "oidc.unknown"
		if errors.Is(err, directory.ErrDisabled) {
			reason, key = "account disabled", "oidc.disabled"
		}
		s.log.Info("web: single sign-on refused", "claim", name, "reason", reason, "remote", ip)
		s.recordRefusal(c, name, id.Name, reason)
		s.oidcRefused(c, http.StatusForbidden, key, name)
		return
	case errors.Is(err, directory.ErrUnavailable):
		s.log.Error("web: single sign-on: directory unavailable", "err", err)
		s.oidcRefused(c, http.StatusServiceUnavailable, "signin.unavailable")
		return
	case err != nil:
		s.fail(c, "single sign-on", err)
		return
	}
	rec := s.record(c, Action{Name: ActionSignIn, Actor: id.Name, Role: id.Role(), Target: id.Name, Method: MethodOIDC,
		Details: map[string]string{"claim": name}})
	s.startSession(c, id, rec, MethodOIDC)
}

// oidcAnswer reads the provider's answer to this browser's flow: its
// code, or a page saying why there is none (and false).
func (s *server) oidcAnswer(c *gin.Context) (flow, string, bool) {
	ip, q := clientIP(c.Request), c.Request.URL.Query()
	f, ok := s.takeFlow(c)
	if state := q.Get("state"); !ok || state == "" || !equalSecret(state, f.State) {
		s.log.Warn("web: single sign-on: state does not match this browser's", "remote", ip, "flow", ok)
		s.oidcRefused(c, http.StatusBadRequest, "oidc.expired")
		return flow{}, "", false
	}
	if e := q.Get("error"); e != "" {
		// An OAuth error code is a short word; anything longer is cut.
		s.log.Info("web: single sign-on: the provider answered an error", "error", e[:min(len(e), 64)], "remote", ip)
		s.oidcRefused(c, http.StatusUnauthorized, "oidc.denied")
		return flow{}, "", false
	}
	code := q.Get("code")
	if code == "" || len(code) > 4096 {
		s.oidcRefused(c, http.StatusBadRequest, "oidc.expired")
		return flow{}, "", false
	}
	return f, code, true
}

// oidcUser finds the directory user the provider's name stands for, by
// login name only: an employee number is never a way in.
func (s *server) oidcUser(ctx context.Context, claimed string) (directory.Identity, error) {
	login, ok := oidcLogin(claimed, s.opts.OIDC.Domains)
	if !ok {
		return directory.Identity{}, fmt.Errorf("web: %q: not a name of this company's domains: %w", claimed, directory.ErrNotFound)
	}
	var (
		id  directory.Identity
		err error
	)
	if ld, ok := s.opts.Directory.(directory.LoginDirectory); ok {
		id, err = ld.LookupLogin(ctx, login)
	} else {
		id, err = s.opts.Directory.Lookup(ctx, login)
	}
	if err == nil && lookalike(login, id.Name) {
		err = fmt.Errorf("web: %q: only a look-alike of %s: %w", claimed, id.Name, directory.ErrNotFound)
	}
	if err == nil && id.Disabled {
		err = fmt.Errorf("web: %s: %w", id.Name, directory.ErrDisabled)
	}
	return id, err
}

// lookalike reports whether login, which the directory matched to the
// user it calls name, may be another account's name at the provider.
// Directories match names with Unicode case folding (LDAP's
// caseIgnoreMatch, PostgreSQL's lower()), under which "ALİCE" (dotted
// capital I), "ＡＬＩＣＥ" (full width) or "\u212Aate" (Kelvin sign) are
// alice and kate: only the same letters, in either case, stand for a
// user. A login the directory matched by another attribute (LDAP's
// logins) is left to it when both are ASCII; outside ASCII it must be the
// user's own name.
func lookalike(login, name string) bool {
	nl, nn := norm.NFC.String(login), norm.NFC.String(name)
	if isASCII(nl) != isASCII(login) || isASCII(nn) != isASCII(name) {
		return true // the Kelvin sign's canonical form is the letter K
	}
	login, name = nl, nn
	if isASCII(login) && (isASCII(name) || !strings.EqualFold(login, name)) {
		return false
	}
	return !sameName(login, name)
}

// sameName reports whether a and b are the same letters, in either case:
// an ASCII letter never matches one outside ASCII, as the Kelvin sign K
// or the long s ſ would under Unicode's folding (directory.NameKey, by
// which the built-in directory finds its users).
func sameName(a, b string) bool { return directory.NameKey(a) == directory.NameKey(b) }

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// oidcLogin returns the login claimed names: claimed itself, or for
// DOMAIN\name and name@domain the name, when domain is one of domains.
func oidcLogin(claimed string, domains []string) (string, bool) {
	name, domain := strings.TrimSpace(claimed), ""
	if i := strings.LastIndexByte(name, '\\'); i >= 0 {
		name, domain = name[i+1:], name[:i]
	} else if i := strings.LastIndexByte(name, '@'); i >= 0 {
		name, domain = name[:i], name[i+1:]
	}
	if name == "" || strings.ContainsAny(name, `\@`) {
		return "", false
	}
	if domain != "" && !slices.ContainsFunc(domains, func(d string) bool { return strings.EqualFold(d, domain) }) {
		return "", false
	}
	return name, true
}

// startSession signs id in: a new session (recorded by rec in the same
// transaction, when set), its cookie, and the user's start page.
func (s *server) startSession(c *gin.Context, id directory.Identity, rec database.Hook, method string) {
	token, err := s.sessions.createRecorded(c.Request.Context(), id, s.sessionToken(c.Request), rec)
	if err != nil {
		s.fail(c, "sign-in", err)
		return
	}
	s.setSessionCookie(c.Writer, c.Request, token)
	s.log.Info("web: signed in", "user", id.Name, "role", id.Role(), "method", method, "remote", clientIP(c.Request))
	dest := "/my"
	if allowed(id.Role(), accessAuditor) {
		dest = "/admin"
	}
	c.Redirect(http.StatusSeeOther, dest)
}

// record returns the hook that appends a, from this request, to the
// audit trail; nil when none is wired.
func (s *server) record(c *gin.Context, a Action) database.Hook {
	if s.opts.Audit == nil {
		return nil
	}
	a.Remote, a.At = clientIP(c.Request), s.now()
	ctx := context.WithoutCancel(c.Request.Context())
	return func(tx *gorm.DB) error { return s.opts.Audit.RecordAction(ctx, tx, a) }
}

// recordRefusal records a sign-in the provider vouched for and printgate
// refused. A failure to record is logged: the refusal stands either way.
func (s *server) recordRefusal(c *gin.Context, claimed, user, reason string) {
	rec := s.record(c, Action{Name: ActionLoginFailed, Actor: audit.ActorSystem, Target: user, Method: MethodOIDC,
		Reason: reason, Details: map[string]string{"claim": claimed}})
	if rec == nil {
		return
	}
	if err := s.opts.DB.WithContext(context.WithoutCancel(c.Request.Context())).Transaction(rec); err != nil {
		s.log.Error("web: record refused sign-in", "err", err)
	}
}

// oidcRefused shows the sign-in page with why single sign-on did not
// sign the user in; the password form stays for built-in users.
func (s *server) oidcRefused(c *gin.Context, status int, key string, args ...any) {
	s.render(c, status, "signin", view{Title: "signin.title", Self: "/signin", Error: s.locale(c).T(key, args...),
		Data: s.signinData("")})
}

// oidcRoutes are single sign-on's routes, there only when it is
// configured. Both are GETs that a browser is sent to: starting a flow
// and finishing one change no state a third site could abuse (the state
// check refuses an answer this browser did not ask for).
func (s *server) oidcRoutes() []route {
	if s.oidc == nil {
		return nil
	}
	return []route{
		{http.MethodGet, oidcStartPath, accessPublic, kindPage, s.oidcStart},
		{http.MethodGet, oidcCallbackPath, accessPublic, kindPage, s.oidcCallback},
	}
}

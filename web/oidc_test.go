package web

import (
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
	"github.com/printgate/printgate/internal/testenv/oidcop"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/owner"
)

const (
	oidcClientID     = "printgate-console"
	oidcClientSecret = "client-secret-for-tests"
	opPassword       = "idp password"
)

// opUsers are the test provider's accounts: alice and adam by their
// directory names, alice again as Windows and as e-mail spell her in the
// company's domains, an alias of hers (print clients' names only), others
// posing as alice and adam from domains that are not the company's, and
// mallory, whom the directory does not know.
var opUsers = []oidcop.User{
	{Subject: "s-alice", Username: userName, Password: opPassword, Email: "alice@corp.example", EmailVerified: true},
	{Subject: "s-adam", Username: adminName, Password: opPassword, Email: "adam@corp.example", EmailVerified: true},
	{Subject: "s-corp-alice", Username: `CORP\Alice`, Password: opPassword},
	{Subject: "s-ali", Username: "ali.example", Password: opPassword},
	{Subject: "s-mail-alice", Username: "ALICE@corp.example", Password: opPassword},
	{Subject: "s-evil-alice", Username: "Alice@evil.example", Password: opPassword, Email: "alice@evil.example", EmailVerified: true},
	{Subject: "s-evil-adam", Username: `EVIL\adam`, Password: opPassword, Email: "ADAM@attacker.example", EmailVerified: true},
	{Subject: "s-double", Username: `CORP\adam@evil.example`, Password: opPassword},
	{Subject: "s-mallory", Username: "mallory", Password: opPassword, Email: "mallory@corp.example", EmailVerified: true},
	{Subject: "s-unverified", Username: "unverified", Password: opPassword, Email: "alice@corp.example"},
	// Other accounts at the provider whose names a directory's Unicode
	// case folding takes for adam's and alice's.
	{Subject: "s-wide-adam", Username: "ａｄａｍ", Password: opPassword},
	{Subject: "s-dotted-alice", Username: "AL\u0130CE", Password: opPassword},
}

// oidcEnv is a console with single sign-on through a real provider.
type oidcEnv struct {
	*env
	op     *oidcop.Provider
	base   string
	mapper *owner.Mapper
}

// newOIDCEnv starts a provider and a console that trusts it, on loopback
// ports, claim naming the user.
func newOIDCEnv(t *testing.T, claim string) *oidcEnv {
	t.Helper()
	return newOIDCEnvOn(t, database.SQLite, claim)
}

// newOIDCEnvOn is newOIDCEnv with the built-in directory on dialect.
func newOIDCEnvOn(t *testing.T, dialect database.Dialect, claim string) *oidcEnv {
	t.Helper()
	db := openDB(t, dialect)
	if err := owner.Migrate(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	base := "http://" + srv.Listener.Addr().String()
	op := oidcop.Start(t, oidcop.Options{ClientID: oidcClientID, ClientSecret: oidcClientSecret,
		RedirectURIs: []string{base + oidcCallbackPath}, Users: opUsers})
	hasher, err := secret.NewHasher(testKey, testParams, nil)
	if err != nil {
		t.Fatal(err)
	}
	mapper, err := owner.New(owner.Options{FoldCase: true, StripDomain: true, DB: db,
		Directory: directory.NewBuiltin(db, hasher)})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, db, func(o *Options) {
		o.OIDC = &OIDCConfig{Issuer: op.Issuer, ClientID: oidcClientID, ClientSecret: oidcClientSecret,
			RedirectURL: base + oidcCallbackPath, Claim: claim, Domains: []string{"CORP", "corp.example"}}
	})
	if _, err := mapper.AddAlias(t.Context(), "ali.example", userName, nil); err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = e.h
	srv.Start()
	return &oidcEnv{env: e, op: op, base: base, mapper: mapper}
}

// browserless is an HTTP client with cookies that follows no redirect.
func browserless(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Transport: english{},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// english asks for pages in English.
type english struct{}

func (english) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept-Language", "en")
	return http.DefaultTransport.RoundTrip(r)
}

// start begins a sign-in as a browser would and returns where the console
// sends it: the provider's authorization endpoint.
func (e *oidcEnv) start(t *testing.T, client *http.Client) *url.URL {
	t.Helper()
	resp, err := client.Get(e.base + oidcStartPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || err != nil {
		t.Fatalf("start: %s, %v", resp.Status, err)
	}
	return loc
}

// signIn signs in at the provider for authURL and returns the redirect
// back to the console.
func (e *oidcEnv) signIn(t *testing.T, authURL *url.URL, username string) *url.URL {
	t.Helper()
	back, err := oidcop.SignIn(t.Context(), authURL.String(), username, opPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(back.String(), e.base+oidcCallbackPath) {
		t.Fatalf("the provider sent the browser to %s", back)
	}
	return back
}

// finish brings the provider's answer to the console and returns the
// status, where it leads and the page.
func finish(t *testing.T, client *http.Client, callback *url.URL) (int, string, string) {
	t.Helper()
	resp, err := client.Get(callback.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// sessionOf reports whether client holds a console session.
func (e *oidcEnv) sessionOf(client *http.Client) bool {
	u, _ := url.Parse(e.base)
	for _, c := range client.Jar.Cookies(u) {
		if c.Name == cookiePlain && c.Value != "" {
			return true
		}
	}
	return false
}

// TestOIDCSignIn signs users in through the provider: each lands on the
// page of the role the directory gives them, whatever the provider calls
// them, and each sign-in is recorded with method oidc and PKCE (S256).
func TestOIDCSignIn(t *testing.T) {
	e := newOIDCEnv(t, "")
	for _, tc := range []struct {
		opUser, user, display, dest string
	}{
		{userName, userName, "Alice Example", "/my"},
		{adminName, adminName, "Adam Admin", "/admin"},
		{`CORP\Alice`, userName, "Alice Example", "/my"},         // a domain of the company's, another case
		{"ALICE@corp.example", userName, "Alice Example", "/my"}, // the same as an address
	} {
		t.Run(tc.opUser, func(t *testing.T) {
			client := browserless(t)
			status, dest, body := finish(t, client, e.signIn(t, e.start(t, client), tc.opUser))
			if status != http.StatusSeeOther || dest != tc.dest || !e.sessionOf(client) {
				t.Fatalf("status %d to %q, session %t: %s", status, dest, e.sessionOf(client), body)
			}
			resp, err := client.Get(e.base + "/my")
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `<span class="who"`) ||
				!strings.Contains(string(page), ">"+tc.display+"</span>") {
				t.Fatalf("My page (%s) does not show %s signed in:\n%s", resp.Status, tc.display, page)
			}
			last := e.audit.last()
			if last.Name != ActionSignIn || last.Method != MethodOIDC || last.Actor != tc.user || last.Target != tc.user ||
				last.Details["claim"] != tc.opUser {
				t.Fatalf("recorded %+v", last)
			}
		})
	}
	if got := e.op.Challenges(); len(got) != 4 || slices.ContainsFunc(got, func(m string) bool { return m != "S256" }) {
		t.Fatalf("code challenge methods %q, want S256 on every request", got)
	}
}

// TestOIDCRefused holds every way single sign-on must not sign anyone in.
func TestOIDCRefused(t *testing.T) {
	e := newOIDCEnv(t, "")
	other := oidcop.Start(t, oidcop.Options{ClientID: oidcClientID, ClientSecret: oidcClientSecret,
		RedirectURIs: []string{e.base + oidcCallbackPath}, Users: opUsers})
	for _, tc := range []struct {
		name   string
		opUser string
		// tamper changes the flow between console and provider; it gets
		// the authorization URL before sign-in, the callback after.
		before func(t *testing.T, client *http.Client, auth *url.URL) *url.URL
		after  func(t *testing.T, client *http.Client, back *url.URL) *url.URL
		status int
		text   string
		record string // the audit record's reason, "" for none
	}{
		{name: "unknown user", opUser: "mallory", status: http.StatusForbidden,
			text: "You signed in as mallory, but printgate knows no user", record: "no directory user"},
		// A provider may hold other companies' accounts: a name from a
		// domain not configured is nobody here, however its local part
		// reads, and aliases (print clients' names) are no way in.
		{name: "alice from another domain", opUser: "Alice@evil.example", status: http.StatusForbidden,
			text: "printgate knows no user", record: "no directory user"},
		{name: "admin from another domain", opUser: `EVIL\adam`, status: http.StatusForbidden,
			text: "printgate knows no user", record: "no directory user"},
		{name: "two domains", opUser: `CORP\adam@evil.example`, status: http.StatusForbidden,
			text: "printgate knows no user", record: "no directory user"},
		{name: "alias", opUser: "ali.example", status: http.StatusForbidden,
			text: "printgate knows no user", record: "no directory user"},
		{name: "wrong state", opUser: userName, status: http.StatusBadRequest, text: "took too long",
			after: func(t *testing.T, _ *http.Client, back *url.URL) *url.URL {
				q := back.Query()
				q.Set("state", newFlow().State)
				back.RawQuery = q.Encode()
				return back
			}},
		{name: "another browser", opUser: userName, status: http.StatusBadRequest, text: "took too long",
			after: func(t *testing.T, client *http.Client, back *url.URL) *url.URL {
				// The answer arrives at a browser that never started
				// this sign-in: it has no flow.
				client.Jar, _ = cookiejar.New(nil)
				return back
			}},
		{name: "wrong nonce", opUser: userName, status: http.StatusUnauthorized, text: "could not be trusted",
			before: func(t *testing.T, _ *http.Client, auth *url.URL) *url.URL {
				q := auth.Query()
				q.Set("nonce", newFlow().Nonce)
				auth.RawQuery = q.Encode()
				return auth
			}},
		{name: "wrong verifier", opUser: userName, status: http.StatusUnauthorized, text: "could not be trusted",
			after: func(t *testing.T, client *http.Client, back *url.URL) *url.URL {
				// The code reaches a browser whose flow has the same
				// state but not the verifier the challenge was made of.
				u, _ := url.Parse(e.base)
				var f flow
				for _, c := range client.Jar.Cookies(u) {
					if c.Name == flowCookiePlain {
						f, _ = parseFlow(c.Value)
					}
				}
				f.Verifier = oauth2.GenerateVerifier()
				client.Jar.SetCookies(u, []*http.Cookie{{Name: flowCookiePlain, Value: f.String(), Path: "/"}})
				return back
			}},
		{name: "code from another issuer", opUser: userName, status: http.StatusUnauthorized, text: "could not be trusted",
			before: func(t *testing.T, _ *http.Client, auth *url.URL) *url.URL {
				to, _ := url.Parse(other.URL)
				auth.Host = to.Host
				return auth
			}},
		{name: "provider error", opUser: userName, status: http.StatusUnauthorized, text: "did not complete",
			after: func(t *testing.T, _ *http.Client, back *url.URL) *url.URL {
				q := back.Query()
				q.Del("code")
				q.Set("error", "access_denied")
				back.RawQuery = q.Encode()
				return back
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := browserless(t)
			before := len(e.audit.names())
			auth := e.start(t, client)
			if tc.before != nil {
				auth = tc.before(t, client, auth)
			}
			back := e.signIn(t, auth, tc.opUser)
			if tc.after != nil {
				back = tc.after(t, client, back)
			}
			status, _, body := finish(t, client, back)
			if status != tc.status || !strings.Contains(body, tc.text) {
				t.Fatalf("status %d, want %d with %q:\n%s", status, tc.status, tc.text, body)
			}
			if e.sessionOf(client) {
				t.Fatal("refused, yet a session cookie was set")
			}
			if !strings.Contains(body, `id="signin"`) {
				t.Fatal("the refusal page lacks the password form")
			}
			recorded := e.audit.since(before)
			switch {
			case tc.record == "" && len(recorded) > 0:
				t.Fatalf("recorded %+v", recorded)
			case tc.record != "" && (len(recorded) != 1 || recorded[0].Name != ActionLoginFailed ||
				recorded[0].Method != MethodOIDC || recorded[0].Reason != tc.record):
				t.Fatalf("recorded %+v, want one login-failed (%s)", recorded, tc.record)
			}
		})
	}
}

// TestOIDCLookalikeNames: a name outside ASCII that a directory's
// Unicode case folding matches to another (PostgreSQL's lower() and
// LDAP's caseIgnoreMatch take full-width letters and the dotted capital I
// for their ASCII twins) belongs to another account at the provider, and
// signs in as nobody; the users themselves still sign in.
func TestOIDCLookalikeNames(t *testing.T) {
	e := newOIDCEnvOn(t, database.Postgres, "")
	for _, tc := range []struct {
		opUser, dest, record string
	}{
		{"ａｄａｍ", "", "no directory user"},
		{"AL\u0130CE", "", "no directory user"},
		{adminName, "/admin", ""},
		{"ALICE@corp.example", "/my", ""},
	} {
		t.Run(tc.opUser, func(t *testing.T) {
			client := browserless(t)
			before := len(e.audit.names())
			status, dest, body := finish(t, client, e.signIn(t, e.start(t, client), tc.opUser))
			if tc.dest != "" {
				if status != http.StatusSeeOther || dest != tc.dest {
					t.Fatalf("status %d to %q, want %q:\n%s", status, dest, tc.dest, body)
				}
				return
			}
			recorded := e.audit.since(before)
			if status != http.StatusForbidden || e.sessionOf(client) || len(recorded) != 1 || recorded[0].Reason != tc.record {
				t.Fatalf("status %d to %q, recorded %+v: want refused (%s)", status, dest, recorded, tc.record)
			}
		})
	}
}

// TestOIDCDisabled refuses a user disabled in the directory, though the
// provider vouches for them.
func TestOIDCDisabled(t *testing.T) {
	e := newOIDCEnv(t, "")
	if err := e.dir.SetDisabled(t.Context(), userName, true, nil); err != nil {
		t.Fatal(err)
	}
	client := browserless(t)
	status, _, body := finish(t, client, e.signIn(t, e.start(t, client), userName))
	if status != http.StatusForbidden || !strings.Contains(body, "is disabled") || e.sessionOf(client) {
		t.Fatalf("status %d, session %t:\n%s", status, e.sessionOf(client), body)
	}
	if last := e.audit.last(); last.Name != ActionLoginFailed || last.Target != userName || last.Reason != "account disabled" {
		t.Fatalf("recorded %+v", last)
	}
}

// TestOIDCEmailClaim matches users by their address: hanako@corp.example
// is hanako through the owner mapping, and an address the provider has
// not verified is refused.
func TestOIDCEmailClaim(t *testing.T) {
	e := newOIDCEnv(t, "email")
	for _, tc := range []struct {
		opUser string
		status int
		dest   string
	}{
		{adminName, http.StatusSeeOther, "/admin"},
		{"unverified", http.StatusUnauthorized, ""},
		{"Alice@evil.example", http.StatusForbidden, ""}, // verified, but not the company's domain
		{`EVIL\adam`, http.StatusForbidden, ""},          // ADAM@attacker.example
	} {
		client := browserless(t)
		status, dest, body := finish(t, client, e.signIn(t, e.start(t, client), tc.opUser))
		if status != tc.status || dest != tc.dest {
			t.Errorf("%s: status %d to %q:\n%s", tc.opUser, status, dest, body)
		}
	}
}

// TestOIDCForeignTokens feeds the relying party's verification real ID
// tokens it must refuse: one from another provider (another issuer), and
// one from a provider that names the trusted issuer but signs with a key
// of its own.
func TestOIDCForeignTokens(t *testing.T) {
	e := newOIDCEnv(t, "")
	ctx := t.Context()
	trusted, err := e.srv.oidc.discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const nonce = "the-nonce"
	other := oidcop.Start(t, oidcop.Options{ClientID: oidcClientID, ClientSecret: oidcClientSecret,
		RedirectURIs: []string{e.base + oidcCallbackPath}, Users: opUsers})
	impostor := oidcop.Start(t, oidcop.Options{ClientID: oidcClientID, ClientSecret: oidcClientSecret,
		RedirectURIs: []string{e.base + oidcCallbackPath}, Users: opUsers, Issuer: e.op.Issuer})
	for _, tc := range []struct {
		name string
		op   *oidcop.Provider
		want string
	}{
		{"trusted", e.op, ""},
		// go-oidc checks the signature before the issuer: the other
		// provider's key is not the trusted one's either.
		{"another issuer", other, "verify"},
		{"impostor", impostor, "signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := idToken(t, tc.op, e.base+oidcCallbackPath, nonce)
			name, err := e.srv.oidc.verify(ctx, trusted, raw, nonce)
			switch {
			case tc.want == "" && (err != nil || name != userName):
				t.Fatalf("the trusted provider's token: %q, %v", name, err)
			case tc.want != "" && (!errors.Is(err, errOIDCToken) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("accepted or refused for another reason (%v), want %q", err, tc.want)
			}
		})
	}
	// The same token from the trusted provider with another nonce.
	raw := idToken(t, e.op, e.base+oidcCallbackPath, nonce)
	if _, err := e.srv.oidc.verify(ctx, trusted, raw, "another"); !errors.Is(err, errOIDCToken) {
		t.Fatalf("a token of another sign-in: %v", err)
	}
}

// idToken signs alice in at p, straight from its endpoints, and returns
// the ID token it issues.
func idToken(t *testing.T, p *oidcop.Provider, redirect, nonce string) string {
	t.Helper()
	conf := oauth2.Config{ClientID: oidcClientID, ClientSecret: oidcClientSecret, RedirectURL: redirect,
		Endpoint: oauth2.Endpoint{AuthURL: p.URL + "/authorize", TokenURL: p.URL + "/oauth/token"},
		Scopes:   []string{oidc.ScopeOpenID, "profile"}}
	verifier := oauth2.GenerateVerifier()
	back, err := oidcop.SignIn(t.Context(), conf.AuthCodeURL("s", oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)),
		userName, opPassword)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := conf.Exchange(t.Context(), back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	return raw
}

// TestOIDCProviderDown shows a clear page when the provider cannot be
// reached, and the password form still works.
func TestOIDCProviderDown(t *testing.T) {
	e := newEnv(t, openDB(t, database.SQLite), func(o *Options) {
		o.OIDC = &OIDCConfig{Issuer: "http://127.0.0.1:1", ClientID: "x", ClientSecret: "y",
			RedirectURL: "http://127.0.0.1:2" + oidcCallbackPath}
	})
	w := e.do(t, request{method: http.MethodGet, path: oidcStartPath + "?lang=en"})
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "cannot be reached") {
		t.Fatalf("status %d:\n%s", w.Code, w.Body)
	}
	e.signIn(t, userName)
}

// TestOIDCOff serves no single sign-on without its configuration, and
// its routes, public, with it.
func TestOIDCOff(t *testing.T) {
	on := newEnv(t, openDB(t, database.SQLite), func(o *Options) { o.OIDC = &OIDCConfig{} })
	var got []string
	for _, r := range on.srv.routes() {
		if strings.HasPrefix(r.path, oidcStartPath) {
			got = append(got, r.method+" "+r.path+" "+r.access.String())
		}
	}
	if want := []string{"GET /signin/oidc public", "GET /signin/oidc/callback public"}; !slices.Equal(got, want) {
		t.Errorf("routes %q, want %q", got, want)
	}
	e := newEnv(t, openDB(t, database.SQLite), nil)
	for _, path := range []string{oidcStartPath, oidcCallbackPath + "?state=x&code=y"} {
		if w := e.do(t, request{method: http.MethodGet, path: path}); w.Code != http.StatusNotFound {
			t.Errorf("%s: status %d", path, w.Code)
		}
	}
	if w := e.do(t, request{method: http.MethodGet, path: "/signin"}); strings.Contains(w.Body.String(), "sso-start") {
		t.Error("the sign-in page offers single sign-on that is not configured")
	}
}

// FuzzParseFlow feeds the flow cookie's parser what a browser may send.
func FuzzParseFlow(f *testing.F) {
	f.Add(newFlow().String())
	f.Add("..")
	f.Add("A.B.C")
	f.Fuzz(func(t *testing.T, s string) {
		fl, err := parseFlow(s)
		if err == nil && fl.String() != s {
			t.Fatalf("%q parsed as %+v", s, fl)
		}
	})
}

func (a *auditLog) last() Action {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.actions) == 0 {
		return Action{}
	}
	return a.actions[len(a.actions)-1]
}

func (a *auditLog) since(n int) []Action {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Action(nil), a.actions[n:]...)
}

// TestLookalike: what a directory's Unicode folding matches, and what
// single sign-on lets stand for the user.
func TestLookalike(t *testing.T) {
	for _, tc := range []struct {
		login, name string
		want        bool
	}{
		{"alice", "alice", false},
		{"ALICE", "alice", false},
		{"t.yamada", "tyamada", false}, // matched by LDAP's logins attribute
		{"Müller", "müller", false},
		{"ÜBER", "über", false},
		{"Mu\u0308ller", "Müller", false}, // decomposed: the same name
		{"山田", "山田", false},
		{"AL\u0130CE", "alice", true},
		{"ａｄａｍ", "adam", true},
		{"\u212Aim", "kim", true},
		{"kate", "\u212Aate", true}, // the look-alike is the directory's
		{"ſam", "sam", true},
		{"山田", "tyamada", true}, // outside ASCII, only the user's own name
	} {
		if got := lookalike(tc.login, tc.name); got != tc.want {
			t.Errorf("lookalike(%q, %q) = %v, want %v", tc.login, tc.name, got, tc.want)
		}
	}
}

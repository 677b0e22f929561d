// Package oidcop runs a real OpenID Provider for tests: zitadel/oidc's op
// package (discovery, authorization with PKCE, token and keys endpoints,
// RS256-signed ID tokens) over a small in-memory storage, with a login
// form of its own, on a loopback port. Nothing in it is a stand-in for
// the protocol: a relying party talks to it as to any identity provider.
//
// It lives apart from testenv because it pulls zitadel's dependencies,
// which only the tests that sign in by OpenID Connect need.
package oidcop

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// User is an account of the provider.
type User struct {
	// Subject is the stable identifier (sub); Username what the login
	// form takes and preferred_username says.
	Subject, Username, Password string
	// Email and EmailVerified answer the email scope.
	Email         string
	EmailVerified bool
	// Name answers the profile scope.
	Name string
}

// Options configure a Provider.
type Options struct {
	// ClientID and ClientSecret register the one confidential client.
	ClientID, ClientSecret string
	// RedirectURIs are the client's allowed redirect URIs, exactly.
	RedirectURIs []string
	// Users are the accounts the login form accepts.
	Users []User
	// Issuer, when set, is the issuer the provider names itself and puts
	// in its tokens instead of its own address: a provider that claims
	// to be another, signing with its own key.
	Issuer string
	// Listener, when set, is where the provider serves; by default a new
	// loopback port.
	Listener net.Listener
}

// Provider is a running OpenID Provider.
type Provider struct {
	// URL is where the provider listens; Issuer the issuer it names
	// (URL unless Options.Issuer said otherwise).
	URL, Issuer string
	st          *storage
	op          *op.Provider
}

// Start runs a provider until the test ends.
func Start(t testing.TB, opts Options) *Provider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("oidcop: key: %v", err)
	}
	st := newStorage(opts, key)
	srv := httptest.NewUnstartedServer(nil)
	if opts.Listener != nil {
		srv.Listener.Close()
		srv.Listener = opts.Listener
	}
	base := "http://" + srv.Listener.Addr().String()
	p := &Provider{URL: base, Issuer: base, st: st}
	if opts.Issuer != "" {
		p.Issuer = opts.Issuer
	}
	cfg := &op.Config{
		// Access tokens are encrypted with this; the tests never read them.
		CryptoKey:      sha256.Sum256([]byte(p.Issuer)),
		CodeMethodS256: true,
		AuthMethodPost: true,
	}
	p.op, err = op.NewProvider(cfg, st, op.StaticIssuer(p.Issuer), op.WithAllowInsecure())
	if err != nil {
		t.Fatalf("oidcop: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", p.loginPage)
	mux.HandleFunc("POST /login", p.login)
	mux.Handle("/", p.op)
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	return p
}

// Challenges returns the PKCE code challenge methods of the
// authorization requests received so far, "" for one without.
func (p *Provider) Challenges() []string {
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	return append([]string(nil), p.st.challenges...)
}

// Exchanges counts the authorization codes redeemed at the token endpoint.
func (p *Provider) Exchanges() int {
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	return p.st.exchanges
}

var loginForm = template.Must(template.New("login").Parse(`<!doctype html>
<html><head><title>Test identity provider</title></head><body>
<h1>Test identity provider</h1>
{{with .Error}}<p id="op-error">{{.}}</p>{{end}}
<form method="post" action="/login" id="op-login">
<input type="hidden" name="id" value="{{.ID}}">
<label>User <input name="username" id="op-username"></label>
<label>Password <input type="password" name="password" id="op-password"></label>
<button type="submit">Sign in</button>
</form></body></html>`))

func (p *Provider) loginPage(w http.ResponseWriter, r *http.Request) {
	renderLogin(w, r.URL.Query().Get("authRequestID"), "")
}

func renderLogin(w http.ResponseWriter, id, problem string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if problem != "" {
		w.WriteHeader(http.StatusUnauthorized)
	}
	loginForm.Execute(w, struct{ ID, Error string }{id, problem})
}

// login checks the form and sends the browser back to the authorization
// endpoint's callback, which hands the relying party its code.
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	id := r.PostFormValue("id")
	if err := p.st.signIn(id, r.PostFormValue("username"), r.PostFormValue("password")); err != nil {
		renderLogin(w, id, err.Error())
		return
	}
	// The callback is this provider's own, wherever its issuer says it
	// is: an impostor must finish its own flows.
	ctx := op.ContextWithIssuer(r.Context(), p.URL)
	http.Redirect(w, r, op.AuthCallbackURL(p.op)(ctx, id), http.StatusFound)
}

// AuthorizeURL is the provider's authorization endpoint with q.
func (p *Provider) AuthorizeURL(q url.Values) string {
	return p.URL + "/authorize?" + q.Encode()
}

// SignIn completes an authorization request at the provider as a browser
// would, without one: it follows authURL to the login form, signs in as
// username and returns the redirect to the relying party (with the code
// and state), unfollowed. Tests use it to build responses a browser could
// not be made to send.
func SignIn(ctx context.Context, authURL, username, password string) (*url.URL, error) {
	client := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/login" {
			return nil
		}
		return http.ErrUseLastResponse
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	if resp.StatusCode != http.StatusOK || id == "" {
		return nil, fmt.Errorf("oidcop: authorize answered %s at %s", resp.Status, resp.Request.URL)
	}
	login := *resp.Request.URL
	login.RawQuery = ""
	form := url.Values{"id": {id}, "username": {username}, "password": {password}}
	for next := login.String(); ; {
		var resp *http.Response
		if next == login.String() {
			resp, err = client.PostForm(next, form)
		} else {
			resp, err = client.Get(next)
		}
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			return nil, fmt.Errorf("oidcop: %s answered %s without a redirect", next, resp.Status)
		}
		if loc.Host != login.Host {
			return loc, nil
		}
		next = loc.String()
	}
}

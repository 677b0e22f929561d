package web

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/directory"
)

func TestInClear(t *testing.T) {
	tests := []struct {
		name, remote string
		tls          bool
		forwarded    string
		want         bool
	}{
		{"another machine", "192.0.2.7:40000", false, "", true},
		{"another machine over TLS", "192.0.2.7:40000", true, "", false},
		{"loopback", "127.0.0.1:40000", false, "", false},
		{"loopback, not .1", "127.0.0.2:40000", false, "", false},
		{"IPv6 loopback", "[::1]:40000", false, "", false},
		{"IPv4-mapped loopback", "[::ffff:127.0.0.1]:40000", false, "", false},
		{"IPv6 elsewhere", "[2001:db8::7]:40000", false, "", true},
		{"forwarded-for loopback is not believed", "192.0.2.7:40000", false, "127.0.0.1", true},
		{"unreadable address", "@", false, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/signin", nil)
			r.RemoteAddr = tt.remote
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tt.forwarded != "" {
				r.Header.Set("X-Forwarded-For", tt.forwarded)
			}
			if got := inClear(r); got != tt.want {
				t.Errorf("inClear = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSignInNeedsTLS checks that a right password sent to the console in
// clear from another machine is refused before it is checked, unless the
// server allows plain credentials, and that loopback and TLS pass.
func TestSignInNeedsTLS(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		tests := []struct {
			name       string
			allow, tls bool
			remote     string
			want       int
		}{
			{"plain from another machine", false, false, "192.0.2.1:40000", http.StatusForbidden},
			{"TLS from another machine", false, true, "192.0.2.1:40000", http.StatusSeeOther},
			{"plain from loopback", false, false, "127.0.0.1:40000", http.StatusSeeOther},
			{"plain, allowed", true, false, "192.0.2.1:40000", http.StatusSeeOther},
		}
		e := newEnv(t, db, nil)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e.srv.opts.AllowPlainCredentials = tt.allow
				form := url.Values{"name": {userName}, "password": {testPassword}}
				r := httptest.NewRequest(http.MethodPost, "/signin", strings.NewReader(form.Encode()))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.RemoteAddr = tt.remote
				if tt.tls {
					r.TLS = &tls.ConnectionState{}
				}
				w := httptest.NewRecorder()
				e.h.ServeHTTP(w, r)
				if w.Code != tt.want {
					t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
				}
				if tt.want == http.StatusForbidden {
					if sessionCookie(w) != nil {
						t.Error("a refused sign-in set a session cookie")
					}
					if !strings.Contains(w.Body.String(), "https://") {
						t.Errorf("the refusal does not say to use https: %s", w.Body)
					}
				}
			})
		}
	})
}

// TestAPIMarksPlainText checks that only API routes that take secrets get
// their context marked, and only when the request came in clear from
// another machine and the server does not allow plain credentials.
func TestAPIMarksPlainText(t *testing.T) {
	var marked bool
	probe := func(c *gin.Context) {
		marked = release.PlainText(c.Request.Context())
		c.Status(http.StatusNoContent)
	}
	tests := []struct {
		name    string
		secrets bool
		allow   bool
		remote  string
		want    bool
	}{
		{"secrets, plain from another machine", true, false, "192.0.2.1:40000", true},
		{"secrets, plain from loopback", true, false, "127.0.0.1:40000", false},
		{"secrets, allowed", true, true, "192.0.2.1:40000", false},
		{"no secrets", false, false, "192.0.2.1:40000", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(Options{IPP: http.NotFoundHandler(), AllowPlainCredentials: tt.allow,
				API: []APIRoute{{http.MethodPost, "/api/v1/release/sessions", probe, tt.secrets}}})
			r := httptest.NewRequest(http.MethodPost, "/api/v1/release/sessions", strings.NewReader("{}"))
			r.RemoteAddr = tt.remote
			marked = false
			srv.engine().ServeHTTP(httptest.NewRecorder(), r)
			if marked != tt.want {
				t.Errorf("marked = %v, want %v", marked, tt.want)
			}
		})
	}
}

// TestDevicePlainCredentialsForm checks that an admin can register a
// device allowed plain credentials from the devices page, and that the
// page shows which devices are.
func TestDevicePlainCredentialsForm(t *testing.T) {
	devs := newDevices("secure")
	e := newEnv(t, openDB(t, database.SQLite), func(o *Options) { o.Devices = devs })
	admin := e.signIn(t, adminName)
	form := url.Values{"name": {"panel-1f"}, "printer": {"ipp://mfp-1f/ipp/print"}, "queue": {"secure"}, "method": {"id+pin"}}
	e.post(t, admin, "/admin/devices/add", form)
	form.Set("name", "panel-2f")
	form.Set("allow_plain_credentials", "on")
	e.post(t, admin, "/admin/devices/add", form)
	list, _ := devs.Devices(t.Context())
	got := map[string]bool{}
	for _, d := range list {
		got[d.Name] = d.AllowPlainCredentials
	}
	if got["panel-1f"] || !got["panel-2f"] {
		t.Errorf("allow plain credentials: %v, want only panel-2f", got)
	}
	if page := e.page(t, admin, "/admin/devices"); strings.Count(page, "PIN over plain HTTP") != 1 {
		t.Errorf("the devices page does not mark exactly the one device allowed plain credentials")
	}
}

// TestSecretsNeedTLS checks that every console form that carries a secret
// (a password, a PIN, a card's UID) is refused in clear from another
// machine before it is used, however the session was made: an OpenID
// sign-in makes one without a password crossing the network.
func TestSecretsNeedTLS(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db, func(o *Options) { o.AllowPlainCredentials = false })
		tok, err := e.srv.sessions.create(t.Context(), directory.Identity{Name: adminName,
			Roles: []directory.Role{directory.RoleAdmin}}, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			path string
			form url.Values
		}{
			{"/my/pin", url.Values{"pin": {"739184"}, "pin2": {"739184"}}},
			{"/my/password", url.Values{"current": {testPassword}, "password": {"a-new-secret-1"}, "password2": {"a-new-secret-1"}}},
			{"/admin/users/password", url.Values{"name": {userName}, "password": {"a-new-secret-1"}, "password2": {"a-new-secret-1"}}},
			{"/admin/users/cards/add", url.Values{"name": {userName}, "uid": {"04A1B2C3D4E5F7"}}},
		} {
			if w := e.do(t, request{method: http.MethodPost, path: tt.path, cookie: tok, form: tt.form}); w.Code != http.StatusForbidden {
				t.Errorf("POST %s in clear from another machine: %d, want 403", tt.path, w.Code)
			}
		}
		if st, _ := e.creds.PINStatus(t.Context(), adminName); st.Set {
			t.Error("a PIN sent in clear was set")
		}
		if cards, _ := e.creds.Cards(t.Context(), userName); len(cards) != 0 {
			t.Errorf("a card UID sent in clear was added: %d cards", len(cards))
		}
	})
}

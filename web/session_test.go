package web

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/throttle"
)

// sessionRows returns every column of every session row as text.
func sessionRows(t *testing.T, db *database.DB) [][]string {
	t.Helper()
	rows, err := db.Raw(`SELECT id_hash, user_name, display_name, role,
		CAST(created_at AS TEXT), CAST(seen_at AS TEXT), CAST(expires_at AS TEXT) FROM web_sessions`).Rows()
	if err != nil {
		t.Fatalf("read sessions: %v", err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		row := make([]string, 7)
		ptrs := make([]any, len(row))
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("scan session: %v", err)
		}
		out = append(out, row)
	}
	return out
}

func hasSession(t *testing.T, db *database.DB, token string) bool {
	for _, row := range sessionRows(t, db) {
		if row[0] == hashToken(token) {
			return true
		}
	}
	return false
}

// myStatus is the status of GET /my with token.
func (e *env) myStatus(t *testing.T, token string) int {
	t.Helper()
	return e.do(t, request{method: http.MethodGet, path: "/my", cookie: token}).Code
}

func TestSignIn(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db, nil)

		t.Run("wrong password", func(t *testing.T) {
			w := e.do(t, request{method: http.MethodPost, path: "/signin",
				form: url.Values{"name": {userName}, "password": {"wrong password"}}})
			if w.Code != http.StatusUnauthorized || sessionCookie(w) != nil {
				t.Fatalf("status %d, cookie %v; want 401 and no session", w.Code, sessionCookie(w))
			}
			if strings.Contains(w.Body.String(), "wrong password") {
				t.Fatal("the password is echoed in the page")
			}
		})

		t.Run("cookie and stored hash", func(t *testing.T) {
			w := e.do(t, request{method: http.MethodPost, path: "/signin",
				form: url.Values{"name": {"ALICE"}, "password": {testPassword}}})
			if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/my" {
				t.Fatalf("status %d to %q; want 303 to /my", w.Code, w.Header().Get("Location"))
			}
			c := sessionCookie(w)
			if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" {
				t.Fatalf("cookie %+v; want HttpOnly, SameSite=Lax, path /, not Secure over HTTP", c)
			}
			if len(c.Value) < 26 {
				t.Fatalf("session secret %d characters; want at least 26 (128 bits)", len(c.Value))
			}
			for _, row := range sessionRows(t, db) {
				for _, col := range row {
					if strings.Contains(col, c.Value) {
						t.Fatalf("the session secret is stored in the sessions table: %v", row)
					}
				}
			}
			if !hasSession(t, db, c.Value) {
				t.Fatal("no session row under the secret's hash")
			}
			if got := e.myStatus(t, c.Value); got != http.StatusOK {
				t.Fatalf("GET /my: %d; want 200", got)
			}
		})

		t.Run("recorded", func(t *testing.T) {
			w := e.do(t, request{method: http.MethodPost, path: "/signin",
				form: url.Values{"name": {userName}, "password": {testPassword}}})
			if w.Code != http.StatusSeeOther {
				t.Fatalf("sign in: %d", w.Code)
			}
			last := e.audit.last()
			if last.Name != ActionSignIn || last.Method != MethodPassword || last.Actor != userName || last.Target != userName ||
				last.Remote != "192.0.2.1" {
				t.Fatalf("last action %+v; want %s of %s by password from 192.0.2.1", last, ActionSignIn, userName)
			}
			if strings.Contains(fmt.Sprint(last), testPassword) {
				t.Fatal("the password is in the record")
			}
		})

		t.Run("staff land on the dashboard", func(t *testing.T) {
			w := e.do(t, request{method: http.MethodPost, path: "/signin",
				form: url.Values{"name": {auditorName}, "password": {testPassword}}})
			if w.Header().Get("Location") != "/admin" {
				t.Fatalf("auditor sent to %q; want /admin", w.Header().Get("Location"))
			}
		})

		t.Run("rotation", func(t *testing.T) {
			old := e.signIn(t, userName)
			w := e.do(t, request{method: http.MethodPost, path: "/signin", cookie: old,
				form: url.Values{"name": {userName}, "password": {testPassword}}})
			c := sessionCookie(w)
			if c == nil || c.Value == old {
				t.Fatalf("cookie %v after a second sign-in; want a new secret", c)
			}
			if hasSession(t, db, old) {
				t.Fatal("the old session row survived the new sign-in")
			}
			if got := e.myStatus(t, old); got != http.StatusSeeOther {
				t.Fatalf("old secret: GET /my %d; want 303", got)
			}
			if got := e.myStatus(t, c.Value); got != http.StatusOK {
				t.Fatalf("new secret: GET /my %d; want 200", got)
			}
		})

		t.Run("sign out", func(t *testing.T) {
			token := e.signIn(t, userName)
			w := e.do(t, request{method: http.MethodPost, path: "/signout", cookie: token, form: url.Values{}})
			if w.Code != http.StatusSeeOther {
				t.Fatalf("sign out: %d; want 303", w.Code)
			}
			if c := sessionCookie(w); c == nil || c.MaxAge >= 0 {
				t.Fatalf("sign out cookie %+v; want it deleted", c)
			}
			if hasSession(t, db, token) {
				t.Fatal("the session row survived sign-out")
			}
			if got := e.myStatus(t, token); got != http.StatusSeeOther {
				t.Fatalf("after sign-out: GET /my %d; want 303", got)
			}
		})

		t.Run("idle timeout", func(t *testing.T) {
			token := e.signIn(t, userName)
			e.clock.Advance(20 * time.Minute)
			if got := e.myStatus(t, token); got != http.StatusOK {
				t.Fatalf("after 20 idle minutes: %d; want 200", got)
			}
			e.clock.Advance(20 * time.Minute) // 20 minutes since the last use
			if got := e.myStatus(t, token); got != http.StatusOK {
				t.Fatalf("20 minutes after the last use: %d; want 200", got)
			}
			e.clock.Advance(DefaultIdleTimeout)
			if got := e.myStatus(t, token); got != http.StatusSeeOther {
				t.Fatalf("after the idle timeout: %d; want 303", got)
			}
			if hasSession(t, db, token) {
				t.Fatal("the idle session's row was kept")
			}
		})

		t.Run("absolute timeout", func(t *testing.T) {
			token := e.signIn(t, userName)
			for elapsed := time.Duration(0); elapsed < DefaultSessionLifetime-20*time.Minute; elapsed += 20 * time.Minute {
				e.clock.Advance(20 * time.Minute)
				if got := e.myStatus(t, token); got != http.StatusOK {
					t.Fatalf("in use after %v: %d; want 200", elapsed, got)
				}
			}
			e.clock.Advance(20 * time.Minute)
			if got := e.myStatus(t, token); got != http.StatusSeeOther {
				t.Fatalf("after the lifetime: %d; want 303", got)
			}
		})

		t.Run("expired rows are swept at sign-in", func(t *testing.T) {
			e.signIn(t, userName)
			e.clock.Advance(DefaultSessionLifetime)
			e.signIn(t, adminName)
			if n := len(sessionRows(t, db)); n != 1 {
				t.Fatalf("%d session rows; want only the new one", n)
			}
		})
	})
}

func TestSecureCookie(t *testing.T) {
	e := newEnv(t, openDB(t, database.SQLite), nil)
	r := httptest.NewRequest(http.MethodPost, "/signin",
		strings.NewReader(url.Values{"name": {userName}, "password": {testPassword}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.TLS = &tls.ConnectionState{}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	c := sessionCookie(w)
	if c == nil || c.Name != cookieSecure || !c.Secure || !c.HttpOnly {
		t.Fatalf("cookie over TLS %+v; want Secure %s", c, cookieSecure)
	}
	// Over TLS the plain-named cookie, which a plain-HTTP page could have
	// planted, is not read.
	r = httptest.NewRequest(http.MethodGet, "/my", nil)
	r.TLS = &tls.ConnectionState{}
	r.AddCookie(&http.Cookie{Name: cookiePlain, Value: c.Value})
	w = httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("plain cookie over TLS: %d; want 303", w.Code)
	}
}

func TestSignInRateLimit(t *testing.T) {
	for _, dialect := range []database.Dialect{database.SQLite, database.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			e := newEnv(t, openDB(t, dialect), nil)
			fail := func(name string) int {
				return e.do(t, request{method: http.MethodPost, path: "/signin",
					form: url.Values{"name": {name}, "password": {"not the password"}}}).Code
			}
			account, address := signinRules[throttle.Account], signinRules[throttle.Address]
			for i := range account.Max {
				if got := fail(userName); got != http.StatusUnauthorized {
					t.Fatalf("failure %d: %d; want 401", i+1, got)
				}
			}
			w := e.do(t, request{method: http.MethodPost, path: "/signin",
				form: url.Values{"name": {userName}, "password": {testPassword}}})
			if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
				t.Fatalf("right password after %d failures: %d; want 429 with Retry-After", account.Max, w.Code)
			}
			if !strings.Contains(w.Body.String(), "15") {
				t.Errorf("429 page does not say how long to wait: %.300s", w.Body)
			}
			// Other names from the same address fail until the address's
			// own limit, then are refused too.
			for i := account.Max; i < address.Max; i++ {
				if got := fail(fmt.Sprintf("someone-%d", i)); got != http.StatusUnauthorized {
					t.Fatalf("address failure %d: %d; want 401", i+1, got)
				}
			}
			if got := fail("someone-else"); got != http.StatusTooManyRequests {
				t.Fatalf("other name from the same address after %d failures: %d; want 429", address.Max, got)
			}
			e.clock.Advance(account.Window)
			if got := e.signIn(t, userName); got == "" {
				t.Fatal("no sign-in after the window")
			}
		})
	}
}

// TestAdminUnlockPassword: an administrator's unlock lifts the password
// lock at once.
func TestAdminUnlockPassword(t *testing.T) {
	e := newEnv(t, openDB(t, database.SQLite), nil)
	for range signinRules[throttle.Account].Max + 1 {
		e.do(t, request{method: http.MethodPost, path: "/signin",
			form: url.Values{"name": {userName}, "password": {"not the password"}}})
	}
	admin := e.signIn(t, adminName)
	w := e.do(t, request{method: http.MethodPost, path: "/admin/users/unlock", cookie: admin,
		form: url.Values{"name": {userName}}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("unlock: %d %.300s", w.Code, w.Body)
	}
	if got := e.signIn(t, userName); got == "" {
		t.Fatal("still locked after the admin's unlock")
	}
}

// TestSessionFollowsDirectory: a session's user is asked about again at
// the session's next touch, at most a minute later: an administrator the
// directory demotes loses the console's powers, and one it disables is
// signed out, without waiting for the session to expire.
func TestSessionFollowsDirectory(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db, nil)
		demoted, disabled, kept := e.signIn(t, adminName), e.signIn(t, auditorName), e.signIn(t, userName)
		if err := e.dir.SetRole(t.Context(), adminName, directory.RoleUser, nil); err != nil {
			t.Fatal(err)
		}
		if err := e.dir.SetDisabled(t.Context(), auditorName, true, nil); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(2 * time.Minute)
		if w := e.do(t, request{method: http.MethodGet, path: "/admin/users", cookie: demoted}); w.Code != http.StatusForbidden {
			t.Errorf("a demoted administrator's session: GET /admin/users %d, want 403", w.Code)
		}
		w := e.do(t, request{method: http.MethodPost, path: "/admin/users/cards/add", cookie: demoted,
			form: url.Values{"name": {userName}, "uid": {"04A1B2C3D4E5F6"}}})
		if w.Code != http.StatusForbidden {
			t.Errorf("a demoted administrator's session: adding a card %d, want 403", w.Code)
		}
		if w := e.do(t, request{method: http.MethodGet, path: "/my", cookie: demoted}); w.Code != http.StatusOK {
			t.Errorf("a demoted administrator's session: GET /my %d, want 200 (still a user)", w.Code)
		}
		if w := e.do(t, request{method: http.MethodGet, path: "/admin/history", cookie: disabled}); w.Code != http.StatusSeeOther ||
			w.Header().Get("Location") != "/signin" {
			t.Errorf("a disabled auditor's session: GET /admin/history %d %q, want 303 to /signin", w.Code, w.Header().Get("Location"))
		}
		if w := e.do(t, request{method: http.MethodGet, path: "/my", cookie: kept}); w.Code != http.StatusOK {
			t.Errorf("an unchanged user's session: GET /my %d, want 200", w.Code)
		}
		if cards, _ := e.creds.Cards(t.Context(), userName); len(cards) != 0 {
			t.Errorf("the demoted administrator added a card: %d", len(cards))
		}
	})
}

// TestSessionEndsWhenNameReissued: a leaver's session ends at its next
// touch once the name is another account's (a login given again to a
// newcomer), instead of becoming the newcomer's.
func TestSessionEndsWhenNameReissued(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db, nil)
		const leaver = "kenji"
		add := func() {
			if err := e.dir.AddUser(t.Context(), directory.User{Name: leaver, Role: directory.RoleUser}, testPassword, nil); err != nil {
				t.Fatal(err)
			}
		}
		add()
		old, kept := e.signIn(t, leaver), e.signIn(t, userName)
		if err := e.dir.DeleteUser(t.Context(), leaver, nil); err != nil {
			t.Fatal(err)
		}
		add() // the same name, another account
		e.clock.Advance(2 * time.Minute)
		if w := e.do(t, request{method: http.MethodGet, path: "/my", cookie: old}); w.Code != http.StatusSeeOther ||
			w.Header().Get("Location") != "/signin" {
			t.Errorf("the leaver's session after the name was given again: GET /my %d %q, want 303 to /signin",
				w.Code, w.Header().Get("Location"))
		}
		if w := e.do(t, request{method: http.MethodGet, path: "/my", cookie: kept}); w.Code != http.StatusOK {
			t.Errorf("an unchanged user's session: GET /my %d, want 200", w.Code)
		}
		if w := e.do(t, request{method: http.MethodGet, path: "/my", cookie: e.signIn(t, leaver)}); w.Code != http.StatusOK {
			t.Errorf("the newcomer's own session: GET /my %d, want 200", w.Code)
		}
	})
}

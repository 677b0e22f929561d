package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
	"github.com/printgate/printgate/release/directory"
)

const newPassword = "a brand new password"

// newResetEnv is a console whose built-in directory takes passwords from
// the console, as cmd/printgate wires it; edit may change more.
func newResetEnv(t *testing.T, edit func(*Options)) *env {
	t.Helper()
	db := openDB(t, database.SQLite)
	hasher, err := secret.NewHasher(testKey, testParams, nil)
	if err != nil {
		t.Fatal(err)
	}
	return newEnv(t, db, func(o *Options) {
		o.PasswordSetter = directory.NewBuiltin(db, hasher)
		if edit != nil {
			edit(o)
		}
	})
}

func resetForm(name, password, again string) url.Values {
	return url.Values{"name": {name}, "password": {password}, "password2": {again}}
}

// TestResetPassword has an admin set a user's password: the new one
// works, the old one not, the user's console sessions end, and the reset
// is recorded without the password.
func TestResetPassword(t *testing.T) {
	e := newResetEnv(t, nil)
	alices := e.signIn(t, userName)
	admin := e.signIn(t, adminName)
	w := e.do(t, request{method: http.MethodPost, path: "/admin/users/password", cookie: admin,
		form: resetForm(userName, newPassword, newPassword)})
	if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Location"), "ok=password_reset") {
		t.Fatalf("status %d to %q:\n%s", w.Code, w.Header().Get("Location"), w.Body)
	}
	ctx := t.Context()
	if _, err := e.dir.Authenticate(ctx, userName, newPassword); err != nil {
		t.Fatalf("the new password: %v", err)
	}
	if _, err := e.dir.Authenticate(ctx, userName, testPassword); !errors.Is(err, directory.ErrInvalidCredentials) {
		t.Fatalf("the old password: %v", err)
	}
	if w := e.do(t, request{method: http.MethodGet, path: "/my", cookie: alices}); w.Code != http.StatusSeeOther {
		t.Fatalf("alice's session outlived the reset: %d", w.Code)
	}
	if w := e.do(t, request{method: http.MethodGet, path: "/admin", cookie: admin}); w.Code != http.StatusOK {
		t.Fatalf("the admin's own session ended: %d", w.Code)
	}
	last := e.audit.last()
	if last.Name != ActionResetPassword || last.Actor != adminName || last.Target != userName {
		t.Fatalf("recorded %+v", last)
	}
	for _, a := range e.audit.since(0) {
		for k, v := range a.Details {
			if strings.Contains(v, newPassword) || strings.Contains(k, "password") {
				t.Fatalf("the record holds the password: %+v", a)
			}
		}
	}
	// The users page offers the form to admins only.
	page := e.do(t, request{method: http.MethodGet, path: "/admin/users?user=" + userName, cookie: admin}).Body.String()
	if !strings.Contains(page, `id="reset-password"`) {
		t.Error("admins are not offered the reset form")
	}
	audrey := e.signIn(t, auditorName)
	page = e.do(t, request{method: http.MethodGet, path: "/admin/users?user=" + userName, cookie: audrey}).Body.String()
	if strings.Contains(page, `id="reset-password"`) {
		t.Error("auditors are offered the reset form")
	}
}

// TestResetPasswordRefused holds the reset's refusals: none of them
// changes the password.
func TestResetPasswordRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		as     string
		form   url.Values
		header map[string]string
		edit   func(*Options)
		// then changes the server after the admin signed in.
		then   func(*server)
		status int
		text   string
	}{
		{name: "auditor", as: auditorName, form: resetForm(userName, newPassword, newPassword), status: http.StatusForbidden},
		{name: "user", as: userName, form: resetForm(adminName, newPassword, newPassword), status: http.StatusForbidden},
		{name: "mismatch", as: adminName, form: resetForm(userName, newPassword, newPassword+"x"),
			status: http.StatusBadRequest, text: "The two new passwords differ"},
		{name: "empty", as: adminName, form: resetForm(userName, "", ""), status: http.StatusBadRequest,
			text: "Enter the new password twice"},
		{name: "too short", as: adminName, form: resetForm(userName, "short", "short"), status: http.StatusBadRequest,
			text: "must be 8 to"},
		{name: "unknown user", as: adminName, form: resetForm("nobody", newPassword, newPassword),
			status: http.StatusNotFound},
		{name: "cross-site", as: adminName, form: resetForm(userName, newPassword, newPassword),
			header: map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
			status: http.StatusForbidden, text: "came from another site"},
		{name: "plain HTTP", as: adminName, form: resetForm(userName, newPassword, newPassword),
			then:   func(s *server) { s.opts.AllowPlainCredentials = false },
			status: http.StatusForbidden, text: "only over HTTPS"},
		{name: "directory keeps passwords", as: adminName, form: resetForm(userName, newPassword, newPassword),
			edit: func(o *Options) { o.PasswordSetter = nil }, status: http.StatusNotFound,
			text: "kept in the company directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newResetEnv(t, tc.edit)
			cookie := e.signIn(t, tc.as)
			if tc.then != nil {
				tc.then(e.srv)
			}
			header := map[string]string{"Accept-Language": "en"}
			for k, v := range tc.header {
				header[k] = v
			}
			w := e.do(t, request{method: http.MethodPost, path: "/admin/users/password", cookie: cookie,
				form: tc.form, header: header})
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.text) {
				t.Fatalf("status %d, want %d with %q:\n%s", w.Code, tc.status, tc.text, w.Body)
			}
			for _, name := range []string{userName, adminName} {
				if _, err := e.dir.Authenticate(t.Context(), name, testPassword); err != nil {
					t.Fatalf("%s's password changed: %v", name, err)
				}
			}
			if strings.Contains(strings.Join(e.audit.names(), ","), ActionResetPassword) {
				t.Fatalf("recorded %v", e.audit.names())
			}
		})
	}
}

// TestResetPasswordUnrecorded leaves the password as it was when its
// record cannot be written.
func TestResetPasswordUnrecorded(t *testing.T) {
	e := newResetEnv(t, nil)
	admin := e.signIn(t, adminName)
	e.audit.mu.Lock()
	e.audit.fail = true
	e.audit.mu.Unlock()
	w := e.do(t, request{method: http.MethodPost, path: "/admin/users/password", cookie: admin,
		form: resetForm(userName, newPassword, newPassword)})
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", w.Code)
	}
	if _, err := e.dir.Authenticate(t.Context(), userName, testPassword); err != nil {
		t.Fatalf("the password changed unrecorded: %v", err)
	}
}

// TestBrowserResetPassword has an admin set a user's password on the
// users page in Chromium; the user then signs in with it.
func TestBrowserResetPassword(t *testing.T) {
	ctx := browser(t)
	e := newResetEnv(t, nil)
	base := serve(t, e.h)
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/signin?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`#signin`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), adminName),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), testPassword),
		chromedp.Submit(chromedp.CSS(`#signin`)),
		chromedp.WaitVisible(chromedp.CSS(`span.who`)),
		chromedp.Navigate(base+"/admin/users?user="+userName),
		chromedp.WaitVisible(chromedp.CSS(`#reset-password`)),
		chromedp.SendKeys(chromedp.CSS(`#reset-password input[name="password"]`), newPassword),
		chromedp.SendKeys(chromedp.CSS(`#reset-password input[name="password2"]`), newPassword),
		chromedp.Click(chromedp.CSS(`#reset-password button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash.ok`)),
	)
	screenshot(t, ctx, "password-reset")
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`p.flash.ok`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(flash, "The password has been set") {
		t.Fatalf("flash %q", flash)
	}
	if _, err := e.dir.Authenticate(t.Context(), userName, newPassword); err != nil {
		t.Fatalf("the password set in the browser does not work: %v", err)
	}
}

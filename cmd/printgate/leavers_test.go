package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release/directory"
)

// leaverEnv is a release environment with, beside the hold queue, an
// auth: basic queue that takes passwords over plain HTTP (the test's
// loopback), so that a disabled user's submissions can be tried.
func leaverEnv(t *testing.T) *releaseEnv {
	return newReleaseEnv(t, "", func(c *Config) {
		c.Queues = append(c.Queues, QueueConfig{Name: "basicq", Mode: "hold", Auth: "basic", AllowPlaintextBasic: true})
	})
}

// eventDetails returns the details of the events of type typ, oldest
// first.
func (e *releaseEnv) eventDetails(typ string) []map[string]string {
	e.t.Helper()
	var rows []struct{ Details string }
	openTestDB(e.t, e.srv).Raw(`SELECT details FROM audit_events WHERE type = ? ORDER BY seq`, typ).Scan(&rows)
	var out []map[string]string
	for _, r := range rows {
		d := map[string]string{}
		if err := json.Unmarshal([]byte(r.Details), &d); err != nil {
			e.t.Fatalf("details of a %s event: %v", typ, err)
		}
		out = append(out, d)
	}
	return out
}

// TestUserDisable: `user disable` refuses bob's card and PIN at once,
// ends his sessions at devices and in the console, refuses his password
// on a basic queue and in the console, and destroys his held jobs
// (documents and keys gone, a cancellation with the cause recorded for
// each, one admin event). `user enable` lets him sign in again; the jobs
// stay destroyed.
func TestUserDisable(t *testing.T) {
	e := leaverEnv(t)
	jobs := []int64{e.submit("bob", testdocs.PDF(1, "payslip 1", testdocs.A4)),
		e.submit("bob", testdocs.PDF(1, "payslip 2", testdocs.A4))}
	if code, st, err := basicPost(e.srv.Addr, "basicq", "bob", "bob-secret", testdocs.PDF(1, "b", testdocs.A4)); err != nil ||
		code != http.StatusOK || st != goipp.StatusOk {
		t.Fatalf("basic submission before disable: HTTP %d %v %v", code, st, err)
	}
	sess := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
	console := signInConsole(t, e.srv, "bob", "bob-secret")
	if len(e.spoolFiles()) != 3 {
		t.Fatalf("documents before disable: %v", e.spoolFiles())
	}

	out := runCLI(t, e.cfg, "", "user", "disable", "bob")
	if !strings.Contains(out, "3 held jobs destroyed") {
		t.Errorf("disable says %q", out)
	}

	logins := map[string]map[string]string{
		"card": {"card": "04A1B2C3"}, "id+pin": {"user": "1002", "pin": "4821"},
		"card+pin": {"card": "04A1B2C3", "pin": "4821"},
	}
	for name, body := range logins {
		if code, out := e.call("mfp2", http.MethodPost, "/release/sessions", body); code != http.StatusUnauthorized {
			t.Errorf("%s of a disabled user: HTTP %d %v, want 401", name, code, out)
		}
	}
	if code, _ := e.call("mfp1", http.MethodGet, "/release/sessions/"+sess+"/jobs", nil); code != http.StatusUnauthorized {
		t.Errorf("session opened before disable: HTTP %d, want 401", code)
	}
	if code, _ := console.get("/my"); code == http.StatusOK {
		t.Error("console session opened before disable still shows My page")
	}
	if code := consoleSignIn(t, e.srv.Addr, "bob", "bob-secret"); code == http.StatusSeeOther {
		t.Error("a disabled user signs in to the console")
	}
	if code, _, _ := basicPost(e.srv.Addr, "basicq", "bob", "bob-secret", testdocs.PDF(1, "b", testdocs.A4)); code != http.StatusUnauthorized {
		t.Errorf("basic submission of a disabled user: HTTP %d, want 401", code)
	}

	if docs := e.spoolFiles(); len(docs) != 0 {
		t.Errorf("documents left after disable: %v", docs)
	}
	for _, id := range jobs {
		state, _, _, _ := e.claimed(id)
		var canceled, destroyed bool
		for _, ev := range e.timeline(id) {
			canceled = canceled || ev.Type == audit.EventCanceled && ev.Details["cause"] == "user-disabled" && ev.Actor != ""
			destroyed = destroyed || ev.Type == audit.EventDocumentDestroyed
		}
		if state != "canceled" || !canceled || !destroyed {
			t.Errorf("job %d: state %s, canceled with cause %v, document destroyed %v", id, state, canceled, destroyed)
		}
	}
	if ev := e.eventDetails(audit.EventUserDisabled); len(ev) != 1 || ev[0]["user"] != "bob" {
		t.Errorf("user-disabled events %v, want one for bob", ev)
	}
	var reasons []string
	openTestDB(t, e.srv).Raw(`SELECT reason FROM audit_events WHERE type = ? ORDER BY seq`, audit.EventLoginFailed).Scan(&reasons)
	if len(reasons) != len(logins) || reasons[0] != "account disabled" {
		t.Errorf("login-failed reasons %v, want %d × account disabled", reasons, len(logins))
	}
	if out := runCLI(t, e.cfg, "", "user", "list"); !regexp.MustCompile(`(?m)^bob .* yes$`).MatchString(out) {
		t.Errorf("user list does not show bob disabled:\n%s", out)
	}

	runCLI(t, e.cfg, "", "user", "enable", "bob")
	sess = e.login("mfp2", map[string]string{"user": "1002", "pin": "4821"})
	if _, out := e.call("mfp2", http.MethodGet, "/release/sessions/"+sess+"/jobs", nil); len(jobIDs(out)) != 0 {
		t.Errorf("jobs after enable: %v, want none (destroyed jobs stay destroyed)", jobIDs(out))
	}
	e.login("mfp2", map[string]string{"card": "04A1B2C3"})
	if code := consoleSignIn(t, e.srv.Addr, "bob", "bob-secret"); code != http.StatusSeeOther {
		t.Errorf("console sign-in after enable: HTTP %d", code)
	}
	if ev := e.eventDetails(audit.EventUserEnabled); len(ev) != 1 || ev[0]["user"] != "bob" {
		t.Errorf("user-enabled events %v, want one for bob", ev)
	}
}

// TestUserRemove: `user remove` destroys bob's held jobs, unbinds his
// card (which then is an unknown card, free to enrol to someone else) and
// deletes him. Disabling him first, so that nothing new arrives meanwhile,
// is recorded as `user disable` is.
func TestUserRemove(t *testing.T) {
	e := leaverEnv(t)
	id := e.submit("bob", testdocs.PDF(1, "payslip", testdocs.A4))
	sess := e.login("mfp1", map[string]string{"card": "04A1B2C3"})

	out := runCLI(t, e.cfg, "", "user", "remove", "BOB")
	if !strings.Contains(out, "user bob removed: 1 held jobs destroyed, 1 sessions ended, 1 cards removed, PIN removed") {
		t.Errorf("remove says %q", out)
	}
	if ev := e.eventDetails(audit.EventUserDisabled); len(ev) != 1 || ev[0]["user"] != "bob" || ev[0]["cause"] != "user-removed" {
		t.Errorf("user-disabled events %v, want one for bob caused by user-removed", ev)
	}
	if code, _ := e.call("mfp1", http.MethodGet, "/release/sessions/"+sess+"/jobs", nil); code != http.StatusUnauthorized {
		t.Errorf("session of a removed user: HTTP %d, want 401", code)
	}
	if code, _ := e.call("mfp1", http.MethodPost, "/release/sessions", map[string]string{"card": "04A1B2C3"}); code != http.StatusUnauthorized {
		t.Errorf("card of a removed user: HTTP %d, want 401", code)
	}
	db := openTestDB(t, e.srv)
	if n := countRows(t, db, `SELECT count(*) FROM credential_cards WHERE user_name = 'bob'`); n != 0 {
		t.Errorf("bob keeps %d cards", n)
	}
	if n := countRows(t, db, `SELECT count(*) FROM credential_pins WHERE user_name = 'bob'`); n != 0 {
		t.Errorf("bob keeps his PIN")
	}
	if state, _, _, _ := e.claimed(id); state != "canceled" || len(e.spoolFiles()) != 0 {
		t.Errorf("job %d %s, documents %v", id, state, e.spoolFiles())
	}
	if out := runCLI(t, e.cfg, "", "user", "list"); strings.Contains(out, "bob") {
		t.Errorf("user list still shows bob:\n%s", out)
	}
	ev := e.eventDetails(audit.EventUserRemoved)
	if len(ev) != 1 || ev[0]["user"] != "bob" || ev[0]["held-jobs-destroyed"] != "1" || ev[0]["cards-removed"] != "1" ||
		ev[0]["pin-removed"] != "true" {
		t.Errorf("user-removed events %v", ev)
	}
	// The card is free: carol may have it now.
	runCLI(t, e.cfg, "carol-secret\n", "user", "add", "carol")
	runCLI(t, e.cfg, "04A1B2C3\n", "card", "add", "carol")
	if _, err := tryCLI(t, e.cfg, "", "user", "remove", "nobody"); err == nil {
		t.Error("removing an unknown user succeeds")
	}
}

// TestDeviceRemove: `device remove` ends the device's sessions and
// revokes its token at once; other devices carry on.
func TestDeviceRemove(t *testing.T) {
	e := leaverEnv(t)
	sess := e.login("mfp2", map[string]string{"card": "04A1B2C3"})
	other := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
	runCLI(t, e.cfg, "", "device", "remove", "mfp2")
	if code, _ := e.call("mfp2", http.MethodGet, "/release/sessions/"+sess+"/jobs", nil); code != http.StatusUnauthorized {
		t.Errorf("session at a removed device: HTTP %d, want 401", code)
	}
	if code, _ := e.call("mfp2", http.MethodPost, "/release/sessions", map[string]string{"card": "04A1B2C3"}); code != http.StatusUnauthorized {
		t.Errorf("token of a removed device: HTTP %d, want 401", code)
	}
	if code, _ := e.call("mfp1", http.MethodGet, "/release/sessions/"+other+"/jobs", nil); code != http.StatusOK {
		t.Errorf("session at another device: HTTP %d, want 200", code)
	}
	if out := runCLI(t, e.cfg, "", "device", "list"); strings.Contains(out, "mfp2") {
		t.Errorf("device list still shows mfp2:\n%s", out)
	}
	var devices []string
	openTestDB(t, e.srv).Raw(`SELECT device FROM audit_events WHERE type = ?`, audit.EventDeviceRemoved).Scan(&devices)
	if len(devices) != 1 || devices[0] != "mfp2" {
		t.Errorf("device-removed events for %v, want [mfp2]", devices)
	}
	if _, err := tryCLI(t, e.cfg, "", "device", "remove", "mfp2"); err == nil {
		t.Error("removing a removed device succeeds")
	}
}

// TestLDAPDisabledAtRelease: with a real slapd whose administrator locks
// bob's account (pwdAccountLockedTime, configured as
// directory.ldap.disabled_attribute), bob's directory card and his PIN
// are refused at the device at once, with an audit event, and so is his
// password in the console; the session he opened before the lock lists
// and releases nothing more; unlocking him is seen at the next sign-in.
func TestLDAPDisabledAtRelease(t *testing.T) {
	l := testenv.Slapd(t)
	cfg := newConfig(t, "")
	cfg.Directory = slapdDirectory(l, directory.LDAPAttributes{Card: testenv.LDAPCardAttribute})
	cfg.Directory.LDAP.DisabledAttribute = "pwdAccountLockedTime"
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	e := &releaseEnv{t: t, printer: testenv.IPPEvePrinter(t), devices: map[string]string{}, cfg: cfg}
	runCLI(t, cfg, "4821\n", "user", "set-pin", "bob")
	e.addDevice("mfp1", "card,id+pin")
	e.srv = startServer(t, cfg)
	card := map[string]string{"card": testenv.LDAPBobCard}
	pin := map[string]string{"user": "1002", "pin": "4821"}
	id := e.submit("bob", testdocs.PDF(1, "payslip", testdocs.A4))
	sess := e.login("mfp1", card)
	if code, out := e.call("mfp1", http.MethodGet, "/release/sessions/"+sess+"/jobs", nil); code != http.StatusOK ||
		len(jobIDs(out)) != 1 {
		t.Fatalf("bob's jobs before the lock: HTTP %d %v", code, out)
	}

	l.Replace(t, "bob", "pwdAccountLockedTime", testenv.LDAPLockedForever)
	// The session opened before the lock is asked about again at each use.
	if code, out := e.call("mfp1", http.MethodGet, "/release/sessions/"+sess+"/jobs", nil); code != http.StatusUnauthorized {
		t.Errorf("jobs in a session of a directory-disabled user: HTTP %d %v, want 401", code, out)
	}
	if code, out := e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release",
		map[string]any{"jobs": []int64{id}}); code != http.StatusUnauthorized {
		t.Errorf("release in a session of a directory-disabled user: HTTP %d %v, want 401", code, out)
	}
	if state, _, _, _ := e.claimed(id); state != "pending-held" || len(e.printer.Files()) != 0 {
		t.Errorf("job %d of a directory-disabled user: %s, printer got %d documents", id, state, len(e.printer.Files()))
	}
	for name, body := range map[string]map[string]string{"card": card, "id+pin": pin} {
		if code, out := e.call("mfp1", http.MethodPost, "/release/sessions", body); code != http.StatusUnauthorized {
			t.Errorf("%s of a directory-disabled user: HTTP %d %v, want 401", name, code, out)
		}
	}
	var reasons []string
	openTestDB(t, e.srv).Raw(`SELECT reason FROM audit_events WHERE type = ?`, audit.EventLoginFailed).Scan(&reasons)
	if len(reasons) != 2 || reasons[0] != "account disabled" || reasons[1] != "account disabled" {
		t.Errorf("login-failed reasons %v, want 2 × account disabled", reasons)
	}
	if code := consoleSignIn(t, e.srv.Addr, "bob", "bob-secret"); code == http.StatusSeeOther {
		t.Error("a directory-disabled user signs in to the console")
	}

	l.Replace(t, "bob", "pwdAccountLockedTime")
	e.login("mfp1", card)
	e.login("mfp1", pin)
}

// TestMyPasswordChange: on My page a built-in user changes their password
// with the current one and the new one twice; the other sessions end, the
// old password stops working, the change is audited; wrong current
// passwords count against the account as sign-ins do, until the change is
// refused unchecked.
func TestMyPasswordChange(t *testing.T) {
	cfg := newConfig(t, "")
	cfg.Credentials.MaxPasswordFailures = 3
	runCLI(t, cfg, "bob-secret\n", "user", "add", "bob")
	srv := startServer(t, cfg)
	me := signInConsole(t, srv, "bob", "bob-secret")
	other := signInConsole(t, srv, "bob", "bob-secret")
	change := func(current, next, again string) int {
		code, _ := me.post("/my/password", url.Values{"current": {current}, "password": {next}, "password2": {again}})
		return code
	}
	if code := change("bob-secret", "bob-new-secret", "bob-new-secreT"); code != http.StatusBadRequest {
		t.Errorf("new passwords that differ: HTTP %d, want 400", code)
	}
	if code := change("bob-secret", "short", "short"); code != http.StatusBadRequest {
		t.Errorf("a password against the policy: HTTP %d, want 400", code)
	}
	if code := change("wrong-secret", "bob-new-secret", "bob-new-secret"); code != http.StatusUnauthorized {
		t.Errorf("wrong current password: HTTP %d, want 401", code)
	}
	if code := change("bob-secret", "bob-new-secret", "bob-new-secret"); code != http.StatusSeeOther {
		t.Fatalf("password change: HTTP %d, want 303", code)
	}
	if code, _ := me.get("/my"); code != http.StatusOK {
		t.Errorf("the changing session: HTTP %d, want 200", code)
	}
	if code, _ := other.get("/my"); code == http.StatusOK {
		t.Error("another session of bob survives the password change")
	}
	if code := consoleSignIn(t, srv.Addr, "bob", "bob-secret"); code != http.StatusUnauthorized {
		t.Errorf("old password: HTTP %d, want 401", code)
	}
	if code := consoleSignIn(t, srv.Addr, "bob", "bob-new-secret"); code != http.StatusSeeOther {
		t.Errorf("new password: HTTP %d, want 303", code)
	}
	db := openTestDB(t, srv)
	if n := countRows(t, db, `SELECT count(*) FROM audit_events WHERE type = 'password-changed' AND owner = 'bob'`); n != 1 {
		t.Errorf("%d password-changed events, want 1", n)
	}
	// Three wrong current passwords use up the account's attempts; then
	// even the right one is refused unchecked.
	for range 3 {
		change("wrong-secret", "bob-newer-secret", "bob-newer-secret")
	}
	if code := change("bob-new-secret", "bob-newer-secret", "bob-newer-secret"); code != http.StatusTooManyRequests {
		t.Errorf("password change past the account's limit: HTTP %d, want 429", code)
	}
}

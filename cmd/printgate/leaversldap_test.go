package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release/directory"
)

// TestLDAPUserRemoveDeleted: `user remove` of an account already deleted
// from the directory, typed in another case than printgate stored it,
// finds the stored spelling and removes what printgate keeps of it: the
// held job, the sessions at the device and in the console, the card and
// the PIN, each counted in the output and in the user-removed event. A
// name under which nothing is kept is refused, and so is one stored under
// several spellings unless typed exactly.
func TestLDAPUserRemoveDeleted(t *testing.T) {
	l := testenv.Slapd(t)
	cfg := newConfig(t, "")
	cfg.Directory = slapdDirectory(l, directory.LDAPAttributes{Card: testenv.LDAPCardAttribute})
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	e := &releaseEnv{t: t, printer: testenv.IPPEvePrinter(t), devices: map[string]string{}, cfg: cfg}
	runCLI(t, cfg, "4821\n", "user", "set-pin", "bob")
	runCLI(t, cfg, "04A1B2C3\n", "card", "add", "bob")
	runCLI(t, cfg, "4826\n", "user", "set-pin", "carol")
	e.addDevice("mfp1", "card,id+pin")
	e.srv = startServer(t, cfg)
	id := e.submit("bob", testdocs.PDF(1, "payslip", testdocs.A4))
	e.login("mfp1", map[string]string{"user": "1002", "pin": "4821"})
	console := signInConsole(t, e.srv, "bob", "bob-secret")
	db := openTestDB(t, e.srv)
	// A console session of carol's under another spelling of her name.
	now := time.Now().UnixMilli()
	if err := db.Exec(`INSERT INTO web_sessions (id_hash, user_name, role, created_at, seen_at, expires_at)
		VALUES ('test-carol', 'Carol', 'user', ?, ?, ?)`, now, now, now+3600_000).Error; err != nil {
		t.Fatal(err)
	}

	l.Delete(t, "bob")
	l.Delete(t, "carol")

	if out, err := tryCLI(t, cfg, "", "user", "remove", "nobody"); err == nil {
		t.Errorf("removing a name nothing is kept under succeeds: %q", out)
	}
	out := runCLI(t, cfg, "", "user", "remove", "BOB")
	if want := "user bob removed: 1 held jobs destroyed, 2 sessions ended, 1 cards removed, PIN removed"; !strings.Contains(out, want) {
		t.Errorf("remove BOB says %q, want %q", out, want)
	}
	if state, _, _, _ := e.claimed(id); state != "canceled" {
		t.Errorf("bob's job %d: %s, want canceled", id, state)
	}
	for _, q := range []string{`SELECT count(*) FROM credential_pins WHERE user_name = 'bob'`,
		`SELECT count(*) FROM credential_cards WHERE user_name = 'bob'`,
		`SELECT count(*) FROM release_sessions WHERE user_name = 'bob' AND NOT ended`,
		`SELECT count(*) FROM web_sessions WHERE user_name = 'bob'`} {
		if n := countRows(t, db, q); n != 0 {
			t.Errorf("%s: %d", q, n)
		}
	}
	if code, _ := console.get("/my"); code == http.StatusOK {
		t.Error("bob's console session survives his removal")
	}
	ev := e.eventDetails(audit.EventUserRemoved)
	if len(ev) != 1 || ev[0]["user"] != "bob" || ev[0]["held-jobs-destroyed"] != "1" || ev[0]["sessions-ended"] != "2" ||
		ev[0]["cards-removed"] != "1" || ev[0]["pin-removed"] != "true" {
		t.Errorf("user-removed events %v", ev)
	}

	// carol is kept as "carol" (her PIN) and "Carol" (a session).
	if out, err := tryCLI(t, cfg, "", "user", "remove", "CAROL"); err == nil || !strings.Contains(err.Error(), "Carol, carol") {
		t.Errorf("remove CAROL, stored under two spellings: %v %q; want refused, naming both", err, out)
	}
	out = runCLI(t, cfg, "", "user", "remove", "carol")
	if !strings.Contains(out, "user carol removed: 0 held jobs destroyed, 0 sessions ended, 0 cards removed, PIN removed") ||
		!strings.Contains(out, `"Carol"`) {
		t.Errorf("remove carol says %q; want her PIN removed and a note of Carol", out)
	}
	out = runCLI(t, cfg, "", "user", "remove", "Carol")
	if !strings.Contains(out, "user Carol removed: 0 held jobs destroyed, 1 sessions ended, 0 cards removed, no PIN") {
		t.Errorf("remove Carol says %q", out)
	}
	if n := len(e.eventDetails(audit.EventUserRemoved)); n != 3 {
		t.Errorf("%d user-removed events, want 3", n)
	}
}

package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release/directory"
)

// TestFormerAccountAtDevice: with a real slapd, bob's card (enrolled
// with card add, bound to his entry at once) and his PIN (set with user
// set-pin, bound by his first sign-in) are refused with 401 at the
// device once his entry is deleted and uid=bob is added again for a new
// hire: card, ID+PIN and card+PIN alike, each a login-failed event
// without the card or the PIN.
func TestFormerAccountAtDevice(t *testing.T) {
	l := testenv.Slapd(t)
	cfg := newConfig(t, "")
	cfg.Directory = slapdDirectory(l, directory.LDAPAttributes{})
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	// Nothing is printed: the device's printer need not answer.
	e := &releaseEnv{t: t, printer: &testenv.Printer{URI: "ipp://127.0.0.1:9/ipp/print"}, devices: map[string]string{}, cfg: cfg}
	const card, pin = "04A1B2C3", "4821"
	runCLI(t, cfg, card+"\n", "card", "add", "bob")
	runCLI(t, cfg, pin+"\n", "user", "set-pin", "bob")
	e.addDevice("mfp1", "card,id+pin,card+pin")
	e.srv = startServer(t, cfg)
	logins := map[string]map[string]string{
		"card":     {"card": card},
		"id+pin":   {"user": "bob", "pin": pin},
		"card+pin": {"card": card, "pin": pin},
	}
	for _, body := range logins {
		e.login("mfp1", body)
	}

	l.Recreate(t, "bob", nil)
	for name, body := range logins {
		if code, out := e.call("mfp1", http.MethodPost, "/release/sessions", body); code != http.StatusUnauthorized {
			t.Errorf("%s of the former bob, for the new one: HTTP %d %v, want 401", name, code, out)
		}
	}
	var rows []struct{ Reason, Details string }
	openTestDB(t, e.srv).Raw(`SELECT reason, details FROM audit_events WHERE type = ?`, audit.EventLoginFailed).Scan(&rows)
	if len(rows) != len(logins) {
		t.Errorf("%d login-failed events, want %d", len(rows), len(logins))
	}
	for _, r := range rows {
		if r.Reason != "wrong credentials" || strings.Contains(r.Details, card) || strings.Contains(r.Details, pin) {
			t.Errorf("login-failed event %+v: want reason \"wrong credentials\", no card, no PIN", r)
		}
	}
}

// TestCardEnrolmentByLogin: card add and card import find the user by
// login name, never by employee number: "300145" in the file, the login
// of nobody and the employee number of ysato, enrols no card to ysato. A
// further login name of a user (attributes.logins) enrols the card to
// that user, and the import says so on the line.
func TestCardEnrolmentByLogin(t *testing.T) {
	l := testenv.Slapd(t)
	l.Replace(t, "carol", "employeeNumber", "300145")
	l.Replace(t, "bob", "displayName", "rsmith")
	cfg := newConfig(t, "")
	cfg.Directory = slapdDirectory(l, directory.LDAPAttributes{Logins: "displayName"})
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	if out, err := tryCLI(t, cfg, "04A1B2C3\n", "card", "add", "300145"); err == nil {
		t.Errorf("card add 300145 enrols to carol by her employee number:\n%s", out)
	}
	file := filepath.Join(t.TempDir(), "cards.csv")
	if err := os.WriteFile(file, []byte("user,uid\n300145,04A1B2C3\nrsmith,0455AA66BB77CC\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := tryCLI(t, cfg, "", "card", "import", "--partial", file)
	if err != nil {
		t.Fatalf("card import: %v\n%s", err, out)
	}
	for _, want := range []string{"line 2 refused: no such user", "line 3: rsmith is user bob",
		"1 cards enrolled, 0 already enrolled, 1 lines refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("card import does not say %q:\n%s", want, out)
		}
	}
	list := runCLI(t, cfg, "", "card", "list")
	if strings.Contains(list, "carol") || !strings.Contains(list, "bob") {
		t.Errorf("card list after the import:\n%s", list)
	}
}

// slapdDirectory is the directory configuration of l, the test's slapd,
// through its service account, with attrs.
func slapdDirectory(l *testenv.LDAP, attrs directory.LDAPAttributes) DirectoryConfig {
	return DirectoryConfig{Type: "ldap", LDAP: directory.LDAPConfig{
		URL: l.URL, BindDN: l.ServiceDN, BindPassword: l.ServicePassword, BaseDN: l.BaseDN, Attributes: attrs}}
}

// TestSetPINByName: user set-pin finds the user by name only: an
// employee number sets nobody's PIN, and a name in another case sets the
// user's, whose own name the answer gives.
func TestSetPINByName(t *testing.T) {
	cfg := newConfig(t, "")
	runCLI(t, cfg, "ysato-secret\n", "user", "add", "ysato", "--employee-number", "300145")
	if out, err := tryCLI(t, cfg, "4826\n", "user", "set-pin", "300145"); err == nil {
		t.Errorf("set-pin by an employee number succeeded: %s", out)
	}
	if out := runCLI(t, cfg, "4826\n", "user", "set-pin", "YSATO"); !strings.Contains(out, "ysato") || strings.Contains(out, "YSATO") {
		t.Errorf("set-pin YSATO answered %q; want it to name ysato", out)
	}
}

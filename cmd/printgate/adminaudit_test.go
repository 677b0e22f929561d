package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
)

// breakAudit makes every insert into audit_events fail, as a full disk or
// a lost table would, until the returned function repairs it.
func breakAudit(t *testing.T, db *database.DB) (repair func()) {
	t.Helper()
	breakStmts := []string{`CREATE TRIGGER audit_broken BEFORE INSERT ON audit_events
		BEGIN SELECT RAISE(ABORT, 'audit storage failed'); END`}
	repairStmts := []string{`DROP TRIGGER audit_broken`}
	if db.Dialect == database.Postgres {
		breakStmts = []string{
			`CREATE FUNCTION audit_broken() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'audit storage failed'; END $$`,
			`CREATE TRIGGER audit_broken BEFORE INSERT ON audit_events
			FOR EACH ROW EXECUTE FUNCTION audit_broken()`,
		}
		repairStmts = []string{`DROP TRIGGER audit_broken ON audit_events`, `DROP FUNCTION audit_broken()`}
	}
	exec := func(stmts []string) {
		for _, s := range stmts {
			if err := db.WithContext(context.Background()).Exec(s).Error; err != nil {
				t.Fatal(err)
			}
		}
	}
	exec(breakStmts)
	return func() { exec(repairStmts) }
}

// cliRun is one run of the command line: stdin and arguments.
type cliRun struct {
	stdin string
	args  []string
}

func addUser(name string) cliRun { return cliRun{name + "-secret\n", []string{"user", "add", name}} }

// adminChange is one administrative action of
// TestAdminChangesRecordedWithThem.
type adminChange struct {
	name  string
	setup []cliRun
	// setupSQL runs after setup, for states no command makes.
	setupSQL string
	run      cliRun
	// post, when set, is the console form posted instead of run;
	// form builds its fields, q reading the database.
	post string
	form func(q func(string) string) url.Values
	// event is the type the change records; state a query whose
	// single value the change alters.
	event   string
	state   string
	changes bool
}

// TestAdminChangesRecordedWithThem runs every administrative command and
// console form that changes something and checks that the change and its
// audit event commit together: the event is there exactly when the change
// happened (an action that changes nothing records nothing), and with an
// audit trail that refuses inserts the action fails and changes nothing.
func TestAdminChangesRecordedWithThem(t *testing.T) {
	const printer = "ipp://127.0.0.1:9/ipp/print"
	rows := []adminChange{
		{name: "user add", run: addUser("ann"), event: audit.EventUserAdded,
			state: `SELECT count(*) FROM users WHERE name = 'ann'`, changes: true},
		{name: "user add taken", setup: []cliRun{addUser("bea")}, run: addUser("bea"), event: audit.EventUserAdded,
			state: `SELECT count(*) FROM users WHERE name = 'bea'`},
		{name: "user set-pin", setup: []cliRun{addUser("cat")}, run: cliRun{"4826\n", []string{"user", "set-pin", "cat"}},
			event: audit.EventPINSet, state: `SELECT count(*) FROM credential_pins WHERE user_name = 'cat'`, changes: true},
		{name: "user set-password", setup: []cliRun{addUser("dan")},
			run:   cliRun{"another-secret\n", []string{"user", "set-password", "dan"}},
			event: audit.EventConfigChanged, state: `SELECT password_hash FROM users WHERE name = 'dan'`, changes: true},
		{name: "user set-password unknown", run: cliRun{"another-secret\n", []string{"user", "set-password", "ghost"}},
			event: audit.EventConfigChanged, state: `SELECT count(*) FROM users WHERE name = 'ghost'`},
		{name: "user unlock", setup: []cliRun{addUser("eve"), {"4826\n", []string{"user", "set-pin", "eve"}}},
			setupSQL: `UPDATE credential_pins SET failures = 5, locked_until = 4102444800000 WHERE user_name = 'eve'`,
			run:      cliRun{"", []string{"user", "unlock", "eve"}}, event: audit.EventUserUnlocked,
			state: `SELECT locked_until FROM credential_pins WHERE user_name = 'eve'`, changes: true},
		{name: "user unlock without PIN", setup: []cliRun{addUser("fay")}, run: cliRun{"", []string{"user", "unlock", "fay"}},
			event: audit.EventUserUnlocked, state: `SELECT count(*) FROM credential_pins WHERE user_name = 'fay'`},
		// user remove disables the user first: recorded with it.
		{name: "user remove", setup: []cliRun{addUser("uma")}, run: cliRun{"", []string{"user", "remove", "uma"}},
			event: audit.EventUserDisabled, state: `SELECT count(*) FROM users WHERE name = 'uma' AND NOT disabled`, changes: true},
		{name: "card add", setup: []cliRun{addUser("gus")}, run: cliRun{"04A1B2C3\n", []string{"card", "add", "gus"}},
			event: audit.EventCardAdded, state: `SELECT count(*) FROM credential_cards WHERE user_name = 'gus'`, changes: true},
		{name: "card add again", setup: []cliRun{addUser("hal"), {"04A1B2C4\n", []string{"card", "add", "hal"}}},
			run:   cliRun{"04:a1:b2:c4\n", []string{"card", "add", "hal"}},
			event: audit.EventCardAdded, state: `SELECT count(*) FROM credential_cards WHERE user_name = 'hal'`},
		{name: "card add in use", setup: []cliRun{addUser("ivy")}, run: cliRun{"04A1B2C4\n", []string{"card", "add", "ivy"}},
			event: audit.EventCardAdded, state: `SELECT count(*) FROM credential_cards WHERE user_name = 'ivy'`},
		{name: "card remove", setup: []cliRun{addUser("jon"), {"04A1B2C5\n", []string{"card", "add", "jon"}}},
			run:   cliRun{"04A1B2C5\n", []string{"card", "remove", "jon"}},
			event: audit.EventCardRemoved, state: `SELECT count(*) FROM credential_cards WHERE user_name = 'jon'`, changes: true},
		{name: "card remove unknown", setup: []cliRun{addUser("kim")}, run: cliRun{"04A1B2C6\n", []string{"card", "remove", "kim"}},
			event: audit.EventCardRemoved, state: `SELECT count(*) FROM credential_cards WHERE user_name = 'kim'`},
		{name: "device disable", setup: []cliRun{{"", []string{"device", "add", "mfp1", "--printer", printer, "--queue", "secure"}}},
			run:   cliRun{"", []string{"device", "disable", "mfp1"}},
			event: audit.EventConfigChanged, state: `SELECT count(*) FROM devices WHERE name = 'mfp1' AND enabled`, changes: true},
		{name: "device disable unknown", run: cliRun{"", []string{"device", "disable", "ghost"}},
			event: audit.EventConfigChanged, state: `SELECT count(*) FROM devices`},
		{name: "device rotate-token", setup: []cliRun{{"", []string{"device", "add", "mfp2", "--printer", printer, "--queue", "secure"}}},
			run:   cliRun{"", []string{"device", "rotate-token", "mfp2"}},
			event: audit.EventDeviceTokenSet, state: `SELECT token_hash FROM devices WHERE name = 'mfp2'`, changes: true},
		{name: "device set reader format", setup: []cliRun{{"", []string{"device", "add", "mfp3", "--printer", printer, "--queue", "secure"}}},
			run:   cliRun{"", []string{"device", "set", "mfp3", "--reader-format", "dec,reverse"}},
			event: audit.EventConfigChanged, state: `SELECT reader_format FROM devices WHERE name = 'mfp3'`, changes: true},
		{name: "device set bad reader format", setup: []cliRun{{"", []string{"device", "add", "mfp4", "--printer", printer, "--queue", "secure"}}},
			run:   cliRun{"", []string{"device", "set", "mfp4", "--reader-format", "decimal"}},
			event: audit.EventConfigChanged, state: `SELECT reader_format FROM devices WHERE name = 'mfp4'`},
		{name: "card import", setup: []cliRun{addUser("tom")}, run: cliRun{"tom,04A1B2D0\ntom,77705937,dec\n", []string{"card", "import", "-"}},
			event: audit.EventCardsImported, state: `SELECT count(*) FROM credential_cards WHERE user_name = 'tom'`, changes: true},
		{name: "card import refused", setup: []cliRun{addUser("uma")}, run: cliRun{"uma,04A1B2D2\nghost,04A1B2D3\n", []string{"card", "import", "-"}},
			event: audit.EventCardsImported, state: `SELECT count(*) FROM credential_cards WHERE user_name = 'uma'`},
	}
	userForm := func(name string) func(func(string) string) url.Values {
		return func(func(string) string) url.Values { return url.Values{"name": {name}} }
	}
	fingerprintForm := func(name string) func(func(string) string) url.Values {
		return func(q func(string) string) url.Values {
			mac := q(`SELECT mac FROM credential_cards WHERE user_name = '` + name + `'`)
			return url.Values{"name": {name}, "card": {strings.TrimPrefix(mac, "hmac-sha256:")[:8]}}
		}
	}
	lock := func(name string) string {
		return `UPDATE credential_pins SET failures = 5, locked_until = 4102444800000 WHERE user_name = '` + name + `'`
	}
	rows = append(rows, []adminChange{
		{name: "console unlock", setup: []cliRun{addUser("lea"), {"4826\n", []string{"user", "set-pin", "lea"}}},
			setupSQL: lock("lea"), post: "/admin/users/unlock", form: userForm("lea"), event: "user-unlocked",
			state: `SELECT locked_until FROM credential_pins WHERE user_name = 'lea'`, changes: true},
		{name: "console unlock without PIN", setup: []cliRun{addUser("max")}, post: "/admin/users/unlock", form: userForm("max"),
			event: "user-unlocked", state: `SELECT count(*) FROM credential_pins WHERE user_name = 'max'`},
		{name: "console reset PIN", setup: []cliRun{addUser("ned"), {"4826\n", []string{"user", "set-pin", "ned"}}},
			post: "/admin/users/pin/reset", form: userForm("ned"), event: "pin-reset",
			state: `SELECT count(*) FROM credential_pins WHERE user_name = 'ned'`, changes: true},
		{name: "console reset no PIN", setup: []cliRun{addUser("oda")}, post: "/admin/users/pin/reset", form: userForm("oda"),
			event: "pin-reset", state: `SELECT count(*) FROM credential_pins WHERE user_name = 'oda'`},
		{name: "console add card", setup: []cliRun{addUser("pam")}, post: "/admin/users/cards/add",
			form:  func(func(string) string) url.Values { return url.Values{"name": {"pam"}, "uid": {"04A1B2C8"}} },
			event: audit.EventCardAdded, state: `SELECT count(*) FROM credential_cards WHERE user_name = 'pam'`, changes: true},
		{name: "console add card in use", setup: []cliRun{addUser("quin")}, post: "/admin/users/cards/add",
			form:  func(func(string) string) url.Values { return url.Values{"name": {"quin"}, "uid": {"04A1B2C8"}} },
			event: audit.EventCardAdded, state: `SELECT count(*) FROM credential_cards WHERE user_name = 'quin'`},
		{name: "console remove card", setup: []cliRun{addUser("rex"), {"04A1B2C9\n", []string{"card", "add", "rex"}}},
			post: "/admin/users/cards/remove", form: fingerprintForm("rex"), event: audit.EventCardRemoved,
			state: `SELECT count(*) FROM credential_cards WHERE user_name = 'rex'`, changes: true},
		{name: "console remove unknown card", setup: []cliRun{addUser("sue")}, post: "/admin/users/cards/remove",
			form:  func(func(string) string) url.Values { return url.Values{"name": {"sue"}, "card": {"0badcafe"}} },
			event: audit.EventCardRemoved, state: `SELECT count(*) FROM credential_cards WHERE user_name = 'sue'`},
	}...)
	forEachDB(t, func(t *testing.T, dbURL string) {
		cfg := newConfig(t, dbURL)
		runCLI(t, cfg, "root-secret\n", "user", "add", "root", "--role", "admin")
		console := signInConsole(t, startServer(t, cfg), "root", "root-secret")
		db, err := database.Open(context.Background(), cfg.Database.URL, cfg.DataDir, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		query := func(t *testing.T, q string, args ...any) string {
			t.Helper()
			var s string
			if err := db.WithContext(context.Background()).Raw(q, args...).Row().Scan(&s); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return s
		}
		events := func(t *testing.T, typ string) string {
			return query(t, `SELECT count(*) FROM audit_events WHERE type = ?`, typ)
		}
		for _, row := range rows {
			t.Run(row.name, func(t *testing.T) {
				for _, r := range row.setup {
					runCLI(t, cfg, r.stdin, r.args...)
				}
				if row.setupSQL != "" {
					if err := db.WithContext(context.Background()).Exec(row.setupSQL).Error; err != nil {
						t.Fatal(err)
					}
				}
				state, before := query(t, row.state), events(t, row.event)

				act := func() (string, error) {
					if row.post == "" {
						return tryCLI(t, cfg, row.run.stdin, row.run.args...)
					}
					code, body := console.post(row.post, row.form(func(q string) string { return query(t, q) }))
					if code != http.StatusSeeOther {
						return body, fmt.Errorf("HTTP %d", code)
					}
					return "", nil
				}
				repair := breakAudit(t, db)
				out, err := act()
				repair()
				if row.changes && err == nil {
					t.Errorf("with the audit trail broken: no error\n%s", out)
				}
				if got := query(t, row.state); got != state {
					t.Errorf("with the audit trail broken, the change was made: %q → %q", state, got)
				}
				if got := events(t, row.event); got != before {
					t.Errorf("with the audit trail broken: %s events %s → %s", row.event, before, got)
				}

				out, err = act()
				changed := query(t, row.state) != state
				recorded := events(t, row.event) != before
				if changed != row.changes || recorded != changed {
					t.Errorf("changed %v (want %v), recorded %v; err %v\n%s", changed, row.changes, recorded, err, out)
				}
			})
		}
	})
}

package release

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release/credential"
	"github.com/printgate/printgate/release/directory"
)

// signInEnv is a Service over a directory with a credential store that
// counts its hashes, and the device "mfp" taking every sign-in method
// and releases from My page.
type signInEnv struct {
	svc    *Service
	log    *audit.Log
	creds  *credential.Store
	hasher *testenv.CountingHasher
	token  string
}

func newSignInEnv(t *testing.T, db *database.DB, dir directory.Directory) *signInEnv {
	t.Helper()
	ctx := t.Context()
	if err := errors.Join(credential.Migrate(ctx, db), directory.Migrate(ctx, db)); err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{9}, 32)
	inner, err := secret.NewHasher(key, secret.Params{Memory: 64, Time: 1, Threads: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &signInEnv{hasher: &testenv.CountingHasher{Hasher: inner}}
	if e.creds, err = credential.New(db, key, credential.Policy{}, secret.Params{},
		credential.Options{Hasher: e.hasher}); err != nil {
		t.Fatal(err)
	}
	e.svc, e.log = startService(t, db, Options{Directory: dir, Credentials: e.creds,
		Queues: []Queue{{Name: "secure", Mode: Hold, ReleaseFromWeb: true}}})
	_, e.token, err = e.svc.Admin().AddDevice(ctx, DeviceSpec{Name: "mfp", Printer: "ipp://127.0.0.1:1/ipp/print",
		Queues: []string{"secure"}, Methods: []string{MethodCard, MethodIDPIN, MethodCardPIN}}, "admin")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// signIn opens a session at mfp and returns whose it is.
func (e *signInEnv) signIn(t *testing.T, l Login) (string, error) {
	t.Helper()
	sess, _, err := e.svc.DeviceRelease().OpenSession(t.Context(), e.token, l)
	return sess.UserName, err
}

// failedLogins returns the login-failed events recorded so far.
func (e *signInEnv) failedLogins(t *testing.T) []audit.Event {
	t.Helper()
	var out []audit.Event
	for ev, err := range e.log.Events(t.Context(), audit.Filter{Type: audit.EventLoginFailed}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// TestFormerAccountRefused: with a real slapd, bob's card and PIN,
// enrolled to his account, and a second card and PIN enrolled before
// credentials were bound (bound by bob's use of them), are all refused
// once bob's entry is deleted and uid=bob is given to a new hire: card,
// ID+PIN and card+PIN answer as for an unknown card or PIN, each recorded
// as a failed login without the card or PIN. A PIN the new bob sets is
// his.
func TestFormerAccountRefused(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		srv := testenv.Slapd(t)
		dir, err := directory.NewLDAP(directory.LDAPConfig{URL: srv.URL, BindDN: srv.ServiceDN,
			BindPassword: srv.ServicePassword, BaseDN: srv.BaseDN})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { dir.Close() })
		e := newSignInEnv(t, db, dir)
		bob, err := dir.Lookup(ctx, "bob")
		if err != nil {
			t.Fatal(err)
		}
		// Enrolled as card add and user set-pin do: bound to bob's entry.
		oldBob := credential.Account{Name: bob.Name, ID: bob.AccountID}
		const card, pin = "04A1B2C3", "4821"
		if err := errors.Join(e.creds.EnrolCard(ctx, oldBob, card, nil),
			e.creds.SetAccountPIN(ctx, oldBob, pin, nil)); err != nil {
			t.Fatal(err)
		}
		// Enrolled before credentials were bound, used once by bob.
		const legacyCard = "0455AA66BB77CC"
		if err := e.creds.AddCard(ctx, "bob", legacyCard, nil); err != nil {
			t.Fatal(err)
		}
		logins := map[string]Login{
			"card":          {Card: card},
			"id+pin":        {User: "bob", PIN: pin},
			"card+pin":      {Card: card, PIN: pin},
			"unbound card":  {Card: legacyCard},
			"employee+pin":  {User: "2001", PIN: pin},
			"unbound c+pin": {Card: legacyCard, PIN: pin},
		}
		for _, name := range []string{"card", "id+pin", "card+pin", "unbound card", "unbound c+pin"} {
			if user, err := e.signIn(t, logins[name]); err != nil || user != "bob" {
				t.Fatalf("%s before bob left: %q, %v", name, user, err)
			}
		}
		if a, _ := e.creds.CardHolder(ctx, legacyCard); a != oldBob {
			t.Errorf("the card enrolled before cards were bound is bound to %+v after its use, want %+v", a, oldBob)
		}

		srv.Recreate(t, "bob", map[string]string{"employeeNumber": "2001"})
		failed := len(e.failedLogins(t))
		for name, l := range logins {
			user, err := e.signIn(t, l)
			if !errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrLocked) {
				t.Errorf("%s of the former bob for the new one: %q, %v; want ErrUnauthorized (401)", name, user, err)
			}
		}
		events := e.failedLogins(t)[failed:]
		if len(events) != len(logins) {
			t.Errorf("%d login-failed events, want %d", len(events), len(logins))
		}
		for _, ev := range events {
			text := ev.Reason + ev.Owner + ev.Actor + strings.Join(mapValues(ev.Details), " ")
			if ev.Reason != "wrong credentials" || strings.Contains(text, card) || strings.Contains(text, pin) ||
				strings.Contains(text, legacyCard) {
				t.Errorf("login-failed event %+v: want reason \"wrong credentials\", no card, no PIN", ev)
			}
		}
		// Refused without being counted: the new bob is not locked out.
		if st, err := e.creds.PINStatus(ctx, "bob"); err != nil || st.Failures != 0 {
			t.Errorf("the former PIN's refusals were counted: %+v, %v", st, err)
		}

		newBob, err := dir.Lookup(ctx, "bob")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.creds.SetAccountPIN(ctx, credential.Account{Name: newBob.Name, ID: newBob.AccountID}, "5927", nil); err != nil {
			t.Fatal(err)
		}
		if user, err := e.signIn(t, Login{User: "bob", PIN: "5927"}); err != nil || user != "bob" {
			t.Errorf("the new bob's own PIN: %q, %v", user, err)
		}
		if _, err := e.signIn(t, Login{Card: card, PIN: "5927"}); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("the former bob's card with the new bob's PIN: %v, want ErrUnauthorized", err)
		}
	})
}

func mapValues(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// TestCardOfStoredName: a card's stored holder is looked up as that
// name only. The contractor "300145" left the directory with his card
// still enrolled, by name, to no account ID; employee ysato has the
// employee number 300145. The card opens no session as ysato, with or
// without a PIN.
func TestCardOfStoredName(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		if err := directory.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		b := directory.NewBuiltin(db, testHasherFor(t))
		e := newSignInEnv(t, db, b)
		for _, u := range []directory.User{{Name: "300145"}, {Name: "ysato", EmployeeNumber: "300145"}} {
			if err := b.AddUser(ctx, u, u.Name+"-secret", nil); err != nil {
				t.Fatal(err)
			}
		}
		const card = "04A1B2C3"
		if err := errors.Join(e.creds.AddCard(ctx, "300145", card, nil), e.creds.SetPIN(ctx, "ysato", "4821", nil)); err != nil {
			t.Fatal(err)
		}
		// The contractor leaves the directory, his card never used since
		// it was enrolled (a use would have bound it to his account);
		// printgate is not told.
		if err := b.DeleteUser(ctx, "300145", nil); err != nil {
			t.Fatal(err)
		}
		for name, l := range map[string]Login{"card": {Card: card}, "card+pin": {Card: card, PIN: "4821"}} {
			if user, err := e.signIn(t, l); !errors.Is(err, ErrUnauthorized) {
				t.Errorf("%s of the contractor gone: session of %q, %v; want ErrUnauthorized", name, user, err)
			}
		}
		// Typed at the device, an employee number is still a way in.
		if user, err := e.signIn(t, Login{User: "300145", PIN: "4821"}); err != nil || user != "ysato" {
			t.Errorf("ID+PIN by employee number: %q, %v; want ysato", user, err)
		}
	})
}

// TestUnknownCardWithPIN: with card+PIN, a card nobody has (unknown or
// unreadable) is refused after one PIN hash, as an enrolled card with a
// wrong PIN is: the answer's time does not tell which cards are
// enrolled.
func TestUnknownCardWithPIN(t *testing.T) {
	db := openSQLite(t)
	ctx := t.Context()
	if err := directory.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	b := directory.NewBuiltin(db, testHasherFor(t))
	e := newSignInEnv(t, db, b)
	if err := b.AddUser(ctx, directory.User{Name: "hanako"}, "hanako-secret", nil); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(e.creds.AddCard(ctx, "hanako", "04A1B2C3", nil), e.creds.SetPIN(ctx, "hanako", "4821", nil)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		l    Login
	}{
		{"enrolled card, wrong PIN", Login{Card: "04A1B2C3", PIN: "5927"}},
		{"unknown card", Login{Card: "0455AA66BB77CC", PIN: "5927"}},
		{"unreadable card", Login{Card: "not a card", PIN: "5927"}},
		{"unknown ID", Login{User: "nobody", PIN: "5927"}},
	} {
		before := e.hasher.Hashes()
		if _, err := e.signIn(t, tc.l); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("%s: %v, want ErrUnauthorized", tc.name, err)
		}
		if n := e.hasher.Hashes() - before; n != 1 {
			t.Errorf("%s: %d PIN hashes, want 1", tc.name, n)
		}
	}
}

// testHasherFor returns a cheap hasher for built-in passwords.
func testHasherFor(t *testing.T) *secret.Hasher {
	t.Helper()
	h, err := secret.NewHasher(bytes.Repeat([]byte{8}, 32), secret.Params{Memory: 64, Time: 1, Threads: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

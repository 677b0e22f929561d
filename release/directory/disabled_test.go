package directory

import (
	"errors"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

// TestBuiltinDisabled: a disabled user's right password is ErrDisabled
// (and so ErrInvalidCredentials), a wrong one stays a wrong one, Lookup
// marks the identity, and enabling restores the sign-in.
func TestBuiltinDisabled(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		b := NewBuiltin(db, testHasher(t))
		if err := b.AddUser(ctx, User{Name: "Hanako"}, "hanako-secret", nil); err != nil {
			t.Fatal(err)
		}
		if err := b.SetDisabled(ctx, "hanako", true, nil); err != nil {
			t.Fatalf("SetDisabled: %v", err)
		}
		if _, err := b.Authenticate(ctx, "hanako", "hanako-secret"); !errors.Is(err, ErrDisabled) ||
			!errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("right password of a disabled user: %v, want ErrDisabled", err)
		}
		if _, err := b.Authenticate(ctx, "hanako", "wrong-secret"); !errors.Is(err, ErrInvalidCredentials) ||
			errors.Is(err, ErrDisabled) {
			t.Errorf("wrong password of a disabled user: %v, want only ErrInvalidCredentials", err)
		}
		if id, err := b.Lookup(ctx, "HANAKO"); err != nil || !id.Disabled || id.Name != "Hanako" {
			t.Errorf("Lookup = %+v, %v; want Hanako disabled", id, err)
		}
		users, err := b.Users(ctx)
		if err != nil || len(users) != 1 || !users[0].Disabled {
			t.Errorf("Users = %+v, %v; want Hanako disabled", users, err)
		}
		if err := b.SetDisabled(ctx, "Hanako", false, nil); err != nil {
			t.Fatalf("enable: %v", err)
		}
		if id, err := b.Authenticate(ctx, "hanako", "hanako-secret"); err != nil || id.Disabled {
			t.Errorf("after enable: %+v, %v", id, err)
		}
		if err := b.SetDisabled(ctx, "nobody", true, nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown user: %v, want ErrNotFound", err)
		}
	})
}

// TestLDAPDisabled: an account an OpenLDAP administrator locked with
// pwdAccountLockedTime (a real slapd with the ppolicy overlay, which
// still accepts the bind) is refused at sign-in and marked at lookup, by
// name and by card; unlocking is seen at the next lookup, uncached.
func TestLDAPDisabled(t *testing.T) {
	srv := testenv.Slapd(t)
	cfg := ldapConfig(srv)
	cfg.DisabledAttribute = "pwdAccountLockedTime"
	d := newLDAP(t, cfg)
	ctx := t.Context()

	srv.Replace(t, "bob", "pwdAccountLockedTime", testenv.LDAPLockedForever)
	if _, err := d.Authenticate(ctx, "bob", "bob-secret"); !errors.Is(err, ErrDisabled) {
		t.Errorf("Authenticate locked bob: %v, want ErrDisabled", err)
	}
	if _, err := d.Authenticate(ctx, "bob", "wrong-secret"); errors.Is(err, ErrDisabled) || !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("wrong password of locked bob: %v, want only ErrInvalidCredentials", err)
	}
	if id, err := d.Lookup(ctx, "1002"); err != nil || !id.Disabled {
		t.Errorf("Lookup locked bob = %+v, %v; want disabled", id, err)
	}
	if id, err := d.LookupCard(ctx, testenv.LDAPBobCard); err != nil || !id.Disabled {
		t.Errorf("LookupCard locked bob = %+v, %v; want disabled", id, err)
	}
	if id, err := d.Lookup(ctx, "alice"); err != nil || id.Disabled {
		t.Errorf("Lookup alice = %+v, %v; want enabled", id, err)
	}
	srv.Replace(t, "bob", "pwdAccountLockedTime")
	if id, err := d.Authenticate(ctx, "bob", "bob-secret"); err != nil || id.Disabled {
		t.Errorf("after unlock: %+v, %v", id, err)
	}

	// Without the setting, the attribute means nothing to printgate.
	srv.Replace(t, "bob", "pwdAccountLockedTime", testenv.LDAPLockedForever)
	if _, err := newLDAP(t, ldapConfig(srv)).Authenticate(ctx, "bob", "bob-secret"); err != nil {
		t.Errorf("without disabled_attribute: %v", err)
	}
}

// TestLDAPDisabledValues: how an entry's values read as disabled, for
// each kind of setting (Active Directory's flags cannot run here).
func TestLDAPDisabledValues(t *testing.T) {
	tests := []struct {
		name, attr, value string
		values            []string
		want              bool
	}{
		{"not configured", "", "", []string{"TRUE"}, false},
		{"presence", "pwdAccountLockedTime", "", []string{"000001010000Z"}, true},
		{"absent", "pwdAccountLockedTime", "", nil, false},
		{"value matches, case ignored", "nsAccountLock", "TRUE", []string{"true"}, true},
		{"other value", "nsAccountLock", "TRUE", []string{"FALSE"}, false},
		{"AD normal account", "userAccountControl", "", []string{"512"}, false},
		{"AD disabled account", "userAccountControl", "", []string{"514"}, true},
		{"AD disabled, password never expires", "userAccountControl", "", []string{"66050"}, true},
		{"AD enabled, password never expires", "userAccountControl", "", []string{"66048"}, false},
		{"AD flags unreadable", "UserAccountControl", "", []string{"x"}, true},
		{"AD flags absent", "userAccountControl", "", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &LDAP{cfg: LDAPConfig{DisabledAttribute: tt.attr, DisabledValue: tt.value}}
			e := ldap.NewEntry("uid=x,dc=example,dc=com", map[string][]string{tt.attr: tt.values})
			if got := l.disabled(e); got != tt.want {
				t.Errorf("disabled = %v, want %v", got, tt.want)
			}
		})
	}
	cfg, err := LDAPConfig{Preset: PresetActiveDirectory}.withDefaults()
	if err != nil || cfg.DisabledAttribute != "userAccountControl" {
		t.Errorf("activedirectory preset: disabled_attribute %q, %v", cfg.DisabledAttribute, err)
	}
}

package directory

import (
	"errors"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

// TestLDAPAccountID: a real slapd gives each entry its entryUUID as the
// account ID, the same at every lookup and sign-in, and a new one to an
// entry deleted and added again under the same name.
func TestLDAPAccountID(t *testing.T) {
	srv := testenv.Slapd(t)
	d := newLDAP(t, ldapConfig(srv))
	ctx := t.Context()
	first, err := d.Lookup(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if len(first.AccountID) != 36 {
		t.Fatalf("bob's account ID %q, want his entryUUID", first.AccountID)
	}
	for what, lookup := range map[string]func() (Identity, error){
		"Authenticate": func() (Identity, error) { return d.Authenticate(ctx, "bob", "bob-secret") },
		"LookupLogin":  func() (Identity, error) { return d.LookupLogin(ctx, "BOB") },
		"LookupCard":   func() (Identity, error) { return d.LookupCard(ctx, testenv.LDAPBobCard) },
	} {
		if id, err := lookup(); err != nil || id.AccountID != first.AccountID {
			t.Errorf("%s: account ID %q, %v; want %q", what, id.AccountID, err, first.AccountID)
		}
	}
	if alice, _ := d.Lookup(ctx, "alice"); alice.AccountID == first.AccountID {
		t.Error("alice and bob share an account ID")
	}

	srv.Recreate(t, "bob", nil)
	again, err := d.Lookup(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if again.AccountID == "" || again.AccountID == first.AccountID {
		t.Errorf("the new bob's account ID %q, want one of his own (the old was %q)", again.AccountID, first.AccountID)
	}
	// The server made both entries moments ago (createTimestamp), the
	// second no earlier than the first.
	if d := time.Since(first.Created); first.Created.IsZero() || d < -time.Minute || d > 10*time.Minute {
		t.Errorf("bob's account made at %v, want moments ago", first.Created)
	}
	if again.Created.Before(first.Created) {
		t.Errorf("the new bob's account made at %v, before the old one's %v", again.Created, first.Created)
	}
}

// TestGeneralizedTime: creation times as servers write them, and what is
// none.
func TestGeneralizedTime(t *testing.T) {
	at := time.Date(2026, 4, 1, 8, 30, 5, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"20260401083005Z":       at,
		"20260401083005.0Z":     at,
		"20260401083005.123Z":   at,
		"20260401173005+0900":   at,
		"20260401173005,5+0900": at,
		"":                      {},
		"2026-04-01T08:30:05Z":  {},
		"yesterday":             {},
	} {
		if got := generalizedTime(in); !got.Equal(want) {
			t.Errorf("generalizedTime(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestOwnedSince: five minutes before the account was made, in UTC
// whatever zone the directory gave (SQLite compares stored times as
// text), and nothing cut when the directory does not say.
func TestOwnedSince(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	for _, tc := range []struct {
		created time.Time
		want    string
	}{
		{time.Date(2026, 4, 1, 8, 30, 0, 0, time.UTC), "2026-04-01T08:25:00Z"},
		{time.Date(2026, 4, 1, 17, 30, 0, 0, tokyo), "2026-04-01T08:25:00Z"},
		{time.Date(2026, 4, 1, 0, 2, 0, 0, tokyo), "2026-03-31T14:57:00Z"},
	} {
		if got := OwnedSince(tc.created).Format(time.RFC3339); got != tc.want {
			t.Errorf("OwnedSince(%v) = %s, want %s", tc.created, got, tc.want)
		}
	}
	if got := OwnedSince(time.Time{}); !got.IsZero() {
		t.Errorf("OwnedSince of no time = %v, want the zero time", got)
	}
}

// TestAccountIDText: an account ID is the attribute's text when it is
// printable (entryUUID), else its hex (objectGUID, whatever its bytes).
func TestAccountIDText(t *testing.T) {
	guid := []byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48}
	for _, tc := range []struct {
		attr  string
		value []byte
		want  string
	}{
		{"entryUUID", []byte("3f2a51d2-7c1b-1040-8d5c-6b8f3e1c2a90"), "3f2a51d2-7c1b-1040-8d5c-6b8f3e1c2a90"},
		{"objectGUID", guid, "123456789abcdef04142434445464748"},
		{"objectGUID", []byte("ABCDEFGHIJKLMNOP"), "4142434445464748494a4b4c4d4e4f50"},
		{"nsUniqueId", []byte{0xff, 0x00, 'a'}, "ff0061"},
		{"entryUUID", nil, ""},
	} {
		if got := accountID(tc.attr, tc.value); got != tc.want {
			t.Errorf("accountID(%s, %x) = %q, want %q", tc.attr, tc.value, got, tc.want)
		}
	}
	for preset, want := range map[string]string{PresetOpenLDAP: "entryUUID", PresetActiveDirectory: "objectGUID"} {
		c, err := LDAPConfig{Preset: preset}.withDefaults()
		if err != nil || c.Attributes.AccountID != want {
			t.Errorf("preset %s: account_id %q, %v; want %s", preset, c.Attributes.AccountID, err, want)
		}
	}
	cfg := LDAPConfig{URL: "ldap://localhost", BindDN: "cn=x", BaseDN: "dc=x"}
	cfg.Attributes.AccountID = "entry UUID"
	if err := cfg.Validate(); err == nil {
		t.Error("an account_id that is no attribute name is accepted")
	}
}

// TestBuiltinAccountID: each built-in user gets a random account ID when
// added, and a user deleted and added again under the same name gets
// another; users added before account IDs existed get one each from the
// migration.
func TestBuiltinAccountID(t *testing.T) {
	testenv.EachDB(t, nil, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		// The schema as it was before account IDs, with two users.
		err := db.Migrate(ctx, "directory", []database.Migration{
			{Name: "users", Up: createUsers},
			{Name: "users.disabled", Up: func(tx *gorm.DB, _ database.Dialect) error {
				return database.Exec(tx, `ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE`)
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"old1", "old2"} {
			if err := db.Exec(`INSERT INTO users (name, password_hash, created_at, updated_at) VALUES (?, 'x', ?, ?)`,
				n, testenv.NewClock().Now(), testenv.NewClock().Now()).Error; err != nil {
				t.Fatal(err)
			}
		}
		if err := Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		b := NewBuiltin(db, testHasher(t))
		old1, err1 := b.Lookup(ctx, "old1")
		old2, err2 := b.Lookup(ctx, "old2")
		if errors.Join(err1, err2) != nil || old1.AccountID == "" || old1.AccountID == old2.AccountID {
			t.Errorf("migrated users' account IDs %q and %q (%v), want two different ones",
				old1.AccountID, old2.AccountID, errors.Join(err1, err2))
		}

		if err := b.AddUser(ctx, User{Name: "hanako"}, "hanako-secret", nil); err != nil {
			t.Fatal(err)
		}
		first, err := b.Lookup(ctx, "hanako")
		if err != nil {
			t.Fatal(err)
		}
		if err := b.DeleteUser(ctx, "hanako", nil); err != nil {
			t.Fatal(err)
		}
		if err := b.AddUser(ctx, User{Name: "Hanako"}, "hanako-secret", nil); err != nil {
			t.Fatal(err)
		}
		again, err := b.Lookup(ctx, "hanako")
		if err != nil {
			t.Fatal(err)
		}
		if first.AccountID == "" || again.AccountID == first.AccountID {
			t.Errorf("account IDs %q then %q, want a new one for the new user", first.AccountID, again.AccountID)
		}
		if id, err := b.Authenticate(ctx, "hanako", "hanako-secret"); err != nil || id.AccountID != again.AccountID {
			t.Errorf("Authenticate: account ID %q, %v; want %q", id.AccountID, err, again.AccountID)
		}
	})
}

// TestLookupName: a stored name finds its own user only, never the user
// whose employee number it happens to be.
func TestLookupName(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		b := NewBuiltin(db, testHasher(t))
		if err := b.AddUser(ctx, User{Name: "ysato", EmployeeNumber: "300145"}, "ysato-secret", nil); err != nil {
			t.Fatal(err)
		}
		if id, err := b.Lookup(ctx, "300145"); err != nil || id.Name != "ysato" {
			t.Fatalf("Lookup by employee number = %+v, %v; want ysato", id, err)
		}
		if id, err := LookupName(ctx, b, "300145"); !errors.Is(err, ErrNotFound) {
			t.Errorf("LookupName(300145) = %+v, %v; want ErrNotFound", id, err)
		}
		if id, err := LookupName(ctx, lookupOnly{b}, "300145"); !errors.Is(err, ErrNotFound) {
			t.Errorf("LookupName(300145) in a directory without LookupLogin = %+v, %v; want ErrNotFound", id, err)
		}
		if id, err := LookupName(ctx, b, "YSATO"); err != nil || id.Name != "ysato" {
			t.Errorf("LookupName(YSATO) = %+v, %v; want ysato", id, err)
		}
	})
}

// lookupOnly hides every method of a Directory but those of the
// interface.
type lookupOnly struct{ Directory }

package directory

import (
	"errors"
	"testing"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

// TestLDAPLookupLogin: a real slapd finds a user by login name in any
// case, or by a further login name in attributes.logins, and never by
// employee number; without attributes.logins the further names are
// nobody's.
func TestLDAPLookupLogin(t *testing.T) {
	srv := testenv.Slapd(t)
	srv.Add(t, "bob", "description", "BobW", "robert.mac")
	cfg := ldapConfig(srv)
	cfg.Attributes.Logins = "description"
	with, without := newLDAP(t, cfg), newLDAP(t, ldapConfig(srv))
	tests := []struct {
		name, login string
		d           *LDAP
		want        string
	}{
		{"name", "bob", with, "bob"},
		{"name in upper case", "BOB", with, "bob"},
		{"further login", "bobw", with, "bob"},
		{"another further login", "Robert.Mac", with, "bob"},
		{"employee number is no login", "1002", with, ""},
		{"unknown", "root", with, ""},
		{"wildcard", "*", with, ""},
		{"empty", "", with, ""},
		{"further login without the attribute", "bobw", without, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := tt.d.LookupLogin(t.Context(), tt.login)
			if tt.want == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("LookupLogin(%q) = %+v, %v; want ErrNotFound", tt.login, id, err)
				}
				return
			}
			if err != nil || id.Name != tt.want {
				t.Fatalf("LookupLogin(%q) = %+v, %v; want %s", tt.login, id, err, tt.want)
			}
		})
	}
}

// TestBuiltinLookupLogin: the built-in directory finds a user by name in
// any case, and never by employee number.
func TestBuiltinLookupLogin(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		b := NewBuiltin(db, testHasher(t))
		if err := b.AddUser(t.Context(), User{Name: "Hanako", EmployeeNumber: "2001"}, "hanako-secret", nil); err != nil {
			t.Fatal(err)
		}
		for login, want := range map[string]string{"hanako": "Hanako", "HANAKO": "Hanako", "2001": "", "": "", "hana": ""} {
			id, err := b.LookupLogin(t.Context(), login)
			if want == "" && !errors.Is(err, ErrNotFound) || want != "" && (err != nil || id.Name != want) {
				t.Errorf("LookupLogin(%q) = %+v, %v; want %q", login, id, err, want)
			}
		}
	})
}

// TestLDAPOneNamePerEntry: an entry whose name attribute holds several
// values (uid: robert and uid: bob, the entry named uid=bob) is one
// account, whichever value is typed: one owner of jobs and one count of
// wrong passwords. Without an RDN of that attribute, the first value.
func TestLDAPOneNamePerEntry(t *testing.T) {
	srv := testenv.Slapd(t)
	srv.Replace(t, "bob", "uid", "robert", "bob")
	srv.Replace(t, "carol", "cn", "Carol Auditor", "carol-two")
	d := newLDAP(t, ldapConfig(srv))
	byCN := ldapConfig(srv)
	byCN.Attributes.Name = "cn"
	byCN.UserFilter = "(&(objectClass=inetOrgPerson)(cn=%s))"
	cn := newLDAP(t, byCN)
	ctx := t.Context()
	for _, typed := range []string{"bob", "robert", "ROBERT", "Bob"} {
		if id, err := d.Lookup(ctx, typed); err != nil || id.Name != "bob" {
			t.Errorf("Lookup(%q) = %q, %v; want bob", typed, id.Name, err)
		}
		if id, err := d.Authenticate(ctx, typed, "bob-secret"); err != nil || id.Name != "bob" {
			t.Errorf("Authenticate(%q) = %q, %v; want bob", typed, id.Name, err)
		}
	}
	for _, typed := range []string{"Carol Auditor", "carol-two"} {
		if id, err := cn.Lookup(ctx, typed); err != nil || id.Name != "Carol Auditor" {
			t.Errorf("Lookup(%q) by cn = %q, %v; want the first value, Carol Auditor", typed, id.Name, err)
		}
	}
}

package directory

import (
	"errors"
	"slices"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/printgate/printgate/internal/testenv"
)

// addGroup adds the groupOfNames cn under testenv.LDAPGroupsDN to srv's
// directory, as its root, and returns its DN.
func addGroup(t *testing.T, srv *testenv.LDAP, cn string, members ...string) string {
	t.Helper()
	c, err := ldap.DialURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(srv.RootDN, srv.RootPassword); err != nil {
		t.Fatal(err)
	}
	dn := "cn=" + ldap.EscapeDN(cn) + "," + testenv.LDAPGroupsDN
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"groupOfNames"})
	req.Attribute("cn", []string{cn})
	var ms []string
	for _, m := range members {
		ms = append(ms, srv.UserDN(m))
	}
	req.Attribute("member", ms)
	if err := c.Add(req); err != nil {
		t.Fatalf("add %s: %v", dn, err)
	}
	return dn
}

// TestLDAPInGroups: a real slapd tells which of the asked groups hold a
// user, whatever case the name is typed in; a group that does not exist
// holds nobody, and an unknown user is ErrNotFound.
func TestLDAPInGroups(t *testing.T) {
	srv := testenv.Slapd(t)
	internsGroup := addGroup(t, srv, "interns", "bob", "carol")
	d := newLDAP(t, ldapConfig(srv))
	missing := "cn=nobody,ou=groups,dc=example,dc=com"
	asked := []string{testenv.LDAPAdminsGroup, internsGroup, missing}
	for _, tc := range []struct {
		user string
		want []string
		err  error
	}{
		{"bob", []string{internsGroup}, nil},
		{"BOB", []string{internsGroup}, nil},
		{"alice", []string{testenv.LDAPAdminsGroup}, nil},
		{"carol", []string{internsGroup}, nil},
		{"mallory", nil, ErrNotFound},
		{"*", nil, ErrNotFound},
		{"", nil, ErrNotFound},
	} {
		got, err := d.InGroups(t.Context(), tc.user, asked)
		if !errors.Is(err, tc.err) || !slices.Equal(got, tc.want) {
			t.Errorf("InGroups(%q) = %v, %v; want %v, %v", tc.user, got, err, tc.want, tc.err)
		}
	}
	// Without the group, bob is in none.
	got, err := d.InGroups(t.Context(), "bob", []string{missing, testenv.LDAPAuditorsGroup})
	if err != nil || len(got) != 0 {
		t.Errorf("InGroups(bob, others) = %v, %v", got, err)
	}
}

// TestLDAPInGroupsUnavailable: a directory that cannot be reached says
// so; it is never taken as "in no group".
func TestLDAPInGroupsUnavailable(t *testing.T) {
	srv := testenv.Slapd(t)
	cfg := ldapConfig(srv)
	cfg.URL = "ldap://127.0.0.1:1"
	d := newLDAP(t, cfg)
	if _, err := d.InGroups(t.Context(), "bob", []string{testenv.LDAPAdminsGroup}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("InGroups with the directory down = %v, want ErrUnavailable", err)
	}
}

package testenv

import (
	"errors"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

func TestSlapd(t *testing.T) {
	l := Slapd(t)

	dial := func(t *testing.T) *ldap.Conn {
		t.Helper()
		c, err := ldap.DialURL(l.URL)
		if err != nil {
			t.Fatalf("dial %s: %v", l.URL, err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	binds := []struct {
		name, dn, password string
		ok                 bool
	}{
		{"alice", l.UserDN("alice"), "alice-secret", true},
		{"bob", l.UserDN("bob"), "bob-secret", true},
		{"carol", l.UserDN("carol"), "carol-secret", true},
		{"service account", l.ServiceDN, l.ServicePassword, true},
		{"root", l.RootDN, l.RootPassword, true},
		{"wrong password", l.UserDN("bob"), "alice-secret", false},
		{"unknown user", l.UserDN("mallory"), "mallory-secret", false},
	}
	for _, tt := range binds {
		t.Run("bind "+tt.name, func(t *testing.T) {
			err := dial(t).Bind(tt.dn, tt.password)
			if tt.ok && err != nil {
				t.Fatalf("bind: %v", err)
			}
			if !tt.ok && !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
				t.Fatalf("bind = %v, want invalid credentials", err)
			}
		})
	}

	search := func(t *testing.T, c *ldap.Conn, base, filter string) []*ldap.Entry {
		t.Helper()
		res, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			0, 5, false, filter, []string{"uid", "cn", "member", LDAPCardAttribute}, nil))
		var lerr *ldap.Error
		if errors.As(err, &lerr) && lerr.ResultCode == ldap.LDAPResultNoSuchObject {
			return nil
		}
		if err != nil {
			t.Fatalf("search %s: %v", filter, err)
		}
		return res.Entries
	}

	t.Run("service account finds user by card", func(t *testing.T) {
		c := dial(t)
		if err := c.Bind(l.ServiceDN, l.ServicePassword); err != nil {
			t.Fatal(err)
		}
		got := search(t, c, l.BaseDN, "(&(objectClass=inetOrgPerson)("+LDAPCardAttribute+"="+LDAPBobCard+"))")
		if len(got) != 1 || got[0].GetAttributeValue("uid") != "bob" {
			t.Fatalf("card search found %v, want bob", got)
		}
	})
	t.Run("groups", func(t *testing.T) {
		c := dial(t)
		if err := c.Bind(l.ServiceDN, l.ServicePassword); err != nil {
			t.Fatal(err)
		}
		for group, member := range map[string]string{LDAPAdminsGroup: "alice", LDAPAuditorsGroup: "carol"} {
			got := search(t, c, group, "(member="+ldap.EscapeFilter(l.UserDN(member))+")")
			if len(got) != 1 {
				t.Errorf("%s does not list %s as member", group, member)
			}
		}
	})
	t.Run("anonymous sees nothing", func(t *testing.T) {
		if got := search(t, dial(t), l.BaseDN, "(uid=*)"); len(got) != 0 {
			t.Fatalf("anonymous search found %d entries", len(got))
		}
	})
	t.Run("passwords are not readable", func(t *testing.T) {
		c := dial(t)
		if err := c.Bind(l.UserDN("bob"), "bob-secret"); err != nil {
			t.Fatal(err)
		}
		res, err := c.Search(ldap.NewSearchRequest(l.UserDN("alice"), ldap.ScopeBaseObject, ldap.NeverDerefAliases,
			0, 5, false, "(objectClass=*)", []string{"userPassword"}, nil))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("userPassword") != "" {
			t.Fatal("bob can read alice's password hash")
		}
	})
}

func TestSlapdInstancesAreSeparate(t *testing.T) {
	a, b := Slapd(t), Slapd(t)
	if a.URL == b.URL {
		t.Fatalf("two servers share %s", a.URL)
	}
}

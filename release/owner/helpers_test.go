package owner

import (
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/printgate/printgate/internal/testenv"
)

// addLogin adds login to the description of uid's entry in srv's
// directory, as its root: the test's attributes.logins.
func addLogin(t *testing.T, srv *testenv.LDAP, uid, login string) {
	t.Helper()
	c, err := ldap.DialURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(srv.RootDN, srv.RootPassword); err != nil {
		t.Fatal(err)
	}
	req := ldap.NewModifyRequest(srv.UserDN(uid), nil)
	req.Add("description", []string{login})
	if err := c.Modify(req); err != nil {
		t.Fatalf("modify %s: %v", uid, err)
	}
}

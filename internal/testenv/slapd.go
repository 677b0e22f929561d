package testenv

import (
	"context"
	_ "embed"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// directoryLDIF is the test directory; see the comment at its top.
//
//go:embed testdata/directory.ldif
var directoryLDIF []byte

// Entries of the test directory that tests refer to. People bind with the
// password "<uid>-secret"; an IC card UID is stored in carLicense.
const (
	LDAPBaseDN        = "dc=example,dc=com"
	LDAPPeopleDN      = "ou=people,dc=example,dc=com"
	LDAPGroupsDN      = "ou=groups,dc=example,dc=com"
	LDAPAdminsGroup   = "cn=print-admins,ou=groups,dc=example,dc=com"   // alice
	LDAPAuditorsGroup = "cn=print-auditors,ou=groups,dc=example,dc=com" // carol
	LDAPCardAttribute = "carLicense"
	LDAPAliceCard     = "0455AA66BB77CC"
	LDAPBobCard       = "04A1B2C3D4E5F6" // carol has no card
)

// LDAP describes a running test directory server.
type LDAP struct {
	URL             string // ldap://127.0.0.1:PORT
	BaseDN          string // dc=example,dc=com
	ServiceDN       string // the print service's search account
	ServicePassword string
	RootDN          string // the database's rootdn, which bypasses access control
	RootPassword    string
}

// UserDN returns the DN of the person with the given uid.
func (l *LDAP) UserDN(uid string) string {
	return "uid=" + ldap.EscapeDN(uid) + "," + LDAPPeopleDN
}

// slapdConf is slapd's configuration. Passwords can only be used to bind;
// the service account and bound users may read the tree; anonymous users
// see nothing but the root DSE.
const slapdConf = `include   {{schema}}/core.schema
include   {{schema}}/cosine.schema
include   {{schema}}/inetorgperson.schema

modulepath {{modules}}
moduleload back_mdb
moduleload ppolicy

pidfile   {{dir}}/slapd.pid
argsfile  {{dir}}/slapd.args

database  mdb
maxsize   67108864
suffix    "dc=example,dc=com"
rootdn    "cn=admin,dc=example,dc=com"
rootpw    {SSHA}C9OF8tlIbSPLIidALRnZUGDCjbk5vKoA
directory {{dir}}/data

index objectClass    eq
index uid,mail,cn    eq
index employeeNumber eq
index carLicense     eq
index member         eq

# The password policy overlay, without a default policy, enforces
# nothing: it is here for its pwdAccountLockedTime attribute, with which
# tests disable accounts as an OpenLDAP administrator would.
overlay ppolicy

access to attrs=userPassword
	by self =xw
	by anonymous auth
	by * none
access to *
	by dn.exact="cn=print-release,ou=services,dc=example,dc=com" read
	by users read
	by * none
`

// Slapd starts Debian's slapd on a free loopback port with the directory
// in testdata/directory.ldif, and stops it in t.Cleanup. Each call has its
// own server and database, so tests may change entries freely.
func Slapd(t testing.TB) *LDAP {
	t.Helper()
	slapd := Tool(t, "slapd")
	slapadd := Tool(t, "slapadd")
	const schemaDir, moduleDir = "/etc/ldap/schema", "/usr/lib/ldap"
	_, err := os.Stat(filepath.Join(schemaDir, "inetorgperson.schema"))
	Need(t, "OpenLDAP schema files", err)

	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatalf("testenv: slapd: %v", err)
	}
	conf := filepath.Join(dir, "slapd.conf")
	text := expand(slapdConf, map[string]string{"schema": schemaDir, "modules": moduleDir, "dir": dir})
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatalf("testenv: slapd: %v", err)
	}
	ldif := filepath.Join(dir, "directory.ldif")
	if err := os.WriteFile(ldif, directoryLDIF, 0o600); err != nil {
		t.Fatalf("testenv: slapd: %v", err)
	}
	// slapadd loads offline, before the server opens the database.
	if out, err := exec.Command(slapadd, "-q", "-f", conf, "-l", ldif).CombinedOutput(); err != nil {
		t.Fatalf("testenv: slapd: slapadd: %v\n%s", err, out)
	}

	l := &LDAP{
		BaseDN:          LDAPBaseDN,
		ServiceDN:       "cn=print-release,ou=services," + LDAPBaseDN,
		ServicePassword: "service-secret",
		RootDN:          "cn=admin," + LDAPBaseDN,
		RootPassword:    "admin-secret",
	}
	// A port found free may be taken before slapd binds it; then slapd
	// exits at once and another port is tried.
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("testenv: slapd: %v", err)
		}
		l.URL = "ldap://127.0.0.1:" + strconv.Itoa(port)
		// -d 0 keeps slapd in the foreground without debug output.
		p, err := startProcess("slapd", slapd, []string{"LDAPNOINIT=1"}, "-d", "0", "-f", conf, "-h", l.URL+"/")
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		lastErr = p.waitReady(l.bindReady)
		if lastErr == nil {
			t.Cleanup(p.stop)
			return l
		}
		p.stop()
	}
	t.Fatalf("testenv: %v", lastErr)
	return nil
}

// bindReady succeeds once the service account can bind.
func (l *LDAP) bindReady(ctx context.Context) error {
	conn, err := ldap.DialURL(l.URL, ldap.DialWithDialer(dialerFor(ctx)))
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetTimeout(2 * time.Second)
	return conn.Bind(l.ServiceDN, l.ServicePassword)
}

// expand replaces each {{key}} in text.
func expand(text string, vars map[string]string) string {
	for k, v := range vars {
		text = strings.ReplaceAll(text, "{{"+k+"}}", v)
	}
	return text
}

// dialerFor returns a dialer that gives up by ctx's deadline.
func dialerFor(ctx context.Context) *net.Dialer {
	d := &net.Dialer{Timeout: time.Second}
	if dl, ok := ctx.Deadline(); ok {
		d.Deadline = dl
	}
	return d
}

// LDAPLockedForever is the pwdAccountLockedTime value with which an
// OpenLDAP administrator disables an account for good.
const LDAPLockedForever = "000001010000Z"

// AsRoot returns a connection bound as the directory's root, closed when
// t ends: for a test that changes the directory as its administrator
// would.
func (l *LDAP) AsRoot(t testing.TB) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(l.URL)
	if err != nil {
		t.Fatalf("testenv: slapd: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Bind(l.RootDN, l.RootPassword); err != nil {
		t.Fatalf("testenv: slapd: bind as root: %v", err)
	}
	return c
}

// Replace sets attribute attr of the person uid to values, as the
// directory's root; no values deletes the attribute.
func (l *LDAP) Replace(t testing.TB, uid, attr string, values ...string) {
	t.Helper()
	req := ldap.NewModifyRequest(l.UserDN(uid), nil)
	req.Replace(attr, values)
	if err := l.AsRoot(t).Modify(req); err != nil {
		t.Fatalf("testenv: slapd: set %s of %s: %v", attr, uid, err)
	}
}

// Add adds values to attribute attr of the person uid, as the
// directory's root.
func (l *LDAP) Add(t testing.TB, uid, attr string, values ...string) {
	t.Helper()
	req := ldap.NewModifyRequest(l.UserDN(uid), nil)
	req.Add(attr, values)
	if err := l.AsRoot(t).Modify(req); err != nil {
		t.Fatalf("testenv: slapd: add to %s of %s: %v", attr, uid, err)
	}
}

// Delete deletes the person uid, as an administrator would a leaver's
// entry.
func (l *LDAP) Delete(t testing.TB, uid string) {
	t.Helper()
	if err := l.AsRoot(t).Del(ldap.NewDelRequest(l.UserDN(uid), nil)); err != nil {
		t.Fatalf("testenv: slapd: delete %s: %v", uid, err)
	}
}

// Recreate deletes the person uid and adds a new one under the same uid
// with attrs besides its object class, uid, cn and sn: a leaver's name
// given to a new hire. The new entry is another account (its entryUUID
// differs) with no password.
func (l *LDAP) Recreate(t testing.TB, uid string, attrs map[string]string) {
	t.Helper()
	l.Delete(t, uid)
	req := ldap.NewAddRequest(l.UserDN(uid), nil)
	req.Attribute("objectClass", []string{"inetOrgPerson"})
	req.Attribute("uid", []string{uid})
	req.Attribute("cn", []string{"New Hire"})
	req.Attribute("sn", []string{"Hire"})
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		req.Attribute(k, []string{attrs[k]})
	}
	if err := l.AsRoot(t).Add(req); err != nil {
		t.Fatalf("testenv: slapd: add %s: %v", uid, err)
	}
}

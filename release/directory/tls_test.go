package directory

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/testenv"
)

// tlsSlapd is a slapd serving ldap:// (with StartTLS) and ldaps:// with
// a certificate for 127.0.0.1 signed by a CA made for the test. testenv's
// slapd has no TLS, so this one is started here, with one person, dave.
type tlsSlapd struct {
	ldapURL, ldapsURL string
	caFile            string
}

const tlsSlapdConf = `include   /etc/ldap/schema/core.schema
include   /etc/ldap/schema/cosine.schema
include   /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile   DIR/slapd.pid
argsfile  DIR/slapd.args
TLSCACertificateFile  DIR/ca.pem
TLSCertificateFile    DIR/server.pem
TLSCertificateKeyFile DIR/server.key
database  mdb
maxsize   16777216
suffix    "dc=example,dc=com"
rootdn    "cn=admin,dc=example,dc=com"
rootpw    admin-secret
directory DIR/data
`

const tlsSlapdLDIF = `dn: dc=example,dc=com
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: uid=dave,dc=example,dc=com
objectClass: inetOrgPerson
uid: dave
cn: Dave TLS
sn: TLS
userPassword: dave-secret
`

func startTLSSlapd(t *testing.T) *tlsSlapd {
	t.Helper()
	slapd := testenv.Tool(t, "slapd")
	slapadd := testenv.Tool(t, "slapadd")
	_, err := os.Stat("/etc/ldap/schema/inetorgperson.schema")
	testenv.Need(t, "OpenLDAP schema files", err)

	dir := t.TempDir()
	writeTestCerts(t, dir)
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "slapd.conf")
	ldif := filepath.Join(dir, "data.ldif")
	if err := os.WriteFile(conf, []byte(strings.ReplaceAll(tlsSlapdConf, "DIR", dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ldif, []byte(tlsSlapdLDIF), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(slapadd, "-q", "-f", conf, "-l", ldif).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	s := &tlsSlapd{caFile: filepath.Join(dir, "ca.pem")}
	for range 3 {
		s.ldapURL = "ldap://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
		s.ldapsURL = "ldaps://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
		cmd := exec.Command(slapd, "-d", "0", "-f", conf, "-h", s.ldapURL+"/ "+s.ldapsURL+"/")
		cmd.Env = append(os.Environ(), "LDAPNOINIT=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start slapd: %v", err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		stop := func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-done
			}
		}
		if waitListening(done, s.ldapURL, s.ldapsURL) {
			t.Cleanup(stop)
			return s
		}
		stop()
		t.Logf("slapd did not start: %s", out.String())
	}
	t.Fatal("slapd with TLS did not start")
	return nil
}

// waitListening waits until both URLs accept TCP connections, or the
// server exited.
func waitListening(done <-chan struct{}, urls ...string) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ok := true
		for _, u := range urls {
			c, err := net.DialTimeout("tcp", u[strings.Index(u, "//")+2:], time.Second)
			if err != nil {
				ok = false
				break
			}
			c.Close()
		}
		if ok {
			return true
		}
		select {
		case <-done:
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	return false
}

// writeTestCerts writes ca.pem, server.pem and server.key for 127.0.0.1
// and the name ldap.test to dir.
func writeTestCerts(t *testing.T, dir string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "printgate test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "ldap.test"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{"ldap.test"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{
		"ca.pem":     {Type: "CERTIFICATE", Bytes: caDER},
		"server.pem": {Type: "CERTIFICATE", Bytes: der},
		"server.key": {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLDAPTLS(t *testing.T) {
	s := startTLSSlapd(t)
	base := LDAPConfig{BindDN: "cn=admin,dc=example,dc=com", BindPassword: "admin-secret",
		BaseDN: "dc=example,dc=com", CAFile: s.caFile, Timeout: 5 * time.Second}
	tests := []struct {
		name string
		set  func(*LDAPConfig)
		ok   bool
	}{
		{"ldaps with CA file", func(c *LDAPConfig) { c.URL = s.ldapsURL }, true},
		{"StartTLS with CA file", func(c *LDAPConfig) { c.URL, c.StartTLS = s.ldapURL, true }, true},
		{"ldaps with server name", func(c *LDAPConfig) { c.URL, c.ServerName = s.ldapsURL, "ldap.test" }, true},
		{"ldaps wrong server name", func(c *LDAPConfig) { c.URL, c.ServerName = s.ldapsURL, "other.test" }, false},
		{"StartTLS wrong server name", func(c *LDAPConfig) { c.URL, c.StartTLS, c.ServerName = s.ldapURL, true, "other.test" }, false},
		{"ldaps without the CA", func(c *LDAPConfig) { c.URL, c.CAFile = s.ldapsURL, "" }, false},
		{"StartTLS without the CA", func(c *LDAPConfig) { c.URL, c.StartTLS, c.CAFile = s.ldapURL, true, "" }, false},
		{"ldaps insecure skip verify", func(c *LDAPConfig) {
			c.URL, c.CAFile, c.InsecureSkipVerify = s.ldapsURL, "", true
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.set(&cfg)
			d := newLDAP(t, cfg)
			id, err := d.Authenticate(t.Context(), "dave", "dave-secret")
			if !tt.ok {
				if !errors.Is(err, ErrUnavailable) {
					t.Fatalf("Authenticate = %+v, %v; want ErrUnavailable", id, err)
				}
				if !strings.Contains(err.Error(), "certificate") {
					t.Errorf("refused for another reason than the certificate: %v", err)
				}
				return
			}
			if err != nil || id.Name != "dave" || id.DisplayName != "Dave TLS" {
				t.Fatalf("Authenticate = %+v, %v", id, err)
			}
			if _, err := d.Authenticate(t.Context(), "dave", "wrong"); !errors.Is(err, ErrInvalidCredentials) {
				t.Errorf("wrong password over TLS: %v", err)
			}
			// The pooled connection really is encrypted.
			c, err := d.acquire(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer d.release(c, true)
			if st, ok := c.TLSConnectionState(); !ok || !st.HandshakeComplete || st.Version < tls.VersionTLS12 {
				t.Errorf("connection TLS state = %+v, %v", st, ok)
			}
		})
	}
}

package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release/directory"
)

// directorySetup configures cfg for one kind of directory and makes sure
// it holds alice (admin), bob and carol (auditor) with "<name>-secret"
// passwords.
type directorySetup struct {
	name  string
	apply func(t *testing.T, cfg *Config)
}

func directorySetups() []directorySetup {
	return []directorySetup{
		{"ldap", func(t *testing.T, cfg *Config) {
			l := testenv.Slapd(t)
			cfg.Directory = DirectoryConfig{Type: "ldap", LDAP: directory.LDAPConfig{
				Preset: directory.PresetOpenLDAP, URL: l.URL, BindDN: l.ServiceDN, BindPassword: l.ServicePassword,
				BaseDN: l.BaseDN, AdminGroups: []string{testenv.LDAPAdminsGroup},
				AuditorGroups: []string{testenv.LDAPAuditorsGroup},
				Attributes:    directory.LDAPAttributes{Card: testenv.LDAPCardAttribute},
			}}
		}},
		{"builtin", func(t *testing.T, cfg *Config) {
			for _, u := range []struct{ name, role string }{{"alice", "admin"}, {"bob", "user"}, {"carol", "auditor"}} {
				runCLI(t, *cfg, u.name+"-secret\n", "user", "add", u.name, "--role", u.role)
			}
		}},
	}
}

// runCLI runs a printgate subcommand against cfg with stdin and returns
// its output; it fails the test if the command fails.
func runCLI(t *testing.T, cfg Config, stdin string, args ...string) string {
	t.Helper()
	out, err := tryCLI(t, cfg, stdin, args...)
	if err != nil {
		t.Fatalf("printgate %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func tryCLI(t *testing.T, cfg Config, stdin string, args ...string) (string, error) {
	t.Helper()
	path := writeConfig(t, cfg)
	var out bytes.Buffer
	a := &app{stdout: &out, stderr: &out, stdin: strings.NewReader(stdin)}
	cmd := a.command()
	cmd.SetArgs(append(args, "--config", path))
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// TestBasicAuthSubmission: over IPPS with HTTP Basic, the directory user
// owns the job whatever name the client claims; a wrong password gets 401
// and no job; plain text is refused; alice has the admin role.
func TestBasicAuthSubmission(t *testing.T) {
	pdf := testdocs.PDF(1, "basic auth", testdocs.A4)
	for _, ds := range directorySetups() {
		t.Run(ds.name, func(t *testing.T) {
			cfg := newConfig(t, "", QueueConfig{Name: "secure", Mode: "hold", Auth: "basic"})
			tlsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t)))
			cfg.Server.TLSListen = []string{tlsAddr}
			ds.apply(t, &cfg)
			srv := startServer(t, cfg)
			uri := "ipps://" + tlsAddr + "/ipp/print/secure"
			submit := func(user, password string) (int, *goipp.Message) {
				return ippsDo(t, tlsAddr, "secure", user, password,
					ippRequest(goipp.OpPrintJob, uri, "mallory", mimeVal("application/pdf")), pdf)
			}
			if code, r := submit("bob", "bob-secret"); code != http.StatusOK || status(r) != goipp.StatusOk {
				t.Fatalf("bob over IPPS: HTTP %d", code)
			}
			if code, _ := submit("bob", "wrong-secret"); code != http.StatusUnauthorized {
				t.Errorf("wrong password: HTTP %d, want 401", code)
			}
			if code, _ := submit("", ""); code != http.StatusUnauthorized {
				t.Errorf("no credentials: HTTP %d, want 401", code)
			}
			code, _ := ippHTTP(t, "http://"+srv.Addr+"/ipp/print/secure", "bob", "bob-secret",
				ippRequest(goipp.OpPrintJob, srv.PrinterURI("secure"), "bob", mimeVal("application/pdf")), pdf)
			if code != http.StatusForbidden {
				t.Errorf("plain-text submission to a basic queue: HTTP %d, want 403", code)
			}
			db := openTestDB(t, srv)
			var owners []string
			db.Raw("SELECT owner FROM jobs").Scan(&owners)
			if len(owners) != 1 || owners[0] != "bob" {
				t.Errorf("job owners %v, want exactly [bob]: the authenticated user, not the claimed mallory", owners)
			}
			st, err := openStack(context.Background(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			id, err := st.dir.Authenticate(context.Background(), "alice", "alice-secret")
			if err != nil || id.Role() != directory.RoleAdmin {
				t.Errorf("alice: role %v, err %v; want admin", id.Role(), err)
			}
			id, err = st.dir.Authenticate(context.Background(), "carol", "carol-secret")
			if err != nil || id.Role() != directory.RoleAuditor {
				t.Errorf("carol: role %v, err %v; want auditor", id.Role(), err)
			}
		})
	}
}

// TestUntrustedNetwork: a requesting-user-name queue takes names only from
// its trusted networks.
func TestUntrustedNetwork(t *testing.T) {
	srv := startServer(t, newConfig(t, "", QueueConfig{Name: "secure", TrustedNetworks: []string{"192.0.2.0/24"}}))
	code, _ := ippHTTP(t, "http://"+srv.Addr+"/ipp/print/secure", "", "",
		ippRequest(goipp.OpPrintJob, srv.PrinterURI("secure"), "bob", mimeVal("application/pdf")),
		testdocs.PDF(1, "x", testdocs.A4))
	if code != http.StatusUnauthorized {
		t.Errorf("submission from outside the trusted networks: HTTP %d, want 401", code)
	}
}

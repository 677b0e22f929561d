package directory

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/testenv"
)

// ldapConfig returns the configuration for testenv's directory.
func ldapConfig(l *testenv.LDAP) LDAPConfig {
	return LDAPConfig{
		URL:           l.URL,
		BindDN:        l.ServiceDN,
		BindPassword:  l.ServicePassword,
		BaseDN:        l.BaseDN,
		Attributes:    LDAPAttributes{Card: testenv.LDAPCardAttribute},
		AdminGroups:   []string{testenv.LDAPAdminsGroup},
		AuditorGroups: []string{testenv.LDAPAuditorsGroup},
		Timeout:       5 * time.Second,
	}
}

func newLDAP(t *testing.T, cfg LDAPConfig) *LDAP {
	t.Helper()
	d, err := NewLDAP(cfg)
	if err != nil {
		t.Fatalf("NewLDAP: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestLDAPAuthenticate(t *testing.T) {
	srv := testenv.Slapd(t)
	d := newLDAP(t, ldapConfig(srv))
	ctx := t.Context()

	tests := []struct {
		name, user, password string
		want                 Identity
		wantErr              error
	}{
		{name: "admin", user: "alice", password: "alice-secret", want: Identity{
			Name: "alice", DisplayName: "Alice Admin", Email: "alice@example.com", EmployeeNumber: "1001",
			Roles: []Role{RoleAdmin, RoleUser}, Cards: []string{testenv.LDAPAliceCard}, Source: "ldap"}},
		{name: "auditor", user: "carol", password: "carol-secret", want: Identity{
			Name: "carol", DisplayName: "Carol Auditor", Email: "carol@example.com", EmployeeNumber: "1003",
			Roles: []Role{RoleAuditor, RoleUser}, Source: "ldap"}},
		{name: "user", user: "bob", password: "bob-secret", want: Identity{
			Name: "bob", DisplayName: "Bob User", Email: "bob@example.com", EmployeeNumber: "1002",
			Roles: []Role{RoleUser}, Cards: []string{testenv.LDAPBobCard}, Source: "ldap"}},
		{name: "name in other case gets directory spelling", user: "ALICE", password: "alice-secret", want: Identity{
			Name: "alice", DisplayName: "Alice Admin", Email: "alice@example.com", EmployeeNumber: "1001",
			Roles: []Role{RoleAdmin, RoleUser}, Cards: []string{testenv.LDAPAliceCard}, Source: "ldap"}},
		{name: "wrong password", user: "alice", password: "bob-secret", wantErr: ErrInvalidCredentials},
		{name: "empty password", user: "alice", password: "", wantErr: ErrInvalidCredentials},
		{name: "unknown user", user: "mallory", password: "mallory-secret", wantErr: ErrInvalidCredentials},
		{name: "empty name", user: "", password: "alice-secret", wantErr: ErrInvalidCredentials},
		{name: "wildcard", user: "*", password: "alice-secret", wantErr: ErrInvalidCredentials},
		{name: "partial wildcard", user: "al*", password: "alice-secret", wantErr: ErrInvalidCredentials},
		{name: "filter injection", user: "alice)(uid=*", password: "alice-secret", wantErr: ErrInvalidCredentials},
		{name: "filter injection or", user: "*)(|(uid=*", password: "alice-secret", wantErr: ErrInvalidCredentials},
		{name: "NUL", user: "alice\x00", password: "alice-secret", wantErr: ErrInvalidCredentials},
		{name: "employee number is no login", user: "1001", password: "alice-secret", wantErr: ErrInvalidCredentials},
		{name: "service account is no user", user: "print-release", password: srv.ServicePassword, wantErr: ErrInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := d.Authenticate(ctx, tt.user, tt.password)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || errors.Is(err, ErrUnavailable) {
					t.Fatalf("Authenticate = %+v, %v; want %v", id, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if !equalIdentity(id, tt.want) {
				t.Errorf("Authenticate =\n %+v, want\n %+v", id, tt.want)
			}
		})
	}
}

func equalIdentity(a, b Identity) bool {
	return a.Name == b.Name && a.DisplayName == b.DisplayName && a.Email == b.Email &&
		a.EmployeeNumber == b.EmployeeNumber && slices.Equal(a.Roles, b.Roles) &&
		slices.Equal(a.Cards, b.Cards) && a.Source == b.Source
}

func TestLDAPLookup(t *testing.T) {
	srv := testenv.Slapd(t)
	d := newLDAP(t, ldapConfig(srv))
	ctx := t.Context()
	tests := []struct {
		name, key, want string
		wantRole        Role
		wantErr         error
	}{
		{"by name", "carol", "carol", RoleAuditor, nil},
		{"by employee number", "1002", "bob", RoleUser, nil},
		{"admin by employee number", "1001", "alice", RoleAdmin, nil},
		{"unknown", "9999", "", "", ErrNotFound},
		{"wildcard", "*", "", "", ErrNotFound},
		{"empty", "", "", "", ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := d.Lookup(ctx, tt.key)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Lookup = %v, want %v", err, tt.wantErr)
			}
			if id.Name != tt.want || (err == nil && id.Role() != tt.wantRole) {
				t.Errorf("Lookup = %+v, want %s (%s)", id, tt.want, tt.wantRole)
			}
		})
	}
}

func TestLDAPLookupCard(t *testing.T) {
	srv := testenv.Slapd(t)
	d := newLDAP(t, ldapConfig(srv))
	tests := []struct {
		name, uid, want string
	}{
		{"alice", testenv.LDAPAliceCard, "alice"},
		{"bob lower case", "04a1b2c3d4e5f6", "bob"},
		{"bob with separators", "04:A1:B2:C3:D4:E5:F6", "bob"},
		{"unknown", "04A1B2C3D4E5F7", ""},
		{"prefix is not a match", "04A1B2C3", ""},
		{"wildcard", "*", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := d.LookupCard(t.Context(), tt.uid)
			if tt.want == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("LookupCard = %+v, %v; want ErrNotFound", id, err)
				}
				return
			}
			if err != nil || id.Name != tt.want {
				t.Fatalf("LookupCard = %+v, %v; want %s", id, err, tt.want)
			}
		})
	}

	cfg := ldapConfig(srv)
	cfg.Attributes.Card = ""
	if _, err := newLDAP(t, cfg).LookupCard(t.Context(), testenv.LDAPAliceCard); !errors.Is(err, ErrNotFound) {
		t.Errorf("without a card attribute: %v, want ErrNotFound", err)
	}
}

// TestLDAPUnavailable checks that a directory that cannot answer gives
// ErrUnavailable and never a login or a "wrong password".
func TestLDAPUnavailable(t *testing.T) {
	ctx := t.Context()
	var d *LDAP
	t.Run("server up", func(t *testing.T) {
		// This slapd stops when the subtest ends.
		srv := testenv.Slapd(t)
		var err error
		if d, err = NewLDAP(ldapConfig(srv)); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Authenticate(ctx, "alice", "alice-secret"); err != nil {
			t.Fatalf("Authenticate while up: %v", err)
		}
	})
	if d == nil {
		t.SkipNow() // the subtest failed (which fails this test) or had no slapd
	}
	defer d.Close()
	for _, tt := range []struct{ user, password string }{{"alice", "alice-secret"}, {"alice", "wrong"}, {"mallory", "x"}} {
		if _, err := d.Authenticate(ctx, tt.user, tt.password); !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("Authenticate(%s) with server stopped = %v, want ErrUnavailable", tt.user, err)
		}
	}
	if _, err := d.Lookup(ctx, "alice"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Lookup with server stopped = %v, want ErrUnavailable", err)
	}
	if err := d.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ping with server stopped = %v, want ErrUnavailable", err)
	}
}

func TestLDAPWrongServicePassword(t *testing.T) {
	srv := testenv.Slapd(t)
	cfg := ldapConfig(srv)
	cfg.BindPassword = "not-the-service-secret"
	d := newLDAP(t, cfg)
	// A broken service account is an outage, not the user's wrong password.
	if _, err := d.Authenticate(t.Context(), "alice", "alice-secret"); !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("Authenticate = %v, want ErrUnavailable", err)
	}

	// The password may come from a file, with its trailing newline.
	file := filepath.Join(t.TempDir(), "bind-password")
	if err := os.WriteFile(file, []byte(srv.ServicePassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.BindPassword, cfg.BindPasswordFile = "", file
	if err := newLDAP(t, cfg).Ping(t.Context()); err != nil {
		t.Errorf("Ping with bind_password_file: %v", err)
	}
}

// TestLDAPTimeout checks that a server that accepts connections but never
// answers costs at most the timeout or the context's deadline.
func TestLDAPTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	cfg := LDAPConfig{URL: "ldap://" + ln.Addr().String(), BindDN: "cn=svc,dc=example,dc=com",
		BindPassword: "x", BaseDN: "dc=example,dc=com", Timeout: 300 * time.Millisecond}
	d := newLDAP(t, cfg)

	start := time.Now()
	_, err = d.Authenticate(t.Context(), "alice", "alice-secret")
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Authenticate = %v, want ErrUnavailable", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("config timeout: took %v", el)
	}

	cfg.Timeout = time.Minute
	d = newLDAP(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := d.Lookup(ctx, "alice"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Lookup = %v, want ErrUnavailable", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("context deadline: took %v", el)
	}

	// Nothing listens on a closed port.
	port := testenv.FreePort(t)
	cfg.URL = "ldap://127.0.0.1:" + strconv.Itoa(port)
	if _, err := newLDAP(t, cfg).Authenticate(t.Context(), "alice", "alice-secret"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("closed port: %v, want ErrUnavailable", err)
	}
}

// TestLDAPPool checks connection reuse and that more concurrent logins
// than PoolSize all get through.
func TestLDAPPool(t *testing.T) {
	srv := testenv.Slapd(t)
	cfg := ldapConfig(srv)
	cfg.PoolSize = 2
	d := newLDAP(t, cfg)
	ctx := t.Context()
	for range 3 {
		if _, err := d.Authenticate(ctx, "bob", "bob-secret"); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(d.idle); n != 1 {
		t.Errorf("%d idle connections after sequential logins, want 1", n)
	}
	// The connection last bound as bob searches as the service account
	// again: carol's groups are found.
	id, err := d.Lookup(ctx, "carol")
	if err != nil || id.Role() != RoleAuditor {
		t.Errorf("Lookup after a user bind = %+v, %v", id, err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			user, pw := "alice", "alice-secret"
			if i%2 == 1 {
				user, pw = "bob", "wrong"
			}
			_, err := d.Authenticate(ctx, user, pw)
			if i%2 == 1 && errors.Is(err, ErrInvalidCredentials) {
				err = nil
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Authenticate: %v", err)
		}
	}
	if n := len(d.idle); n > cfg.PoolSize {
		t.Errorf("%d idle connections, more than PoolSize %d", n, cfg.PoolSize)
	}

	// A connection the server closed is replaced without an error.
	for len(d.idle) > 0 {
		c := <-d.idle
		c.raw.Close()
		d.idle <- c
		break
	}
	if _, err := d.Authenticate(ctx, "alice", "alice-secret"); err != nil {
		t.Errorf("after the server closed a pooled connection: %v", err)
	}
}

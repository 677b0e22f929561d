package directory

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// TestLDAPConfigPresets decodes the documented presets in configs/ strictly
// and checks that they are valid and say what the presets default to.
func TestLDAPConfigPresets(t *testing.T) {
	tests := []struct {
		file, preset, userFilter, name string
	}{
		{"ldap-openldap.yaml", PresetOpenLDAP, "(&(objectClass=inetOrgPerson)(uid=%s))", "uid"},
		{"ldap-activedirectory.yaml", PresetActiveDirectory,
			"(&(objectClass=user)(|(sAMAccountName=%s)(userPrincipalName=%s)))", "sAMAccountName"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "..", "configs", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var cfg LDAPConfig
			dec := yaml.NewDecoder(bytes.NewReader(raw))
			dec.KnownFields(true)
			if err := dec.Decode(&cfg); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if cfg.Preset != tt.preset || cfg.UserFilter != tt.userFilter || cfg.Attributes.Name != tt.name ||
				cfg.Timeout != 5*time.Second || len(cfg.AdminGroups) != 1 {
				t.Errorf("decoded %+v", cfg)
			}
			// The file shows the preset's defaults: with the filters and
			// attributes removed, the preset fills in the same values.
			bare := LDAPConfig{Preset: cfg.Preset}
			bare, _ = bare.withDefaults()
			full, _ := cfg.withDefaults()
			if bare.UserFilter != full.UserFilter || bare.EmployeeNumberFilter != full.EmployeeNumberFilter ||
				bare.GroupFilter != full.GroupFilter || bare.Attributes != full.Attributes {
				t.Errorf("file and preset %s disagree:\n file   %+v\n preset %+v", tt.preset, full, bare)
			}
		})
	}
}

func TestLDAPConfigValidate(t *testing.T) {
	good := LDAPConfig{URL: "ldap://127.0.0.1:389", BindDN: "cn=svc,dc=example,dc=com",
		BindPassword: "x", BaseDN: "dc=example,dc=com"}
	tests := []struct {
		name    string
		set     func(*LDAPConfig)
		wantKey string // "" for valid
	}{
		{"minimal", func(*LDAPConfig) {}, ""},
		{"ldaps", func(c *LDAPConfig) { c.URL = "ldaps://ldap.example.com" }, ""},
		{"no url", func(c *LDAPConfig) { c.URL = "" }, "url"},
		{"http url", func(c *LDAPConfig) { c.URL = "http://ldap.example.com" }, "url"},
		{"starttls on ldaps", func(c *LDAPConfig) { c.URL, c.StartTLS = "ldaps://h", true }, "start_tls"},
		{"unknown preset", func(c *LDAPConfig) { c.Preset = "novell" }, "preset"},
		{"no bind dn", func(c *LDAPConfig) { c.BindDN = "" }, "bind_dn"},
		{"bad base dn", func(c *LDAPConfig) { c.BaseDN = "not a dn" }, "base_dn"},
		{"both passwords", func(c *LDAPConfig) { c.BindPasswordFile = "/x" }, "bind_password_file"},
		{"filter without %s", func(c *LDAPConfig) { c.UserFilter = "(uid=alice)" }, "user_filter"},
		{"broken filter", func(c *LDAPConfig) { c.UserFilter = "(uid=%s" }, "user_filter"},
		{"bad group", func(c *LDAPConfig) { c.AdminGroups = []string{"admins"} }, "admin_groups"},
		{"bad card attribute", func(c *LDAPConfig) { c.Attributes.Card = "carLicense)(uid=*" }, "attributes.card"},
		{"OID attribute", func(c *LDAPConfig) { c.Attributes.Card = "2.5.4.3" }, ""},
		{"negative timeout", func(c *LDAPConfig) { c.Timeout = -time.Second }, "timeout"},
		{"huge pool", func(c *LDAPConfig) { c.PoolSize = 1000 }, "pool_size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.set(&cfg)
			err := cfg.Validate()
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantKey+":") {
				t.Fatalf("Validate = %v, want an error naming %s", err, tt.wantKey)
			}
		})
	}

	// NewLDAP also reads the files.
	cfg := good
	cfg.BindPassword, cfg.BindPasswordFile = "", filepath.Join(t.TempDir(), "missing")
	if _, err := NewLDAP(cfg); err == nil || !strings.Contains(err.Error(), "bind_password_file") {
		t.Errorf("missing password file: %v", err)
	}
	cfg = good
	cfg.CAFile = filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(cfg.CAFile, []byte("not PEM"), 0o600)
	if _, err := NewLDAP(cfg); err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Errorf("bad CA file: %v", err)
	}

	if r := good.Redacted(); r.BindPassword == good.BindPassword {
		t.Error("Redacted kept the bind password")
	}
}

package directory

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// LDAPConfig configures an LDAP directory. It is meant to be embedded in
// printgate's YAML configuration; configs/ldap-openldap.yaml and
// configs/ldap-activedirectory.yaml document every key. Empty keys take
// the defaults of the chosen Preset.
type LDAPConfig struct {
	// Preset fills the filters and attribute names left empty: "openldap"
	// (the default) or "activedirectory".
	Preset string `yaml:"preset"`
	// URL is ldap://host[:port] or ldaps://host[:port].
	URL string `yaml:"url"`
	// StartTLS upgrades an ldap:// connection to TLS before any bind.
	StartTLS bool `yaml:"start_tls"`
	// CAFile is a PEM bundle of the CAs that may sign the server's
	// certificate; empty means the system roots.
	CAFile string `yaml:"ca_file"`
	// ServerName is the name checked in the server's certificate; empty
	// means the host of URL.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify accepts any server certificate. For tests only:
	// it lets anyone on the path read every password.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`

	// BindDN and BindPassword (or BindPasswordFile, whose content without
	// the trailing newline is the password) are the service account that
	// searches for users and groups.
	BindDN           string `yaml:"bind_dn"`
	BindPassword     string `yaml:"bind_password"`
	BindPasswordFile string `yaml:"bind_password_file"`

	// BaseDN is where users are searched, the whole subtree.
	BaseDN string `yaml:"base_dn"`
	// UserFilter finds a user by login name; each %s becomes the name,
	// escaped for a filter.
	UserFilter string `yaml:"user_filter"`
	// EmployeeNumberFilter finds a user by employee number, as UserFilter.
	EmployeeNumberFilter string `yaml:"employee_number_filter"`
	// GroupFilter tells whether a group holds the user: it is matched
	// against each group of AdminGroups and AuditorGroups, and each %s
	// becomes the user's DN, escaped. Unused when Attributes.MemberOf is
	// set.
	GroupFilter string `yaml:"group_filter"`

	// Attributes name the user attributes printgate reads.
	Attributes LDAPAttributes `yaml:"attributes"`

	// DisabledAttribute names the attribute that marks an account as
	// disabled, which printgate then refuses at sign-in and at release:
	// with DisabledValue empty, any value of it disables the account
	// (pwdAccountLockedTime of OpenLDAP's ppolicy overlay); otherwise a
	// value equal to DisabledValue, case ignored, does (nsAccountLock:
	// TRUE of 389 Directory Server and FreeIPA). userAccountControl (the
	// activedirectory preset's default) is read as Active Directory's
	// flags: bit 0x2, ACCOUNTDISABLE, disables. Empty with the openldap
	// preset: no account is disabled by the directory.
	DisabledAttribute string `yaml:"disabled_attribute"`
	DisabledValue     string `yaml:"disabled_value"`

	// AdminGroups and AuditorGroups are group DNs whose members get the
	// admin and auditor roles.
	AdminGroups   []string `yaml:"admin_groups"`
	AuditorGroups []string `yaml:"auditor_groups"`

	// Timeout bounds connecting and each operation (default 5s); a
	// shorter context deadline wins.
	Timeout time.Duration `yaml:"timeout"`
	// PoolSize is the most connections kept open and used at once
	// (default 4).
	PoolSize int `yaml:"pool_size"`
}

// LDAPAttributes name the LDAP attributes mapped onto an Identity.
type LDAPAttributes struct {
	// Name is the login name (uid, sAMAccountName).
	Name        string `yaml:"name"`
	DisplayName string `yaml:"display_name"`
	Email       string `yaml:"email"`
	// EmployeeNumber is the staff ID used for ID + PIN release.
	EmployeeNumber string `yaml:"employee_number"`
	// Card, if set, holds IC card UIDs as hex.
	Card string `yaml:"card"`
	// Logins, if set, holds further login names of a user, under which
	// their print jobs may arrive (a Windows or Mac short name that is
	// not the directory name); jobs sent under one are the user's.
	Logins string `yaml:"logins,omitempty"`
	// MemberOf, if set (memberOf on Active Directory or with OpenLDAP's
	// memberof overlay), lists the user's groups, which then need no
	// group searches. Nested groups are not followed.
	MemberOf string `yaml:"member_of"`
	// AccountID holds the entry's stable identifier, which cards and
	// PINs are bound to when enrolled (Identity.AccountID): entryUUID
	// (the openldap preset's default; 389 DS: nsUniqueId) or objectGUID
	// (activedirectory's, read as hex). The service account must be
	// able to read it; an entry without it has credentials bound to
	// nothing, which work as before.
	AccountID string `yaml:"account_id,omitempty"`
	// Created holds when the entry was made (Identity.Created), as LDAP
	// generalized time: the operational createTimestamp (the openldap
	// preset's default) or whenCreated (activedirectory's).
	Created string `yaml:"created,omitempty"`
}

// Presets of LDAPConfig.
const (
	PresetOpenLDAP        = "openldap"
	PresetActiveDirectory = "activedirectory"
)

const (
	defaultLDAPTimeout  = 5 * time.Second
	defaultLDAPPoolSize = 4
)

// attributeName matches an LDAP attribute description's name (RFC 4512
// descr or numericoid); it goes into filters unescaped.
var attributeName = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+)$`)

// Redacted returns c with the bind password hidden, for printing.
func (c LDAPConfig) Redacted() LDAPConfig {
	if c.BindPassword != "" {
		c.BindPassword = "REDACTED"
	}
	return c
}

// withDefaults fills the empty keys from the preset.
func (c LDAPConfig) withDefaults() (LDAPConfig, error) {
	set := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	switch c.Preset {
	case "", PresetOpenLDAP:
		set(&c.UserFilter, "(&(objectClass=inetOrgPerson)(uid=%s))")
		set(&c.EmployeeNumberFilter, "(&(objectClass=inetOrgPerson)(employeeNumber=%s))")
		set(&c.GroupFilter, "(|(member=%s)(uniqueMember=%s))")
		set(&c.Attributes.Name, "uid")
		set(&c.Attributes.DisplayName, "cn")
		set(&c.Attributes.Email, "mail")
		set(&c.Attributes.EmployeeNumber, "employeeNumber")
		set(&c.Attributes.AccountID, "entryUUID")
		set(&c.Attributes.Created, "createTimestamp")
	case PresetActiveDirectory:
		set(&c.UserFilter, "(&(objectClass=user)(|(sAMAccountName=%s)(userPrincipalName=%s)))")
		set(&c.EmployeeNumberFilter, "(&(objectClass=user)(employeeID=%s))")
		// LDAP_MATCHING_RULE_IN_CHAIN follows nested groups.
		set(&c.GroupFilter, "(member:1.2.840.113556.1.4.1941:=%s)")
		set(&c.Attributes.Name, "sAMAccountName")
		set(&c.Attributes.DisplayName, "displayName")
		set(&c.Attributes.Email, "mail")
		set(&c.Attributes.EmployeeNumber, "employeeID")
		set(&c.Attributes.AccountID, adObjectGUID)
		set(&c.Attributes.Created, "whenCreated")
		set(&c.DisabledAttribute, adAccountControl)
	default:
		return c, fmt.Errorf("preset: %q is not openldap or activedirectory", c.Preset)
	}
	if c.Timeout == 0 {
		c.Timeout = defaultLDAPTimeout
	}
	if c.PoolSize == 0 {
		c.PoolSize = defaultLDAPPoolSize
	}
	return c, nil
}

// Validate checks c as NewLDAP would, without reading files or
// connecting; errors name the offending key.
func (c LDAPConfig) Validate() error {
	c, err := c.withDefaults()
	if err != nil {
		return fmt.Errorf("directory: ldap: %w", err)
	}
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("directory: ldap: %s: %s", key, fmt.Sprintf(format, a...)))
	}
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		bad("url", "required")
	case err != nil:
		bad("url", "%v", err)
	case u.Scheme != "ldap" && u.Scheme != "ldaps":
		bad("url", "must start with ldap:// or ldaps://")
	case u.Host == "":
		bad("url", "no host")
	case u.Scheme == "ldaps" && c.StartTLS:
		bad("start_tls", "not with ldaps://, which is TLS already")
	}
	if c.BindPassword != "" && c.BindPasswordFile != "" {
		bad("bind_password_file", "set bind_password or bind_password_file, not both")
	}
	if c.BindDN == "" {
		bad("bind_dn", "required (the service account that searches users)")
	} else if _, err := ldap.ParseDN(c.BindDN); err != nil {
		bad("bind_dn", "%v", err)
	}
	if c.BaseDN == "" {
		bad("base_dn", "required")
	} else if _, err := ldap.ParseDN(c.BaseDN); err != nil {
		bad("base_dn", "%v", err)
	}
	checkFilter := func(key, f string) {
		if !strings.Contains(f, "%s") {
			bad(key, "must contain %%s where the value goes")
			return
		}
		if _, err := ldap.CompileFilter(strings.ReplaceAll(f, "%s", "x")); err != nil {
			bad(key, "%v", err)
		}
	}
	checkFilter("user_filter", c.UserFilter)
	checkFilter("employee_number_filter", c.EmployeeNumberFilter)
	checkFilter("group_filter", c.GroupFilter)
	for key, groups := range map[string][]string{"admin_groups": c.AdminGroups, "auditor_groups": c.AuditorGroups} {
		for _, g := range groups {
			if _, err := ldap.ParseDN(g); err != nil || g == "" {
				bad(key, "%q is not a DN", g)
			}
		}
	}
	a := c.Attributes
	for key, name := range map[string]string{"name": a.Name, "display_name": a.DisplayName, "email": a.Email,
		"employee_number": a.EmployeeNumber, "card": a.Card, "member_of": a.MemberOf, "logins": a.Logins,
		"account_id": a.AccountID, "created": a.Created, "disabled_attribute": c.DisabledAttribute} {
		if name != "" && !attributeName.MatchString(name) {
			if key != "disabled_attribute" {
				key = "attributes." + key
			}
			bad(key, "%q is not an attribute name", name)
		}
	}
	if c.DisabledValue != "" && c.DisabledAttribute == "" {
		bad("disabled_value", "needs disabled_attribute")
	}
	if len(c.DisabledValue) > 256 {
		bad("disabled_value", "at most 256 bytes")
	}
	if c.Timeout < 0 {
		bad("timeout", "must be positive")
	}
	if c.PoolSize < 0 || c.PoolSize > 64 {
		bad("pool_size", "must be 1 to 64")
	}
	return errors.Join(errs...)
}

// bindPassword returns the service password, read from its file if so
// configured.
func (c LDAPConfig) bindPassword() (string, error) {
	if c.BindPasswordFile == "" {
		return c.BindPassword, nil
	}
	b, err := os.ReadFile(c.BindPasswordFile)
	if err != nil {
		return "", fmt.Errorf("directory: ldap: bind_password_file: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// tlsConfig returns the TLS settings for ldaps:// and StartTLS.
func (c LDAPConfig) tlsConfig() (*tls.Config, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, fmt.Errorf("directory: ldap: url: %w", err)
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         c.ServerName,
		InsecureSkipVerify: c.InsecureSkipVerify,
	}
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("directory: ldap: ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("directory: ldap: ca_file %s: no PEM certificate in it", c.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

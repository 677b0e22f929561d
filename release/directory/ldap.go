package directory

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"
)

// LDAP is a Directory backed by an LDAP server. It keeps a few
// connections open and is safe for concurrent use.
type LDAP struct {
	cfg      LDAPConfig
	password string
	tls      *tls.Config
	scheme   string
	addr     string
	attrs    []string

	// slots holds a token per connection in use, so at most PoolSize
	// connections are open; idle holds the open ones not in use.
	slots  chan struct{}
	idle   chan *conn
	mu     sync.Mutex // guards closed and sends on idle
	closed bool
}

var (
	_ CardDirectory  = (*LDAP)(nil)
	_ LoginDirectory = (*LDAP)(nil)
)

// NewLDAP checks cfg, reads the bind password file and the CA file, and
// returns a directory that connects on first use (see Ping).
func NewLDAP(cfg LDAPConfig) (*LDAP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg, _ = cfg.withDefaults()
	pw, err := cfg.bindPassword()
	if err != nil {
		return nil, err
	}
	tc, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.URL) // checked by Validate
	addr := u.Host
	if u.Port() == "" {
		port := "389"
		if u.Scheme == "ldaps" {
			port = "636"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	l := &LDAP{
		cfg:      cfg,
		password: pw,
		tls:      tc,
		scheme:   u.Scheme,
		addr:     addr,
		slots:    make(chan struct{}, cfg.PoolSize),
		idle:     make(chan *conn, cfg.PoolSize),
	}
	seen := map[string]bool{}
	for _, a := range []string{cfg.Attributes.Name, cfg.Attributes.DisplayName, cfg.Attributes.Email,
		cfg.Attributes.EmployeeNumber, cfg.Attributes.Card, cfg.Attributes.MemberOf, cfg.Attributes.Logins,
		cfg.Attributes.AccountID, cfg.Attributes.Created, cfg.DisabledAttribute} {
		if a != "" && !seen[strings.ToLower(a)] {
			seen[strings.ToLower(a)] = true
			l.attrs = append(l.attrs, a)
		}
	}
	return l, nil
}

// Close closes the idle connections; connections in use close when their
// operation ends. Close does not wait for them.
func (l *LDAP) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.idle)
		for c := range l.idle {
			c.Close()
		}
	}
	return nil
}

// Ping connects and binds as the service account, to check the
// configuration at start-up.
func (l *LDAP) Ping(ctx context.Context) error {
	return l.do(ctx, "ping", func(*conn) error { return nil })
}

// Authenticate implements Directory: it finds the user with the service
// account, reads their groups, and then binds as the user's DN with
// password.
func (l *LDAP) Authenticate(ctx context.Context, name, password string) (Identity, error) {
	// An empty password makes a simple bind "unauthenticated", which
	// servers accept for any DN: it must never reach the server.
	if name == "" || password == "" {
		return Identity{}, ErrInvalidCredentials
	}
	var id Identity
	err := l.do(ctx, "authenticate", func(c *conn) error {
		e, err := l.findUser(ctx, c, l.cfg.UserFilter, name)
		if errors.Is(err, errAmbiguous) {
			return fmt.Errorf("%w: %w", ErrInvalidCredentials, err)
		}
		if err != nil {
			return err
		}
		if e == nil || e.DN == "" {
			return ErrInvalidCredentials
		}
		if id, err = l.identity(ctx, c, e); err != nil {
			return err
		}
		c.asService = false
		err = l.run(ctx, c, func() error { return c.Bind(e.DN, password) })
		if ldap.IsErrorAnyOf(err, ldap.LDAPResultInvalidCredentials, ldap.LDAPResultInappropriateAuthentication) {
			return ErrInvalidCredentials
		}
		if err == nil && id.Disabled {
			// Many servers accept the bind of a disabled account (slapd
			// without a password policy does): printgate refuses it
			// itself, and tells only whoever knows the password.
			return fmt.Errorf("%s: %w", id.Name, ErrDisabled)
		}
		return err
	})
	if err != nil {
		return Identity{}, err
	}
	return id, nil
}

// Lookup implements Directory: the user filter is tried first, then the
// employee number filter.
func (l *LDAP) Lookup(ctx context.Context, nameOrEmployeeNumber string) (Identity, error) {
	return l.lookupWith(ctx, "lookup", nameOrEmployeeNumber, func(c *conn) (*ldap.Entry, error) {
		return l.findUser(ctx, c, l.cfg.EmployeeNumberFilter, nameOrEmployeeNumber)
	})
}

// LookupLogin implements LoginDirectory: the user filter is tried first,
// then, when attributes.logins is set, that attribute. The user's
// canonical name is their name attribute's first value unless login is
// one of its values.
func (l *LDAP) LookupLogin(ctx context.Context, login string) (Identity, error) {
	var next func(c *conn) (*ldap.Entry, error)
	if l.cfg.Attributes.Logins != "" {
		next = func(c *conn) (*ldap.Entry, error) {
			return l.search(ctx, c, fmt.Sprintf("(%s=%s)", l.cfg.Attributes.Logins, ldap.EscapeFilter(login)))
		}
	}
	return l.lookupWith(ctx, "lookup login", login, next)
}

// lookupWith finds key's user by the user filter, then by next (when
// not nil) if that found nobody. Two entries for one key are nobody.
func (l *LDAP) lookupWith(ctx context.Context, op, key string, next func(c *conn) (*ldap.Entry, error)) (Identity, error) {
	if key == "" {
		return Identity{}, ErrNotFound
	}
	var id Identity
	err := l.do(ctx, op, func(c *conn) error {
		e, err := l.findUser(ctx, c, l.cfg.UserFilter, key)
		if err == nil && e == nil && next != nil {
			e, err = next(c)
		}
		if errors.Is(err, errAmbiguous) {
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		if err != nil {
			return err
		}
		if e == nil {
			return ErrNotFound
		}
		id, err = l.identity(ctx, c, e)
		return err
	})
	if err != nil {
		return Identity{}, err
	}
	return id, nil
}

// LookupCard implements CardDirectory. uid must be normalised hex; the
// search tries upper and lower case, and a match counts only if the
// stored value, separators removed, is the same UID. Without a card
// attribute configured nobody matches.
func (l *LDAP) LookupCard(ctx context.Context, uid string) (Identity, error) {
	attr := l.cfg.Attributes.Card
	want := canonicalHex(uid)
	if attr == "" || want == "" {
		return Identity{}, ErrNotFound
	}
	filter := fmt.Sprintf("(|(%s=%s)(%s=%s))", attr, ldap.EscapeFilter(want), attr, ldap.EscapeFilter(strings.ToLower(want)))
	var id Identity
	err := l.do(ctx, "lookup card", func(c *conn) error {
		e, err := l.search(ctx, c, filter)
		if errors.Is(err, errAmbiguous) {
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		if err != nil {
			return err
		}
		if e == nil {
			return ErrNotFound
		}
		match := false
		for _, v := range e.GetEqualFoldAttributeValues(attr) {
			match = match || canonicalHex(v) == want
		}
		if !match {
			return ErrNotFound
		}
		id, err = l.identity(ctx, c, e)
		return err
	})
	if err != nil {
		return Identity{}, err
	}
	return id, nil
}

// canonicalHex returns s upper-cased without ':', '-' and spaces, or ""
// when anything but hex digits remains.
func canonicalHex(s string) string {
	s = strings.ToUpper(strings.NewReplacer(":", "", "-", "", " ", "").Replace(s))
	for _, r := range s {
		if !strings.ContainsRune("0123456789ABCDEF", r) {
			return ""
		}
	}
	return s
}

// errAmbiguous is a login name or employee number that matches more than
// one entry; refused rather than guessed.
var errAmbiguous = errors.New("more than one directory entry matches")

// findUser returns the one entry that filter template tmpl matches with
// value, or nil when none does.
func (l *LDAP) findUser(ctx context.Context, c *conn, tmpl, value string) (*ldap.Entry, error) {
	return l.search(ctx, c, strings.ReplaceAll(tmpl, "%s", ldap.EscapeFilter(value)))
}

// search returns the one entry under the base DN that filter matches, or
// nil when none does.
func (l *LDAP) search(ctx context.Context, c *conn, filter string) (*ldap.Entry, error) {
	req := ldap.NewSearchRequest(l.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, l.timeLimit(), false, filter, l.attrs, nil)
	var res *ldap.SearchResult
	err := l.run(ctx, c, func() (err error) {
		res, err = c.Search(req)
		return err
	})
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) || errors.Is(err, ldap.ErrSizeLimitExceeded):
		return nil, errAmbiguous
	case err != nil:
		return nil, err
	case len(res.Entries) > 1:
		return nil, errAmbiguous
	case len(res.Entries) == 0:
		return nil, nil
	}
	return res.Entries[0], nil
}

// timeLimit is the server-side time limit of a search, in seconds.
func (l *LDAP) timeLimit() int {
	return max(1, int(l.cfg.Timeout/time.Second))
}

// identity maps entry e to an Identity.
func (l *LDAP) identity(ctx context.Context, c *conn, e *ldap.Entry) (Identity, error) {
	a := l.cfg.Attributes
	id := Identity{
		Name:           l.entryName(e),
		DisplayName:    e.GetEqualFoldAttributeValue(a.DisplayName),
		Email:          e.GetEqualFoldAttributeValue(a.Email),
		EmployeeNumber: e.GetEqualFoldAttributeValue(a.EmployeeNumber),
		AccountID:      accountID(a.AccountID, e.GetEqualFoldRawAttributeValue(a.AccountID)),
		Created:        generalizedTime(e.GetEqualFoldAttributeValue(a.Created)),
		Source:         "ldap",
	}
	if id.Name == "" {
		return Identity{}, fmt.Errorf("entry %s has no %s attribute", e.DN, a.Name)
	}
	if a.Card != "" {
		id.Cards = e.GetEqualFoldAttributeValues(a.Card)
	}
	id.Disabled = l.disabled(e)
	admin, err := l.memberOfAny(ctx, c, e, l.cfg.AdminGroups)
	if err != nil {
		return Identity{}, err
	}
	auditor, err := l.memberOfAny(ctx, c, e, l.cfg.AuditorGroups)
	if err != nil {
		return Identity{}, err
	}
	id.Roles = rolesFor(admin, auditor)
	return id, nil
}

// entryName is the one name printgate knows entry e by, in the
// directory's spelling, whichever the user typed: the value of the name
// attribute that names the entry in its DN (uid=bob,ou=people,...), or
// else its first. An entry whose name attribute holds several values
// (uid: bob and uid: robert) is one account: one owner of jobs, one
// history, one count of wrong passwords (throttle.Passwords), as "ALICE"
// and "alice" are.
func (l *LDAP) entryName(e *ldap.Entry) string {
	attr := l.cfg.Attributes.Name
	names := e.GetEqualFoldAttributeValues(attr)
	if len(names) == 0 {
		return ""
	}
	if dn, err := ldap.ParseDN(e.DN); err == nil && len(dn.RDNs) > 0 {
		for _, a := range dn.RDNs[0].Attributes {
			if !strings.EqualFold(a.Type, attr) {
				continue
			}
			for _, n := range names {
				if strings.EqualFold(n, a.Value) {
					return n
				}
			}
		}
	}
	return names[0]
}

// memberOfAny reports whether e belongs to one of groups, from its
// memberOf attribute if configured, else by matching GroupFilter against
// each group entry.
func (l *LDAP) memberOfAny(ctx context.Context, c *conn, e *ldap.Entry, groups []string) (bool, error) {
	if len(groups) == 0 {
		return false, nil
	}
	if a := l.cfg.Attributes.MemberOf; a != "" {
		for _, v := range e.GetEqualFoldAttributeValues(a) {
			have, err := ldap.ParseDN(v)
			if err != nil {
				continue
			}
			for _, g := range groups {
				want, err := ldap.ParseDN(g)
				if err == nil && have.EqualFold(want) {
					return true, nil
				}
			}
		}
		return false, nil
	}
	filter := strings.ReplaceAll(l.cfg.GroupFilter, "%s", ldap.EscapeFilter(e.DN))
	for _, g := range groups {
		req := ldap.NewSearchRequest(g, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
			1, l.timeLimit(), false, filter, []string{"1.1"}, nil)
		var res *ldap.SearchResult
		err := l.run(ctx, c, func() (err error) {
			res, err = c.Search(req)
			return err
		})
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			continue // a configured group that does not exist has no members
		}
		if err != nil {
			return false, fmt.Errorf("group %s: %w", g, err)
		}
		if len(res.Entries) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// adObjectGUID is Active Directory's identifier of an entry: 16 bytes,
// kept for its life, through renames and moves.
const adObjectGUID = "objectGUID"

// accountID returns the text form of value, the account ID attribute
// attr's value: as it is when it is printable text (entryUUID,
// nsUniqueId), else in hex (objectGUID, binary). The form depends on the
// value and the configured attribute alone, so that one entry always
// gives the same ID.
func accountID(attr string, value []byte) string {
	text := string(value)
	if strings.EqualFold(attr, adObjectGUID) || !utf8.Valid(value) || strings.ContainsFunc(text, unicode.IsControl) {
		return hex.EncodeToString(value)
	}
	return text
}

// adAccountControl is Active Directory's attribute of account flags, and
// adAccountDisable its ACCOUNTDISABLE flag.
const (
	adAccountControl = "userAccountControl"
	adAccountDisable = 0x2
)

// disabled reports whether entry e is marked disabled by the configured
// attribute. It is read on every lookup, so a leaver disabled in the
// directory is refused at the next sign-in or release, not after a cache
// expires.
func (l *LDAP) disabled(e *ldap.Entry) bool {
	attr, want := l.cfg.DisabledAttribute, l.cfg.DisabledValue
	if attr == "" {
		return false
	}
	values := e.GetEqualFoldAttributeValues(attr)
	for _, v := range values {
		switch {
		case want != "":
			if strings.EqualFold(strings.TrimSpace(v), want) {
				return true
			}
		case strings.EqualFold(attr, adAccountControl):
			// A flags value that does not parse is taken as disabled:
			// refusing a sign-in is the safe mistake.
			flags, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || flags&adAccountDisable != 0 {
				return true
			}
		default:
			return true
		}
	}
	return false
}

// generalizedTime reads an LDAP generalized time (RFC 4517) as servers
// write creation times: "20260401083000Z", "20260401083000.0Z", or with
// an offset. Zero for anything else: the time is then not known.
func generalizedTime(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	if i := strings.IndexAny(v, ".,"); i >= 0 {
		j := i + 1
		for j < len(v) && v[j] >= '0' && v[j] <= '9' {
			j++
		}
		v = v[:i] + v[j:]
	}
	for _, layout := range []string{"20060102150405Z0700", "20060102150405Z"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t
		}
	}
	return time.Time{}
}

package directory

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// idleLimit is how long an unused connection is kept. Servers and
// firewalls drop idle connections silently; a fresh one is cheaper than
// waiting out a timeout on a dead one.
const idleLimit = time.Minute

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

var _ CardDirectory = (*LDAP)(nil)

// conn is one pooled connection.
type conn struct {
	*ldap.Conn
	raw       net.Conn // the TCP connection, for deadlines
	asService bool     // bound as the service account
	reused    bool     // taken from the pool, so possibly stale
	lastUsed  time.Time
}

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
		cfg.Attributes.EmployeeNumber, cfg.Attributes.Card, cfg.Attributes.MemberOf} {
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
		if id, err = l.identity(ctx, c, e, name); err != nil {
			return err
		}
		c.asService = false
		err = l.run(ctx, c, func() error { return c.Bind(e.DN, password) })
		if ldap.IsErrorAnyOf(err, ldap.LDAPResultInvalidCredentials, ldap.LDAPResultInappropriateAuthentication) {
			return ErrInvalidCredentials
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
	if nameOrEmployeeNumber == "" {
		return Identity{}, ErrNotFound
	}
	var id Identity
	err := l.do(ctx, "lookup", func(c *conn) error {
		e, err := l.findUser(ctx, c, l.cfg.UserFilter, nameOrEmployeeNumber)
		if err == nil && e == nil {
			e, err = l.findUser(ctx, c, l.cfg.EmployeeNumberFilter, nameOrEmployeeNumber)
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
		id, err = l.identity(ctx, c, e, nameOrEmployeeNumber)
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
		id, err = l.identity(ctx, c, e, "")
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

// identity maps entry e to an Identity; typed is the name the user gave.
func (l *LDAP) identity(ctx context.Context, c *conn, e *ldap.Entry, typed string) (Identity, error) {
	a := l.cfg.Attributes
	id := Identity{
		Name:           typed,
		DisplayName:    e.GetEqualFoldAttributeValue(a.DisplayName),
		Email:          e.GetEqualFoldAttributeValue(a.Email),
		EmployeeNumber: e.GetEqualFoldAttributeValue(a.EmployeeNumber),
		Source:         "ldap",
	}
	// uid may have several values: keep the one the user typed, in the
	// directory's spelling, so "ALICE" owns the same jobs as "alice".
	names := e.GetEqualFoldAttributeValues(a.Name)
	if len(names) > 0 {
		id.Name = names[0]
	}
	for _, n := range names {
		if strings.EqualFold(n, typed) {
			id.Name = n
		}
	}
	if id.Name == "" {
		return Identity{}, fmt.Errorf("entry %s has no %s attribute", e.DN, a.Name)
	}
	if a.Card != "" {
		id.Cards = e.GetEqualFoldAttributeValues(a.Card)
	}
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

// do runs f on a pooled connection bound as the service account. A
// reused connection that turns out dead is replaced once, since servers
// close idle connections. Errors other than ErrInvalidCredentials and
// ErrNotFound come back wrapped in ErrUnavailable.
func (l *LDAP) do(ctx context.Context, op string, f func(*conn) error) error {
	for attempt := 0; ; attempt++ {
		c, err := l.acquire(ctx)
		if err != nil {
			return fmt.Errorf("directory: ldap %s: %w: %w", op, ErrUnavailable, err)
		}
		err = l.bindService(ctx, c)
		if err == nil {
			err = f(c)
		}
		healthy := err == nil || !connBroken(err)
		l.release(c, healthy)
		switch {
		case err == nil, errors.Is(err, ErrInvalidCredentials), errors.Is(err, ErrNotFound):
			return err
		case c.reused && !healthy && attempt == 0 && ctx.Err() == nil:
			continue
		}
		return fmt.Errorf("directory: ldap %s: %w: %w", op, ErrUnavailable, err)
	}
}

// connBroken reports whether err leaves the connection unusable, as
// opposed to an LDAP result such as "no such object".
func connBroken(err error) bool {
	if errors.Is(err, ErrInvalidCredentials) || errors.Is(err, ErrNotFound) || errors.Is(err, errAmbiguous) {
		return false
	}
	var le *ldap.Error
	if !errors.As(err, &le) {
		return true
	}
	switch le.ResultCode {
	case ldap.ErrorNetwork, ldap.LDAPResultServerDown, ldap.LDAPResultConnectError,
		ldap.LDAPResultTimeout, ldap.LDAPResultBusy, ldap.LDAPResultUnavailable,
		ldap.LDAPResultTimeLimitExceeded, ldap.ErrorUnexpectedResponse:
		return true
	}
	return false
}

// bindService binds c as the service account unless it already is.
func (l *LDAP) bindService(ctx context.Context, c *conn) error {
	if c.asService {
		return nil
	}
	if err := l.run(ctx, c, func() error { return c.Bind(l.cfg.BindDN, l.password) }); err != nil {
		return fmt.Errorf("service bind: %w", err)
	}
	c.asService = true
	return nil
}

// run runs one LDAP operation on c within the configured timeout and
// ctx's deadline; cancelling ctx breaks the connection, which ends the
// operation at once.
func (l *LDAP) run(ctx context.Context, c *conn, f func() error) error {
	deadline := time.Now().Add(l.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	left := time.Until(deadline)
	if err := ctx.Err(); err != nil {
		return err
	}
	if left <= 0 {
		return context.DeadlineExceeded
	}
	c.SetTimeout(left)
	_ = c.raw.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = c.raw.SetDeadline(time.Unix(1, 0)) })
	err := f()
	if !stop() {
		c.Close()
		return errors.Join(ctx.Err(), err)
	}
	_ = c.raw.SetDeadline(time.Time{})
	return err
}

// acquire returns an idle connection or dials a new one, waiting while
// PoolSize connections are in use.
func (l *LDAP) acquire(ctx context.Context) (*conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a connection: %w", ctx.Err())
	}
	for {
		var c *conn
		l.mu.Lock()
		if !l.closed {
			select {
			case c = <-l.idle:
			default:
			}
		}
		closed := l.closed
		l.mu.Unlock()
		if closed {
			<-l.slots
			return nil, errors.New("directory closed")
		}
		if c == nil {
			break
		}
		if c.IsClosing() || time.Since(c.lastUsed) > idleLimit {
			c.Close()
			continue
		}
		c.reused = true
		return c, nil
	}
	c, err := l.dial(ctx)
	if err != nil {
		<-l.slots
		return nil, err
	}
	return c, nil
}

// release gives c back to the pool, or closes it.
func (l *LDAP) release(c *conn, keep bool) {
	defer func() { <-l.slots }()
	c.lastUsed = time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if keep && !l.closed && !c.IsClosing() {
		select {
		case l.idle <- c:
			return
		default:
		}
	}
	c.Close()
}

// dial opens a connection, over TLS for ldaps:// or with StartTLS.
func (l *LDAP) dial(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	d := &net.Dialer{Timeout: l.cfg.Timeout}
	raw, err := d.DialContext(ctx, "tcp", l.addr)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	nc := raw
	if l.scheme == "ldaps" {
		tc := tls.Client(raw, l.tls.Clone())
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("tls: %w", err)
		}
		nc = tc
	}
	lc := ldap.NewConn(nc, l.scheme == "ldaps")
	lc.Start()
	c := &conn{Conn: lc, raw: raw, lastUsed: time.Now()}
	if l.cfg.StartTLS {
		if err := l.run(ctx, c, func() error { return lc.StartTLS(l.tls.Clone()) }); err != nil {
			c.Close()
			return nil, fmt.Errorf("starttls: %w", err)
		}
	}
	return c, nil
}

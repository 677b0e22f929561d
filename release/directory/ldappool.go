package directory

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// idleLimit is how long an unused connection is kept. Servers and
// firewalls drop idle connections silently; a fresh one is cheaper than
// waiting out a timeout on a dead one.
const idleLimit = time.Minute

// conn is one pooled connection.
type conn struct {
	*ldap.Conn
	raw       net.Conn // the TCP connection, for deadlines
	asService bool     // bound as the service account
	reused    bool     // taken from the pool, so possibly stale
	lastUsed  time.Time
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

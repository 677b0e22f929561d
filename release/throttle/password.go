package throttle

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/text/unicode/norm"
	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/release/directory"
)

// Passwords checks directory passwords under the account and address
// limits, with one policy wherever a password is typed: the console, IPP
// Basic authentication and card self-enrolment.
type Passwords struct {
	t   *Store
	dir directory.Directory
	db  *gorm.DB
}

// NewPasswords returns the guard of dir's passwords over t.
func NewPasswords(t *Store, dir directory.Directory) *Passwords {
	return &Passwords{t: t, dir: dir, db: t.db.DB}
}

// Authenticate checks name's password, typed at where ("console", "ipp",
// "self-enrolment") from addr. Both counts are taken before the password
// is checked. It returns the directory's answer, or an error wrapping
// *Error (and ErrThrottled) when the account or the address has used up
// its attempts: then the password is not checked at all, even a right
// one.
func (p *Passwords) Authenticate(ctx context.Context, name, password string, addr netip.Addr, where string) (directory.Identity, error) {
	addrA, err := p.reserve(ctx, Address, addressKey(addr), name, where)
	if err != nil {
		return directory.Identity{}, err
	}
	acctA, err := p.reserve(ctx, Account, p.canonical(ctx, name), name, where)
	if err != nil {
		// The address's attempt checked nothing.
		return directory.Identity{}, errors.Join(err, p.t.Refund(ctx, addrA))
	}
	id, err := p.dir.Authenticate(ctx, name, password)
	switch {
	case err == nil:
		return id, errors.Join(p.t.Succeeded(ctx, acctA), p.t.Succeeded(ctx, addrA))
	case errors.Is(err, directory.ErrInvalidCredentials):
		return directory.Identity{}, err
	default:
		return directory.Identity{}, errors.Join(err, p.t.Refund(ctx, acctA), p.t.Refund(ctx, addrA))
	}
}

// Reset starts name's account count afresh, for an administrator
// unlocking the account (by); it reports whether there was a count.
func (p *Passwords) Reset(ctx context.Context, name, by string) (bool, error) {
	return p.t.Clear(ctx, Account, p.canonical(ctx, name), by)
}

// canonical is the name an account's count is kept under: the directory's
// own name for it, so that every spelling the directory accepts for one
// account (full-width letters, which LDAP's matching rules fold; a
// userPrincipalName beside the sAMAccountName) shares one count. A name
// the directory does not know is folded with NFKC instead (Store.subject
// folds case).
func (p *Passwords) canonical(ctx context.Context, name string) string {
	if id, err := p.dir.Lookup(ctx, name); err == nil && id.Name != "" {
		return id.Name
	}
	return norm.NFKC.String(name)
}

// reserve counts one attempt of kind; a refusal comes back as an error,
// recorded once per episode.
func (p *Passwords) reserve(ctx context.Context, kind Kind, subject, account, where string) (Attempt, error) {
	if kind == Address && subject == "" {
		return Attempt{}, nil
	}
	a, err := p.t.Reserve(ctx, kind, subject)
	if err != nil {
		return Attempt{}, err
	}
	if a.Allowed {
		return a, nil
	}
	if a.Started {
		if err := p.record(ctx, a, subject, account, where); err != nil {
			return Attempt{}, err
		}
	}
	return Attempt{}, fmt.Errorf("throttle: password at %s: %w", where, a.Err)
}

// record appends the one event of an episode. An account is named only if
// the directory knows it: a typed name may be a password.
func (p *Passwords) record(ctx context.Context, a Attempt, subject, account, where string) error {
	ev := audit.Event{Type: EventPasswordThrottled, Actor: audit.ActorSystem, Method: where,
		Details: map[string]string{"kind": string(a.kind), "until": a.Err.Until.UTC().Format("2006-01-02T15:04:05Z")}}
	if a.kind == Address {
		ev.Details["address"] = subject
	} else {
		ev.Details["account-key"] = AccountKey(a.subject)
		if id, err := p.dir.Lookup(ctx, account); err == nil {
			ev.Owner = id.Name
		}
	}
	return p.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, err := p.t.audit.Append(ctx, tx, ev)
		return err
	})
}

// addressKey is the subject of addr's count: the address itself, or an
// IPv6 client's /64, which one host can fill with addresses at will.
func addressKey(addr netip.Addr) string {
	if !addr.IsValid() {
		return ""
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

package web

import (
	"context"
	"net/netip"

	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/throttle"
)

// Passwords checks sign-in passwords under the account and address
// limits that IPP Basic authentication and card self-enrolment share
// (throttle.Passwords). The counts live in the database, so every
// instance sees the same, and each attempt is counted before its password
// is checked, so parallel guesses never get more than the limit checked.
type Passwords interface {
	// Authenticate checks name's password, typed at where, from addr;
	// past a limit it returns an error wrapping *throttle.Error unchecked.
	Authenticate(ctx context.Context, name, password string, addr netip.Addr, where string) (directory.Identity, error)
	// Reset starts name's count afresh, for an administrator (by).
	Reset(ctx context.Context, name, by string) (bool, error)
}

var _ Passwords = (*throttle.Passwords)(nil)

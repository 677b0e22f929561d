package release

import (
	"context"
	"fmt"
)

type plainTextKey struct{}

// WithPlainText marks ctx as serving a request that came over plain HTTP
// from another machine, where anyone on the network path could read it.
// OpenSession then refuses sign-ins that carry a PIN or a password unless
// the device allows plain credentials. The HTTP edge marks the request;
// it leaves requests over TLS, from loopback, or from anywhere when the
// server allows plain credentials, unmarked.
func WithPlainText(ctx context.Context) context.Context {
	return context.WithValue(ctx, plainTextKey{}, true)
}

// PlainText reports whether ctx was marked by WithPlainText.
func PlainText(ctx context.Context) bool {
	v, _ := ctx.Value(plainTextKey{}).(bool)
	return v
}

// checkTransport refuses l, before any of its secrets is checked, when it
// carries a PIN or password in clear and dev may not send them so. A card
// alone passes: card-only sign-in is for readers the user cannot type
// into.
func checkTransport(ctx context.Context, dev Device, l Login) error {
	if (l.PIN == "" && l.Password == "") || !PlainText(ctx) || dev.AllowPlainCredentials {
		return nil
	}
	return fmt.Errorf("release: %s sent a PIN or password over plain HTTP: %w", dev.Name, ErrNeedsTLS)
}

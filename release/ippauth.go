package release

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"

	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/throttle"
)

// authenticateSender identifies the sender of r to queue before r's body
// is read. On an auth: basic queue user is the directory user whose
// password came with the request, over TLS unless the queue allows plain
// text; on other queues the client must come from a trusted network, user
// is the zero Identity and its requesting-user-name is taken as it is.
func (s *Service) authenticateSender(ctx context.Context, r *http.Request, queue string) (user directory.Identity, addr netip.Addr, err error) {
	q, err := s.queue(queue)
	if err != nil {
		return user, addr, err
	}
	addr = remoteAddr(r)
	if q.Auth == AuthBasic {
		user, err = s.authenticateBasic(ctx, r, q, addr)
		return user, addr, err
	}
	for _, n := range q.TrustedNetworks {
		if addr.IsValid() && n.Contains(addr) {
			return user, addr, nil
		}
	}
	return user, addr, fmt.Errorf("release: queue %s: %s is not a trusted network: %w", q.Name, addr, ErrUnauthorized)
}

func (s *Service) authenticateBasic(ctx context.Context, r *http.Request, q Queue, addr netip.Addr) (directory.Identity, error) {
	if r.TLS == nil && !q.AllowPlaintextBasic {
		// Never answer 401 here: the client would send its password in
		// clear.
		return directory.Identity{}, refuse(ErrNeedsTLS,
			"This queue needs a password and accepts it only over TLS: print to the ipps:// address.")
	}
	name, password, ok := r.BasicAuth()
	if !ok || name == "" || password == "" {
		return directory.Identity{}, fmt.Errorf("release: queue %s: no credentials: %w", q.Name, ErrUnauthorized)
	}
	if s.dir == nil {
		return directory.Identity{}, fmt.Errorf("release: queue %s: no directory configured: %w", q.Name, ErrUnavailable)
	}
	id, err := s.authenticate(ctx, name, password, addr, "ipp")
	switch {
	case errors.Is(err, ErrBusy):
		return directory.Identity{}, fmt.Errorf("release: queue %s: %w", q.Name, err)
	case errors.Is(err, throttle.ErrThrottled):
		// Refused unchecked, even a right password: answer as for a
		// wrong one, so that a guesser learns nothing.
		s.log.Info("release: IPP sign-in throttled", "queue", q.Name, "addr", addr.String())
		s.signInFailed("ipp")
		return directory.Identity{}, fmt.Errorf("release: queue %s: %w: %w", q.Name, ErrUnauthorized, err)
	case errors.Is(err, directory.ErrInvalidCredentials):
		s.log.Info("release: IPP sign-in failed", "queue", q.Name, "addr", addr.String())
		s.signInFailed("ipp")
		return directory.Identity{}, fmt.Errorf("release: queue %s: %w", q.Name, ErrUnauthorized)
	case err != nil:
		return directory.Identity{}, fmt.Errorf("release: queue %s: directory: %w: %w", q.Name, ErrUnavailable, err)
	}
	return id, nil
}

func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

package release

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/printgate/printgate/release/directory"
)

// SessionMaxLife bounds a device session however busy it is kept. The
// idle timeout alone lets a panel that polls the job list keep a session
// open for as long as nobody signs out: a user who walked away, or who
// has since left, would stay signed in at the printer. Ten minutes covers
// releasing a day's print at a busy MFP; after it the user signs in
// again, and the sign-in checks everything afresh.
const SessionMaxLife = 10 * time.Minute

// sessionLive says why sess, last used or opened as it records, may no
// longer be used now; nil when it may.
func (s *Service) sessionLive(sess Session) error {
	now := s.now()
	if now.Sub(sess.LastSeen) > s.sessionIdle {
		return fmt.Errorf("release: session expired: %w", ErrUnauthorized)
	}
	if now.Sub(sess.CreatedAt) > SessionMaxLife {
		return fmt.Errorf("release: session past its lifetime: %w", ErrUnauthorized)
	}
	return nil
}

// currentUser looks user up in the directory again, uncached, for a
// session opened earlier (at a device, or in the console): an account
// disabled or removed since releases nothing more. A directory that
// cannot answer refuses too (ErrUnavailable): the session is not taken
// on trust meanwhile.
func (s *Service) currentUser(ctx context.Context, user string) (directory.Identity, error) {
	// By name only: found by someone else's employee number, the user is
	// gone.
	id, err := directory.LookupName(ctx, s.dir, user)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return directory.Identity{}, fmt.Errorf("release: unknown user: %w", ErrUnauthorized)
	case errors.Is(err, directory.ErrUnavailable):
		return directory.Identity{}, fmt.Errorf("release: directory: %w: %w", ErrUnavailable, err)
	case err != nil:
		return directory.Identity{}, fmt.Errorf("release: directory: %w", err)
	case id.Disabled:
		return directory.Identity{}, fmt.Errorf("release: %s: %w", id.Name, ErrDisabled)
	}
	return id, nil
}

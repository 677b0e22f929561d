package release

import (
	"context"
	"fmt"
)

// verifyJobPIN checks pin against j's job PIN hash. A hash stored plain,
// before hashes were keyed, is replaced by its keyed form once the right
// PIN shows up, unless the row changed meanwhile.
func (d *DeviceRelease) verifyJobPIN(ctx context.Context, j *Job, pin string) (bool, error) {
	s := d.s
	if s.creds == nil {
		return false, nil
	}
	ok, rehash, err := s.creds.VerifyJobPIN(ctx, j.PasswordHash, pin)
	if err != nil {
		return false, fmt.Errorf("release: job %d: %w", j.ID, err)
	}
	if rehash != "" {
		err := s.db.WithContext(ctx).Model(&Job{}).Where("id = ? AND password_hash = ?", j.ID, j.PasswordHash).
			Update("password_hash", rehash).Error
		if err != nil {
			s.log.Warn("release: upgrade job PIN hash", "job", j.ID, "err", err)
		} else {
			j.PasswordHash = rehash
		}
	}
	return ok, nil
}

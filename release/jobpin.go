package release

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
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

// maxJobPINFailures is how many wrong job PINs a job takes before it can
// no longer be released, only canceled.
const maxJobPINFailures = 5

// checkJobPIN returns "" when j may be released with pin, or the problem.
//
// Each attempt is counted before the PIN is checked, in one atomic
// UPDATE that refuses once the job has had maxJobPINFailures, so
// parallel releases on any number of instances never get more guesses
// checked; a right PIN gives its attempt back.
func (d *DeviceRelease) checkJobPIN(ctx context.Context, j *Job, pin string, by Actor) (string, error) {
	s := d.s
	if j.PasswordHash == "" {
		return "", nil
	}
	if pin == "" {
		return "job-pin-required", nil
	}
	var counts []int
	err := s.db.WithContext(ctx).Raw(`UPDATE jobs SET pin_failures = pin_failures + 1
		WHERE id = ? AND pin_failures < ? RETURNING pin_failures`, j.ID, maxJobPINFailures).Scan(&counts).Error
	if err != nil {
		return "", dbErr("count job PIN attempt", err)
	}
	if len(counts) == 0 {
		// Locked already; that was recorded when it happened.
		return "job-pin-locked", nil
	}
	ok, err := d.verifyJobPIN(ctx, j, pin)
	if err != nil && !errors.Is(err, ErrBusy) {
		return "", err
	}
	if ok || err != nil {
		// A right PIN, and one never checked for want of room, give
		// their attempt back.
		gerr := s.db.WithContext(ctx).Exec(`UPDATE jobs SET pin_failures = pin_failures - 1 WHERE id = ? AND pin_failures > 0`,
			j.ID).Error
		if err != nil {
			return "server-busy", dbErr("count job PIN attempt", gerr)
		}
		return "", dbErr("count job PIN attempt", gerr)
	}
	problem := "job-pin-wrong"
	if counts[0] >= maxJobPINFailures {
		problem = "job-pin-locked"
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, err := s.audit.Append(ctx, tx, audit.Event{Type: audit.EventReleaseAttempt, JobID: j.ID, Owner: j.Owner,
			Actor: by.name(), Queue: j.Queue, Device: by.Device, Method: by.Method, Outcome: "refused", Reason: problem})
		return err
	})
	return problem, dbErr("record job PIN failure", err)
}

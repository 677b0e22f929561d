package release

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
)

// Leavers: when a user is disabled or removed, what they left waiting is
// destroyed and where they are signed in is ended, so that nothing of
// theirs can still be printed or taken.

// EndUserSessions ends every release session of user, at any device, and
// returns how many were live.
func (a *Admin) EndUserSessions(ctx context.Context, user string) (int64, error) {
	res := a.s.db.WithContext(ctx).Model(&Session{}).Where("user_name = ? AND ended = ?", user, false).
		Update("ended", true)
	return res.RowsAffected, dbErr("end sessions of "+user, res.Error)
}

// HeldUsers returns every user name with held jobs or live release
// sessions. Each cleanup of a leaver matches the stored name exactly:
// when the directory no longer knows a user, this is where the name typed
// finds the one stored.
func (a *Admin) HeldUsers(ctx context.Context) ([]string, error) {
	db := a.s.db.WithContext(ctx)
	var owners, users []string
	if err := db.Model(&Job{}).Distinct("owner").Where("state = ?", StateHeld).Pluck("owner", &owners).Error; err != nil {
		return nil, dbErr("find owners of held jobs", err)
	}
	if err := db.Model(&Session{}).Distinct("user_name").Where("ended = ?", false).Pluck("user_name", &users).Error; err != nil {
		return nil, dbErr("find users of sessions", err)
	}
	return append(owners, users...), nil
}

// DestroyHeldJobs cancels every job of owner that waits for release, on
// the administrator by's behalf, and destroys its document and key, as
// expiry would. Each job's cancellation is an audit event that gives
// cause ("user-disabled", "user-removed"). Jobs already printing are
// left to finish; a job still arriving becomes held after and waits, out
// of its owner's reach, for expiry. It returns how many jobs it destroyed.
func (a *Admin) DestroyHeldJobs(ctx context.Context, owner, cause, by string) (int, error) {
	s := a.s
	n := 0
	for {
		var jobs []Job
		err := s.db.WithContext(ctx).Omit("password_hash").
			Where("owner = ? AND state = ?", owner, StateHeld).
			Order("id").Limit(500).Find(&jobs).Error
		if err != nil {
			return n, dbErr("find jobs of "+owner, err)
		}
		progress := false
		for _, j := range jobs {
			ok, err := s.transition(ctx, &j, change{from: []State{StateHeld}, to: StateCanceled,
				reason: "job-canceled-by-operator", message: "The owner's account was closed; the job was deleted.",
				by: Actor{Name: by, Method: "admin"}, details: map[string]string{"cause": cause}})
			if err != nil {
				return n, err
			}
			if ok {
				n++
				progress = true
			}
		}
		if len(jobs) < 500 || !progress {
			return n, nil
		}
	}
}

// RemoveDevice deletes device name: its token is refused from now on and
// its sessions are deleted, in one transaction with its audit event. Jobs it is
// printing finish; its name stays in the audit trail.
func (a *Admin) RemoveDevice(ctx context.Context, name, by string) error {
	s := a.s
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var d Device
		if err := tx.Where("name = ?", name).Take(&d).Error; err != nil {
			return err
		}
		// Session rows are live state only (the sweeper purges them
		// too); they go with their device.
		if err := tx.Where("device_id = ?", d.ID).Delete(&Session{}).Error; err != nil {
			return err
		}
		if err := tx.Delete(&Device{}, d.ID).Error; err != nil {
			return err
		}
		return s.adminEvent(ctx, tx, audit.EventDeviceRemoved, by, name, nil)
	})
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("release: device %q: %w", name, ErrNotFound)
	}
	return dbErr("remove device "+name, err)
}

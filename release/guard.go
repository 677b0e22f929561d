package release

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/throttle"
)

// reserveDevice counts one sign-in at dev before anything it carries is
// checked. Past the device's limit it returns ErrThrottled, and the first
// refusal of an episode records the one device-throttled event.
func (d *DeviceRelease) reserveDevice(ctx context.Context, dev Device) (throttle.Attempt, error) {
	s := d.s
	if s.throttle == nil {
		return throttle.Attempt{}, nil
	}
	a, err := s.throttle.Reserve(ctx, throttle.Device, dev.Name)
	if err != nil {
		return a, dbErr("count sign-in", err)
	}
	if a.Allowed {
		return a, nil
	}
	if a.Started {
		rule, _ := s.throttle.Rule(throttle.Device)
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			_, err := s.audit.Append(ctx, tx, audit.Event{Type: throttle.EventDeviceThrottled, Actor: audit.ActorSystem,
				Device: dev.Name, Details: map[string]string{
					"max-failures": strconv.Itoa(rule.Max), "until": a.Err.Until.UTC().Format(time.RFC3339)}})
			return err
		})
		if err != nil {
			return a, dbErr("record device throttled", err)
		}
		s.log.Warn("release: device throttled", "device", dev.Name, "until", a.Err.Until)
	}
	return a, fmt.Errorf("release: device %s: %w: %w", dev.Name, ErrThrottled, a.Err)
}

// authenticate checks a directory password under the account and address
// limits when they are configured.
func (s *Service) authenticate(ctx context.Context, name, password string, addr netip.Addr, where string) (directory.Identity, error) {
	if s.passwords != nil {
		return s.passwords.Authenticate(ctx, name, password, addr, where)
	}
	return s.dir.Authenticate(ctx, name, password)
}

// pruneThrottles ends the windows that are over.
func (s *Service) pruneThrottles(ctx context.Context) error {
	if s.throttle == nil {
		return nil
	}
	return s.throttle.Prune(ctx)
}

// DeviceThrottles returns the devices whose sign-ins are refused now, by
// name.
func (a *Admin) DeviceThrottles(ctx context.Context) (map[string]throttle.Status, error) {
	s := a.s
	out := map[string]throttle.Status{}
	if s.throttle == nil {
		return out, nil
	}
	st, err := s.throttle.Throttled(ctx, throttle.Device)
	if err != nil {
		return nil, dbErr("list throttled devices", err)
	}
	for _, d := range st {
		out[d.Name] = d
	}
	return out, nil
}

// ClearDeviceThrottle lets device name sign users in again at once, for
// an administrator (by); the clearance is recorded. It reports whether the
// device had failures counted; ErrNotFound when there is no such device.
func (a *Admin) ClearDeviceThrottle(ctx context.Context, name, by string) (bool, error) {
	s := a.s
	var n int64
	if err := s.db.WithContext(ctx).Model(&Device{}).Where("name = ?", name).Count(&n).Error; err != nil {
		return false, dbErr("find device", err)
	}
	if n == 0 {
		return false, fmt.Errorf("release: device %q: %w", name, ErrNotFound)
	}
	if s.throttle == nil {
		return false, nil
	}
	if by == "" {
		by = audit.ActorSystem
	}
	ok, err := s.throttle.Clear(ctx, throttle.Device, name, by)
	return ok, dbErr("clear device throttle", err)
}

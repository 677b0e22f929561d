package release

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/qrlink"
)

// DefaultQRLifetime is how long a QR link shown on a kiosk stays valid
// when Options.QRLifetime is zero. The kiosk shows a new one well before.
const DefaultQRLifetime = 5 * time.Minute

// DefaultQRLabelLifetime is how long a printed QR label stays valid
// unless configured otherwise: print a new one before then. Rotating the
// device's token revokes it sooner.
const DefaultQRLabelLifetime = 90 * 24 * time.Hour

// ErrLinkExpired is a device's QR link that was genuine but is past its
// time: scan the code again. It wraps ErrUnauthorized.
var ErrLinkExpired = fmt.Errorf("release: QR link expired: %w", ErrUnauthorized)

// ErrNoQR: the server was given no QR key, so it makes no QR links.
var ErrNoQR = errors.New("release: QR links are not set up")

// ErrQRNotAllowed is a QR release at a device whose methods do not
// include MethodQR. It wraps ErrForbidden.
var ErrQRNotAllowed = fmt.Errorf("release: QR release not allowed at the device: %w", ErrForbidden)

// allowsQR returns an error wrapping ErrQRNotAllowed unless dev allows
// QR release. A phone's sign-in is the console's, one factor (a
// password, an OIDC session): at a device whose administrator asked for
// two (card+pin), a QR link would be the way around them.
func allowsQR(dev Device) error {
	if dev.Allows(MethodQR) {
		return nil
	}
	return fmt.Errorf("release: device %s allows sign-in by %s only, not %s: %w", dev.Name, dev.Methods, MethodQR, ErrQRNotAllowed)
}

// allowsWeb returns an error wrapping ErrForbidden unless dev takes a
// release from My page: one factor (the console's sign-in) from anywhere,
// so only at a device that lets one factor sign in at the device itself
// (a card, or ID and PIN where no card is required). A device whose every
// method is two factors takes none, whatever its queues allow.
func allowsWeb(dev Device) error {
	for _, m := range dev.MethodList() {
		if m == MethodCard || m == MethodIDPIN && !dev.CardRequired {
			return nil
		}
	}
	return fmt.Errorf("release: device %s takes two factors (%s), not a release from My page: %w", dev.Name, dev.Methods, ErrForbidden)
}

// RemoteRelease releases a user's held jobs to a device's printer when
// the user proved who they are somewhere else than at the device: on
// their phone, signed in to the console after opening the device's QR
// link (MethodQR), or on My page (MethodWeb). The device never sees a
// secret; the release is recorded with the method and the device, as at
// the device itself.
type RemoteRelease struct{ s *Service }

// RemoteRelease returns the Service's verbs for release from elsewhere.
func (s *Service) RemoteRelease() *RemoteRelease { return &RemoteRelease{s} }

// QRLink is a signed link to release at one device.
type QRLink struct {
	Device string
	// Path is the link's path on the console: /qr/DEVICE/TOKEN.
	Path    string
	Expires time.Time
}

// QRPath is where the console serves the link of device with token.
func QRPath(device, token string) string { return "/qr/" + device + "/" + token }

// binding is what dev's links are bound to: its name, its row, and its
// token's hash, so that rotating the token (or removing the device)
// revokes every link printed for it.
func binding(dev Device) qrlink.Binding {
	return qrlink.Binding{Device: dev.Name, ID: dev.ID, Generation: dev.TokenHash}
}

// link signs a link to dev valid for ttl (the kiosk's lifetime when 0).
// It records nothing: a kiosk makes a code of a few minutes every few
// minutes, and each is bound to the device's token; a label, which
// outlives them by months, is recorded by QRLink.
func (r *RemoteRelease) link(dev Device, ttl time.Duration) (QRLink, error) {
	s := r.s
	if s.qr == nil {
		return QRLink{}, ErrNoQR
	}
	if ttl <= 0 {
		ttl = s.qrLifetime
	}
	exp := s.now().Add(ttl).Truncate(time.Second)
	return QRLink{Device: dev.Name, Path: QRPath(dev.Name, s.qr.Sign(binding(dev), exp)), Expires: exp}, nil
}

// QRLink signs a link to release at the enabled device name, valid for
// ttl: a label to print and stick on the device, issued by the
// administrator by. The issue is recorded (audit.EventQRLabelIssued) before
// the link is returned: a label stays valid for months or years, so who
// made one, for which device and until when, is the auditor's to know.
// No link is returned unless recorded. A device that does not allow QR
// release gets no label (ErrQRNotAllowed).
func (r *RemoteRelease) QRLink(ctx context.Context, name string, ttl time.Duration, by string) (QRLink, error) {
	s := r.s
	dev, err := r.device(ctx, name)
	if err != nil {
		return QRLink{}, err
	}
	if err := allowsQR(dev); err != nil {
		return QRLink{}, err
	}
	l, err := r.link(dev, ttl)
	if err != nil {
		return QRLink{}, err
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return s.adminEvent(ctx, tx, audit.EventQRLabelIssued, by, dev.Name,
			map[string]string{"expires": l.Expires.UTC().Format(time.RFC3339)})
	})
	if err != nil {
		return QRLink{}, dbErr("record QR label of "+dev.Name, err)
	}
	return l, nil
}

// KioskQR signs a link to release at the device whose bearer token is
// deviceToken, valid for the kiosk's lifetime (Options.QRLifetime). A
// device that does not allow QR release gets the device and an error
// wrapping both ErrQRNotAllowed and ErrNoQR: to its kiosk it is a device
// with no code to show, not a failure.
func (d *DeviceRelease) KioskQR(ctx context.Context, deviceToken string) (Device, QRLink, error) {
	dev, err := d.deviceByToken(ctx, deviceToken)
	if err != nil {
		return Device{}, QRLink{}, err
	}
	if err := allowsQR(dev); err != nil {
		return dev, QRLink{}, noCode{err}
	}
	l, err := d.s.RemoteRelease().link(dev, 0)
	return dev, l, err
}

// noCode is err (a device that does not allow QR release) that is also
// ErrNoQR to errors.Is, and reads as err alone.
type noCode struct{ err error }

func (e noCode) Error() string   { return e.err.Error() }
func (e noCode) Unwrap() []error { return []error{e.err, ErrNoQR} }

// device loads the enabled device name; a missing one is ErrNotFound, a
// disabled one ErrForbidden.
func (r *RemoteRelease) device(ctx context.Context, name string) (Device, error) {
	var dev Device
	err := r.s.db.WithContext(ctx).Where("name = ?", name).Take(&dev).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Device{}, fmt.Errorf("release: device %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return Device{}, dbErr("find device", err)
	}
	if !dev.Enabled {
		return Device{}, fmt.Errorf("release: device %s is disabled: %w", dev.Name, ErrForbidden)
	}
	return dev, nil
}

// LinkDevice checks the QR link token of device name and returns the
// device. A token made for another device, or altered, or for a device
// since removed, re-added or given a new token, is ErrUnauthorized; a
// genuine one past its time is ErrLinkExpired; a genuine one of a device
// that does not allow QR release (any more) is ErrQRNotAllowed.
func (r *RemoteRelease) LinkDevice(ctx context.Context, name, token string) (Device, error) {
	s := r.s
	if s.qr == nil {
		return Device{}, ErrNoQR
	}
	dev, err := r.device(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return Device{}, fmt.Errorf("release: QR link: %w", ErrUnauthorized)
	}
	if err != nil {
		return Device{}, err
	}
	_, err = s.qr.Check(binding(dev), token, s.now())
	switch {
	case errors.Is(err, qrlink.ErrExpired):
		return Device{}, ErrLinkExpired
	case err != nil:
		return Device{}, fmt.Errorf("release: QR link of %s: %w", dev.Name, ErrUnauthorized)
	}
	// Checked after the token, so that only a genuine link learns that
	// the device takes no phones.
	if err := allowsQR(dev); err != nil {
		return Device{}, err
	}
	return dev, nil
}

// WebDevices lists the enabled devices that serve at least one queue
// whose jobs may be released from My page, by name.
func (r *RemoteRelease) WebDevices(ctx context.Context) ([]Device, error) {
	var all []Device
	if err := r.s.db.WithContext(ctx).Where("enabled = ?", true).Order("name").Find(&all).Error; err != nil {
		return nil, dbErr("list devices", err)
	}
	d := r.s.DeviceRelease()
	var out []Device
	for _, dev := range all {
		if allowsWeb(dev) == nil && len(d.sessionQueues(Session{Method: MethodWeb}, dev)) > 0 {
			out = append(out, dev)
		}
	}
	return out, nil
}

// WebQueues names the queues whose jobs may be released from My page.
func (r *RemoteRelease) WebQueues() []string {
	var out []string
	for name, q := range r.s.queues {
		if q.ReleaseFromWeb {
			out = append(out, name)
		}
	}
	return out
}

// session is the release's stand-in for a device session: user, signed
// in by method elsewhere, at dev. It is never stored.
func (r *RemoteRelease) session(ctx context.Context, user, method string, dev Device) (Session, error) {
	if method != MethodQR && method != MethodWeb {
		return Session{}, fmt.Errorf("release: remote release by %q: %w", method, ErrBadLogin)
	}
	// dev is the caller's: whatever way it was loaded, a device that
	// does not allow the method releases nothing by it.
	check := allowsQR
	if method == MethodWeb {
		check = allowsWeb
	}
	if err := check(dev); err != nil {
		return Session{}, err
	}
	// The console session may be older than a change in the directory:
	// a disabled or removed account releases nothing.
	id, err := r.s.currentUser(ctx, user)
	if err != nil {
		return Session{}, err
	}
	return Session{UserName: id.Name, DisplayName: id.DisplayName, DeviceID: dev.ID, Method: method,
		OwnedSince: directory.OwnedSince(id.Created)}, nil
}

// Jobs lists user's held jobs that method may release at dev.
func (r *RemoteRelease) Jobs(ctx context.Context, user, method string, dev Device) ([]Job, error) {
	sess, err := r.session(ctx, user, method, dev)
	if err != nil {
		return nil, err
	}
	return r.s.DeviceRelease().Jobs(ctx, sess, dev)
}

// Release releases user's jobs named in req to dev's printer, as a
// device release does (DeviceRelease.Release), recorded with method.
func (r *RemoteRelease) Release(ctx context.Context, user, method string, dev Device, req ReleaseRequest) ([]Released, error) {
	sess, err := r.session(ctx, user, method, dev)
	if err != nil {
		return nil, err
	}
	return r.s.DeviceRelease().Release(ctx, sess, dev, req)
}

// WebDevice loads the enabled device name for a release from My page.
func (r *RemoteRelease) WebDevice(ctx context.Context, name string) (Device, error) {
	return r.device(ctx, name)
}

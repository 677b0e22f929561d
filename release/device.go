package release

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/release/credential/cardreader"
)

// Login methods a device may allow.
const (
	MethodCard    = audit.MethodCard
	MethodCardPIN = audit.MethodCardPIN
	MethodIDPIN   = audit.MethodIDPIN
	// MethodQR and MethodWeb are not sign-ins at a device but releases
	// to one (RemoteRelease); queues may name them in ReleaseRequires.
	// A device allows MethodQR like a sign-in method: its QR code, labels
	// and links work only where its Methods name it.
	MethodQR  = audit.MethodQR
	MethodWeb = audit.MethodWeb
)

// Device is an MFP or release station: where a user proves who they are
// and where their released jobs print.
type Device struct {
	ID   int64 `gorm:"primaryKey"`
	Name string
	// Printer is ipp://, ipps:// or socket://HOST:9100.
	Printer string
	// Queues the device may release jobs of, comma-separated.
	Queues string
	// Methods are the allowed login methods, comma-separated: card,
	// card+pin, id+pin, and qr for release from a phone that opened the
	// device's QR link.
	Methods string
	// SelfEnroll lets an unknown card be enrolled with a directory password.
	SelfEnroll bool
	// AllowPlainCredentials lets the device send PINs and passwords over
	// plain HTTP from another machine, for panel apps that cannot do
	// TLS; see WithPlainText.
	AllowPlainCredentials bool
	// ReaderFormat says how the device's card reader writes UIDs, in the
	// syntax of cardreader.Parse; "" is hex.
	ReaderFormat string
	// CardRequired says the device lets nobody sign in without a card
	// (its own card authentication, or a card-operated door in front of
	// it), as its administrator configured it: an ID+PIN sign-in there is
	// then two factors, enough for a job holding an individual number.
	CardRequired bool
	// TokenHash is the SHA-256 of the device's bearer token; the token
	// itself is shown once and never stored.
	TokenHash string
	Enabled   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName keeps the table name stable.
func (Device) TableName() string { return "devices" }

// QueueList returns the queues the device serves.
func (d Device) QueueList() []string { return splitList(d.Queues) }

// MethodList returns the login methods the device allows.
func (d Device) MethodList() []string { return splitList(d.Methods) }

// Allows reports whether the device accepts login method m.
func (d Device) Allows(m string) bool { return slices.Contains(d.MethodList(), m) }

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// DeviceSpec describes a device to add.
type DeviceSpec struct {
	Name       string
	Printer    string
	Queues     []string
	Methods    []string
	SelfEnroll bool
	// AllowPlainCredentials: see Device.
	AllowPlainCredentials bool
	// ReaderFormat: see Device; "" is hex.
	ReaderFormat string
	// CardRequired: see Device.
	CardRequired bool
}

// newToken returns a random bearer token with a prefix that says what it
// is, and the hash under which it is stored.
func newToken(prefix string) (token, hash string) {
	token = prefix + rand.Text()
	return token, tokenHash(token)
}

// tokenHash is how tokens are stored and looked up. Tokens carry 130 bits
// of randomness, so a plain SHA-256 cannot be reversed by guessing.
func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// AddDevice registers a device and returns its bearer token, the only
// time the token is ever shown.
func (a *Admin) AddDevice(ctx context.Context, spec DeviceSpec, by string) (Device, string, error) {
	s := a.s
	if err := s.checkDeviceSpec(spec); err != nil {
		return Device{}, "", err
	}
	format, err := readerFormat(spec.Name, spec.ReaderFormat)
	if err != nil {
		return Device{}, "", err
	}
	token, hash := newToken("pgd_")
	d := Device{
		Name: spec.Name, Printer: spec.Printer, Queues: strings.Join(spec.Queues, ","),
		Methods: strings.Join(spec.Methods, ","), SelfEnroll: spec.SelfEnroll, TokenHash: hash,
		AllowPlainCredentials: spec.AllowPlainCredentials, ReaderFormat: format.String(),
		CardRequired: spec.CardRequired, Enabled: true, CreatedAt: s.now(), UpdatedAt: s.now(),
	}
	details := map[string]string{"printer": d.Printer, "queues": d.Queues, "methods": d.Methods, "reader-format": d.ReaderFormat}
	if d.AllowPlainCredentials {
		details["allow-plain-credentials"] = "true"
	}
	if d.CardRequired {
		details["card-required"] = "true"
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&d).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return fmt.Errorf("release: device %q already exists", spec.Name)
			}
			return err
		}
		return s.adminEvent(ctx, tx, audit.EventDeviceAdded, by, d.Name, details)
	})
	if err != nil {
		return Device{}, "", dbErr("add device", err)
	}
	return d, token, nil
}

// CheckPrinterURI reports whether uri names a printer jobs can be sent
// to: ipp://, ipps:// or socket://, with a host and without credentials,
// which would otherwise be written into the audit trail with every
// release.
func CheckPrinterURI(uri string) error {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "ipp" && u.Scheme != "ipps" && u.Scheme != "socket") || u.Host == "" {
		return errors.New("printer must be an ipp://, ipps:// or socket://HOST:PORT URI")
	}
	if u.User != nil {
		return errors.New("printer URI must not hold a user name or password")
	}
	return nil
}

func (s *Service) checkDeviceSpec(spec DeviceSpec) error {
	if !deviceName(spec.Name) {
		return fmt.Errorf("release: device name %q: use 1-63 letters, digits, '.', '_' or '-'", spec.Name)
	}
	if err := CheckPrinterURI(spec.Printer); err != nil {
		return fmt.Errorf("release: device %s: %w", spec.Name, err)
	}
	if len(spec.Queues) == 0 {
		return fmt.Errorf("release: device %s: name at least one queue it may release", spec.Name)
	}
	for _, q := range spec.Queues {
		if _, ok := s.queues[q]; !ok {
			return fmt.Errorf("release: device %s: no queue %q", spec.Name, q)
		}
	}
	return checkMethods(spec.Name, spec.Methods)
}

// checkMethods checks the login methods of device name. A device that
// allows only qr is one whose panel just shows its QR code.
func checkMethods(name string, methods []string) error {
	if len(methods) == 0 {
		return fmt.Errorf("release: device %s: allow at least one login method", name)
	}
	for _, m := range methods {
		if m != MethodCard && m != MethodCardPIN && m != MethodIDPIN && m != MethodQR {
			return fmt.Errorf("release: device %s: login method %q must be card, card+pin, id+pin or qr", name, m)
		}
	}
	return nil
}

func deviceName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Devices lists the registered devices.
func (a *Admin) Devices(ctx context.Context) ([]Device, error) {
	s := a.s
	var out []Device
	err := s.db.WithContext(ctx).Order("name").Find(&out).Error
	return out, dbErr("list devices", err)
}

// SetDeviceEnabled enables or disables a device; a disabled device's
// token is refused.
func (a *Admin) SetDeviceEnabled(ctx context.Context, name string, enabled bool, by string) error {
	s := a.s
	return s.updateDevice(ctx, name, "Enabled", Device{Enabled: enabled}, audit.EventConfigChanged, by,
		map[string]string{"device-enabled": fmt.Sprint(enabled)})
}

// SetReaderFormat sets how the device's card reader writes UIDs (see
// cardreader.Parse); a format it refuses is an error that says why.
func (a *Admin) SetReaderFormat(ctx context.Context, name, spec, by string) (cardreader.Format, error) {
	format, err := readerFormat(name, spec)
	if err != nil {
		return cardreader.Format{}, err
	}
	err = a.s.updateDevice(ctx, name, "ReaderFormat", Device{ReaderFormat: format.String()}, audit.EventConfigChanged, by,
		map[string]string{"reader-format": format.String()})
	return format, err
}

// SetDeviceMethods sets the login methods device name allows, checked as
// AddDevice checks them. Taking qr away refuses the device's QR code,
// labels and links from then on; giving it back makes labels printed
// before valid again until they expire (rotating the token revokes them).
// Sessions already open continue until they end, as after
// SetCardRequired.
func (a *Admin) SetDeviceMethods(ctx context.Context, name string, methods []string, by string) error {
	if err := checkMethods(name, methods); err != nil {
		return err
	}
	joined := strings.Join(methods, ",")
	return a.s.updateDevice(ctx, name, "Methods", Device{Methods: joined}, audit.EventConfigChanged, by,
		map[string]string{"methods": joined})
}

// SetCardRequired says whether the device lets nobody sign in without a
// card (see Device.CardRequired).
func (a *Admin) SetCardRequired(ctx context.Context, name string, required bool, by string) error {
	return a.s.updateDevice(ctx, name, "CardRequired", Device{CardRequired: required}, audit.EventConfigChanged, by,
		map[string]string{"card-required": fmt.Sprint(required)})
}

// readerFormat parses the reader format of device name.
func readerFormat(name, spec string) (cardreader.Format, error) {
	f, err := cardreader.Parse(spec)
	if err != nil {
		return cardreader.Format{}, fmt.Errorf("release: device %s: reader format: %w", name, err)
	}
	return f, nil
}

// RotateToken gives a device a new token and returns it; the old one
// stops working at once.
func (a *Admin) RotateToken(ctx context.Context, name, by string) (string, error) {
	s := a.s
	token, hash := newToken("pgd_")
	err := s.updateDevice(ctx, name, "TokenHash", Device{TokenHash: hash}, audit.EventDeviceTokenSet, by, nil)
	if err != nil {
		return "", err
	}
	return token, nil
}

// updateDevice sets device name's field to its value in set, and records
// event in the same transaction. The field is named so that a zero value
// (a disabled device) is written too.
func (s *Service) updateDevice(ctx context.Context, name, field string, set Device, event, by string, details map[string]string) error {
	set.UpdatedAt = s.now()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&Device{}).Where("name = ?", name).Select(field, "UpdatedAt").Updates(&set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("release: device %q: %w", name, ErrNotFound)
		}
		if event == audit.EventDeviceTokenSet {
			// Sessions opened with the old token end with it.
			if err := tx.Exec(`UPDATE release_sessions SET ended = TRUE
				WHERE device_id = (SELECT id FROM devices WHERE name = ?)`, name).Error; err != nil {
				return err
			}
		}
		return s.adminEvent(ctx, tx, event, by, name, details)
	})
	return dbErr("update device "+name, err)
}

// deviceByToken finds the device a bearer token belongs to.
func (dr *DeviceRelease) deviceByToken(ctx context.Context, token string) (Device, error) {
	s := dr.s
	if !strings.HasPrefix(token, "pgd_") {
		return Device{}, ErrUnauthorized
	}
	var d Device
	err := s.db.WithContext(ctx).Where("token_hash = ?", tokenHash(token)).Take(&d).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Device{}, ErrUnauthorized
	}
	if err != nil {
		return Device{}, dbErr("find device", err)
	}
	if !d.Enabled {
		return Device{}, fmt.Errorf("release: device %s is disabled: %w", d.Name, ErrForbidden)
	}
	return d, nil
}

// adminEvent records an administrative action in its own transaction tx.
func (s *Service) adminEvent(ctx context.Context, tx *gorm.DB, event, by, device string, details map[string]string) error {
	if by == "" {
		by = audit.ActorSystem
	}
	_, err := s.audit.Append(ctx, tx, audit.Event{Type: event, Actor: by, Device: device, Details: details})
	return err
}

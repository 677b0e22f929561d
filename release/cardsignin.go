package release

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/release/credential"
	"github.com/printgate/printgate/release/credential/cardreader"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/throttle"
)

// The card's part of a sign-in (identify, in session.go): reading the
// card, finding whose it is, refusing it as nobody's, enrolling it.

// readCard returns the canonical UID of what dev's card reader sent,
// read in the device's reader format. What the format cannot read is a
// card nobody has: ErrUnauthorized, counted like any wrong card.
func readCard(dev Device, card string) (string, error) {
	format, err := cardreader.Parse(dev.ReaderFormat)
	if err != nil {
		return "", fmt.Errorf("release: device %s: reader format: %w", dev.Name, err)
	}
	uid, err := format.Normalize(card)
	if err != nil {
		return "", fmt.Errorf("release: card: %w", ErrUnauthorized)
	}
	return uid, nil
}

// cardHolder is whom a card belongs to, by name: enrolled in printgate
// (enrolled, with the account ID it is bound to, "" if none yet), or in
// the directory's card attribute.
type cardHolder struct {
	credential.Account
	uid      string
	enrolled bool
}

// cardOwner finds the holder of the card with the canonical UID uid:
// enrolled in printgate, or in the directory's card attribute.
func (d *DeviceRelease) cardOwner(ctx context.Context, uid string) (cardHolder, error) {
	s := d.s
	a, err := s.creds.CardHolder(ctx, uid)
	if err == nil {
		return cardHolder{Account: a, uid: uid, enrolled: true}, nil
	}
	if !errors.Is(err, credential.ErrNotFound) {
		return cardHolder{}, fmt.Errorf("release: card lookup: %w", err)
	}
	if cd, ok := s.dir.(directory.CardDirectory); ok {
		id, err := cd.LookupCard(ctx, uid)
		if err == nil {
			return cardHolder{Account: credential.Account{Name: id.Name}, uid: uid}, nil
		}
		if !errors.Is(err, directory.ErrNotFound) {
			return cardHolder{}, fmt.Errorf("release: directory card lookup: %w", err)
		}
	}
	return cardHolder{}, ErrUnknownCard
}

// ErrUnknownCard is a card that reads well but is nobody's. It wraps
// ErrUnauthorized; a kiosk on a device allowing self-enrolment offers to
// enrol it (releaseapi says so).
var ErrUnknownCard = fmt.Errorf("release: unknown card: %w", ErrUnauthorized)

// selfEnroll enrols an unknown card to the user whose directory password
// comes with it, if the device allows self-enrolment. uid is the card's
// canonical UID, read in the device's reader format.
func (d *DeviceRelease) selfEnroll(ctx context.Context, dev Device, l Login, uid string) (directory.Identity, error) {
	s := d.s
	if !dev.SelfEnroll {
		return directory.Identity{}, fmt.Errorf("release: %s does not enrol cards: %w", dev.Name, ErrUnauthorized)
	}
	id, err := s.authenticate(ctx, l.User, l.Password, l.Addr, "self-enrolment")
	if errors.Is(err, directory.ErrDisabled) {
		return directory.Identity{}, fmt.Errorf("release: self-enrolment: %w", ErrDisabled)
	}
	if errors.Is(err, directory.ErrInvalidCredentials) {
		return directory.Identity{}, fmt.Errorf("release: self-enrolment: %w", ErrUnauthorized)
	}
	if errors.Is(err, throttle.ErrThrottled) {
		return directory.Identity{}, fmt.Errorf("release: self-enrolment: %w: %w", ErrThrottled, err)
	}
	if err != nil {
		return directory.Identity{}, fmt.Errorf("release: self-enrolment: %w", err)
	}
	// A user locked out by wrong PINs enrols no card either: a card bound
	// now would outlast the lock's reason (found by review).
	account := credential.Account{Name: id.Name, ID: id.AccountID}
	if err := d.checkPerson(ctx, dev, MethodCard, account, l); err != nil {
		return directory.Identity{}, fmt.Errorf("release: self-enrolment: %w", err)
	}
	err = s.creds.EnrolCard(ctx, account, uid, func(tx *gorm.DB) error {
		_, err := s.audit.Append(ctx, tx, audit.Event{Type: audit.EventCardAdded, Actor: id.Name, Owner: id.Name,
			Device: dev.Name, Details: map[string]string{"how": "self-enrolment"}})
		return err
	})
	if errors.Is(err, credential.ErrCardInUse) {
		// Someone else's card, or a former account's, which an
		// administrator removes first: not this user's to take.
		return directory.Identity{}, fmt.Errorf("release: self-enrolment: %w: %w", ErrUnauthorized, err)
	}
	if err != nil {
		return directory.Identity{}, fmt.Errorf("release: self-enrolment: %w", err)
	}
	return id, nil
}

// refuseCard returns err, a card refused as unreadable or unknown, as
// the answer to a card nobody has: ErrUnknownCard on a device that would
// enrol it, else ErrUnauthorized. For card+PIN it first spends the time
// of a PIN check, as an enrolled card with a wrong PIN takes: the
// answer's time must not tell which cards are enrolled.
func (d *DeviceRelease) refuseCard(ctx context.Context, dev Device, method string, l Login, err error) error {
	if errors.Is(err, ErrUnknownCard) && !dev.SelfEnroll {
		// Only a device that would enrol the card says that it is
		// unknown, rather than merely refused.
		err = fmt.Errorf("release: card: %w", ErrUnauthorized)
	}
	if method == MethodCardPIN && errors.Is(err, ErrUnauthorized) {
		if werr := d.s.creds.WastePIN(ctx, l.PIN); werr != nil {
			return fmt.Errorf("release: unknown card: %w", werr)
		}
	}
	return err
}

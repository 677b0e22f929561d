package release

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/release/credential"
	"github.com/printgate/printgate/release/credential/cardreader"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/throttle"
)

// Session is a user signed in at a device.
type Session struct {
	ID          int64 `gorm:"primaryKey"`
	TokenHash   string
	DeviceID    int64
	UserName    string
	DisplayName string
	Method      string
	CreatedAt   time.Time
	LastSeen    time.Time
	Ended       bool
}

// TableName keeps the table name stable.
func (Session) TableName() string { return "release_sessions" }

// Login is what a user presents at a device: a card, an ID and PIN, a card
// and PIN, or an unknown card with a directory password to enrol it.
type Login struct {
	Card     string
	User     string
	PIN      string
	Password string
	// Addr is where the request came from (the TCP peer), for the
	// per-address limit on passwords; the zero Addr skips that limit.
	Addr netip.Addr
}

// method says which login method l is, or "" if it is none.
func (l Login) method() string {
	switch {
	case l.Card != "" && l.PIN != "" && l.User == "":
		return MethodCardPIN
	case l.Card != "" && l.PIN == "":
		return MethodCard
	case l.Card == "" && l.User != "" && l.PIN != "":
		return MethodIDPIN
	}
	return ""
}

// OpenSession signs a user in at the device whose token is deviceToken. It
// returns the session and its bearer token.
//
// Each sign-in is counted against the device before anything it carries
// is checked; past the device's limit it fails with ErrThrottled, unchecked.
func (d *DeviceRelease) OpenSession(ctx context.Context, deviceToken string, l Login) (Session, string, error) {
	s := d.s
	dev, err := d.deviceByToken(ctx, deviceToken)
	if err != nil {
		return Session{}, "", err
	}
	method := l.method()
	if method == "" {
		return Session{}, "", fmt.Errorf("release: login: %w", ErrBadLogin)
	}
	if !dev.Allows(method) {
		return Session{}, "", fmt.Errorf("release: %s does not allow %s: %w", dev.Name, method, ErrForbidden)
	}
	if err := checkTransport(ctx, dev, l); err != nil {
		return Session{}, "", err
	}
	attempt, err := d.reserveDevice(ctx, dev)
	if err != nil {
		if errors.Is(err, ErrThrottled) {
			s.signInFailed(method)
		}
		return Session{}, "", err
	}
	id, err := d.identify(ctx, dev, method, l)
	if err != nil {
		d.loginFailed(ctx, dev, method, attempt, err)
		return Session{}, "", err
	}
	if err := s.throttle.Succeeded(ctx, attempt); err != nil {
		s.log.Error("release: device sign-in count", "device", dev.Name, "err", err)
	}
	name, display := id.Name, id.DisplayName
	if display == "" {
		display = name
	}
	token, hash := newToken("pgs_")
	sess := Session{TokenHash: hash, DeviceID: dev.ID, UserName: name, DisplayName: display, Method: method,
		CreatedAt: s.now(), LastSeen: s.now()}
	// A sign-in is recorded whether or not anything is released after
	// it: who stood at which printer, and when, is the auditor's to know.
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&sess).Error; err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, audit.Event{Type: audit.EventSignedIn, Actor: name, Owner: name,
			Device: dev.Name, Method: method})
		return err
	})
	if err != nil {
		return Session{}, "", dbErr("open session", err)
	}
	return sess, token, nil
}

// identify checks l and returns the user it proves. The user is looked
// up in the directory at every sign-in, uncached: an account disabled
// there, or in printgate, or gone from the directory, is refused at
// once, whatever card or PIN it still has.
func (d *DeviceRelease) identify(ctx context.Context, dev Device, method string, l Login) (directory.Identity, error) {
	s := d.s
	var key string
	switch method {
	case MethodCard, MethodCardPIN:
		uid, err := readCard(dev, l.Card)
		if err != nil {
			return directory.Identity{}, err
		}
		n, err := d.cardOwner(ctx, uid)
		if errors.Is(err, ErrUnknownCard) && method == MethodCard && l.User != "" && l.Password != "" {
			return d.selfEnroll(ctx, dev, l, uid)
		}
		if errors.Is(err, ErrUnknownCard) && !dev.SelfEnroll {
			// Only a device that would enrol the card says that it is
			// unknown, rather than merely refused.
			err = fmt.Errorf("release: card: %w", ErrUnauthorized)
		}
		if err != nil {
			return directory.Identity{}, err
		}
		key = n
	case MethodIDPIN:
		key = l.User
	}
	id, err := s.dir.Lookup(ctx, key)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		// As long as a wrong PIN takes: the answer's time must not
		// tell which employee numbers exist.
		if err := s.creds.WastePIN(ctx, l.PIN); err != nil {
			return directory.Identity{}, fmt.Errorf("release: unknown user: %w", err)
		}
		return directory.Identity{}, &triedAccount{name: key, err: fmt.Errorf("release: unknown user: %w", ErrUnauthorized)}
	case errors.Is(err, directory.ErrUnavailable):
		return directory.Identity{}, fmt.Errorf("release: directory: %w: %w", ErrUnavailable, err)
	case err != nil:
		return directory.Identity{}, fmt.Errorf("release: directory: %w", err)
	case id.Disabled:
		if err := s.creds.WastePIN(ctx, l.PIN); err != nil {
			return directory.Identity{}, fmt.Errorf("release: disabled user: %w", err)
		}
		return directory.Identity{}, &triedAccount{name: id.Name, known: true,
			err: fmt.Errorf("release: %s: %w", id.Name, ErrDisabled)}
	}
	name, err := d.checkPerson(ctx, dev, method, id.Name, l)
	if err != nil {
		return directory.Identity{}, &triedAccount{name: id.Name, known: true, err: err}
	}
	id.Name = name
	return id, nil
}

// checkPerson checks the lock and the PIN of user name, found by l.
func (d *DeviceRelease) checkPerson(ctx context.Context, dev Device, method, name string, l Login) (string, error) {
	s := d.s
	if method == MethodCard {
		// A user locked out by wrong PINs is locked out of the card alone
		// too: the lock is on the person, not on one way in.
		st, err := s.creds.PINStatus(ctx, name)
		if err != nil {
			return "", fmt.Errorf("release: PIN status: %w", err)
		}
		if st.Locked() {
			return "", fmt.Errorf("release: card of a locked user: %w", ErrLocked)
		}
		return name, nil
	}
	err := s.creds.CheckPIN(ctx, name, l.PIN, dev.Name)
	switch {
	case errors.Is(err, credential.ErrLockedNow):
		return "", errLockedNow
	case errors.Is(err, credential.ErrLocked):
		return "", fmt.Errorf("release: %w", ErrLocked)
	case errors.Is(err, credential.ErrWrongPIN), errors.Is(err, credential.ErrNoPIN):
		return "", fmt.Errorf("release: wrong PIN: %w", ErrUnauthorized)
	case err != nil:
		return "", fmt.Errorf("release: check PIN: %w", err)
	}
	return name, nil
}

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

// cardOwner finds the user of the card with the canonical UID uid:
// enrolled in printgate, or in the directory's card attribute.
func (d *DeviceRelease) cardOwner(ctx context.Context, uid string) (string, error) {
	s := d.s
	name, err := s.creds.LookupCard(ctx, uid)
	if err == nil {
		return name, nil
	}
	if !errors.Is(err, credential.ErrNotFound) {
		return "", fmt.Errorf("release: card lookup: %w", err)
	}
	if cd, ok := s.dir.(directory.CardDirectory); ok {
		id, err := cd.LookupCard(ctx, uid)
		if err == nil {
			return id.Name, nil
		}
		if !errors.Is(err, directory.ErrNotFound) {
			return "", fmt.Errorf("release: directory card lookup: %w", err)
		}
	}
	return "", ErrUnknownCard
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
	if _, err := d.checkPerson(ctx, dev, MethodCard, id.Name, l); err != nil {
		return directory.Identity{}, fmt.Errorf("release: self-enrolment: %w", err)
	}
	err = s.creds.AddCard(ctx, id.Name, uid, func(tx *gorm.DB) error {
		_, err := s.audit.Append(ctx, tx, audit.Event{Type: audit.EventCardAdded, Actor: id.Name, Owner: id.Name,
			Device: dev.Name, Details: map[string]string{"how": "self-enrolment"}})
		return err
	})
	if err != nil {
		return directory.Identity{}, fmt.Errorf("release: self-enrolment: %w", err)
	}
	return id, nil
}

// triedAccount is a failed sign-in's error with the account it tried, for
// loginFailed to record: known says the account exists, so its name is
// recorded in clear; an unknown one is what someone typed, perhaps a
// password, and is recorded only in keyed form.
type triedAccount struct {
	name  string
	known bool
	err   error
}

func (e *triedAccount) Error() string { return e.err.Error() }
func (e *triedAccount) Unwrap() error { return e.err }

// errLockedNow is the wrong PIN that locked its user: loginFailed records
// the lock as an event of its own.
var errLockedNow = fmt.Errorf("release: locked by this attempt: %w", ErrLocked)

// loginFailed records a failed login without anything the user typed in
// clear. A failure that checked nothing (the directory was down) gives
// its attempt back to the device. Only failures within the device's limit
// get an event each: past it, sign-ins are refused unchecked and
// summarized when the episode ends.
func (d *DeviceRelease) loginFailed(ctx context.Context, dev Device, method string, attempt throttle.Attempt, cause error) {
	s := d.s
	reason := "wrong credentials"
	switch {
	case errors.Is(cause, ErrLocked):
		reason = "locked"
	case errors.Is(cause, ErrDisabled):
		reason = "account disabled"
	case errors.Is(cause, ErrThrottled):
		// A self-enrolment refused by the password limits: it counts
		// against the device, and its episode has its own event.
		s.signInFailed(method)
		return
	case !errors.Is(cause, ErrUnauthorized):
		if err := s.throttle.Refund(ctx, attempt); err != nil {
			s.log.Error("release: device sign-in count", "device", dev.Name, "err", err)
		}
		return
	}
	s.signInFailed(method)
	events := []audit.Event{{Type: audit.EventLoginFailed, Device: dev.Name, Method: method, Reason: reason,
		Actor: audit.ActorSystem}}
	var tried *triedAccount
	if errors.As(cause, &tried) {
		account, owner, err := s.triedName(tried)
		if err != nil {
			// The failure is still recorded, without the account.
			s.log.Error("release: record failed login", "device", dev.Name, "err", err)
		} else {
			events[0].Owner, events[0].Details = owner, map[string]string{"account": account}
		}
		if errors.Is(cause, errLockedNow) {
			events = append(events, audit.Event{Type: audit.EventUserLocked, Owner: owner, Device: dev.Name,
				Method: method, Reason: "too many wrong PINs", Actor: audit.ActorSystem})
		}
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, ev := range events {
			if _, err := s.audit.Append(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.log.Error("release: record failed login", "device", dev.Name, "err", err)
	}
}

// triedName returns how a failed sign-in's account is recorded: a known
// account by its name (also the event's owner, so that the user's history
// shows it), an unknown one by its keyed name only.
func (s *Service) triedName(t *triedAccount) (account, owner string, err error) {
	if t.known {
		return t.name, t.name, nil
	}
	keyed, err := s.audit.KeyedName(t.name)
	if err != nil {
		return "", "", fmt.Errorf("release: keyed account name: %w", err)
	}
	return keyed, "", nil
}

// Session returns the live session of token at the device of deviceToken
// and marks it used. A session of another device, an ended session and
// one idle too long all answer ErrUnauthorized.
func (d *DeviceRelease) Session(ctx context.Context, deviceToken, token string) (Session, Device, error) {
	sess, dev, err := d.Authorize(ctx, deviceToken, token)
	if err != nil {
		return Session{}, Device{}, err
	}
	return sess, dev, d.Touch(ctx, sess)
}

// Authorize is Session without the touch: for a request that touches the
// session after its work (Touch), so that the touch's write and its sync
// do not come before the work. A release does: the first byte reaches the
// printer one sync sooner.
func (d *DeviceRelease) Authorize(ctx context.Context, deviceToken, token string) (Session, Device, error) {
	s := d.s
	dev, err := d.deviceByToken(ctx, deviceToken)
	if err != nil {
		return Session{}, Device{}, err
	}
	var sess Session
	err = s.db.WithContext(ctx).Where("token_hash = ? AND device_id = ? AND ended = ?", tokenHash(token), dev.ID, false).
		Take(&sess).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Session{}, Device{}, fmt.Errorf("release: session: %w", ErrUnauthorized)
	}
	if err != nil {
		return Session{}, Device{}, dbErr("find session", err)
	}
	if s.now().Sub(sess.LastSeen) > s.sessionIdle {
		return Session{}, Device{}, fmt.Errorf("release: session expired: %w", ErrUnauthorized)
	}
	return sess, dev, nil
}

// Touch records that sess was used now: its idle time starts again.
func (d *DeviceRelease) Touch(ctx context.Context, sess Session) error {
	// A session's row waits for no one's journaled jobs but its user's.
	err := d.s.db.WithContext(forOwner(ctx, sess.UserName)).Model(&Session{}).Where("id = ?", sess.ID).Update("last_seen", d.s.now()).Error
	return dbErr("touch session", err)
}

// CloseSession signs the user out.
func (d *DeviceRelease) CloseSession(ctx context.Context, sess Session) error {
	s := d.s
	err := s.db.WithContext(ctx).Model(&Session{}).Where("id = ?", sess.ID).Update("ended", true).Error
	return dbErr("close session", err)
}

// SessionExpires says when sess ends if unused.
func (d *DeviceRelease) SessionExpires(sess Session) time.Time {
	return sess.LastSeen.Add(d.s.sessionIdle)
}

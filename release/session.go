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
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/throttle"
)

// Session is a user signed in at a device.
type Session struct {
	ID        int64 `gorm:"primaryKey"`
	TokenHash string
	DeviceID  int64
	UserName  string
	// AccountID is the directory's identifier of the account that signed
	// in (directory.Identity.AccountID), empty when it has none: a
	// session ends once its name is another account's.
	AccountID   string
	DisplayName string
	Method      string
	CreatedAt   time.Time
	LastSeen    time.Time
	Ended       bool
	// OwnedSince is from when the jobs of UserName are the signed-in
	// account's (directory.OwnedSince): a leaver's, held under the name
	// before it was given again, are not. It is not stored: every use of
	// a session reads the account afresh (Authorize).
	OwnedSince time.Time `gorm:"-"`
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
	sess := Session{TokenHash: hash, DeviceID: dev.ID, UserName: name, AccountID: id.AccountID, DisplayName: display,
		Method: method, CreatedAt: s.now(), LastSeen: s.now(), OwnedSince: directory.OwnedSince(id.Created)}
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
// once, whatever card or PIN it still has. A card or PIN bound to another
// account of the user's name (a leaver's, whose name was given to someone
// else) is refused as unknown; one enrolled before credentials were bound
// is bound to the account by its first successful use.
func (d *DeviceRelease) identify(ctx context.Context, dev Device, method string, l Login) (directory.Identity, error) {
	s := d.s
	var (
		key  string
		card cardHolder
	)
	switch method {
	case MethodCard, MethodCardPIN:
		uid, err := readCard(dev, l.Card)
		if err == nil {
			card, err = d.cardOwner(ctx, uid)
		}
		if errors.Is(err, ErrUnknownCard) && method == MethodCard && l.User != "" && l.Password != "" {
			return d.selfEnroll(ctx, dev, l, uid)
		}
		if err != nil {
			return directory.Identity{}, d.refuseCard(ctx, dev, method, l, err)
		}
		key = card.Name
	case MethodIDPIN:
		key = l.User
	}
	var id directory.Identity
	var err error
	if method == MethodIDPIN {
		// What the user typed: a login name or an employee number.
		id, err = s.dir.Lookup(ctx, key)
	} else {
		// A name stored with the card: that name's user, and nobody whose
		// employee number or further login it happens to be.
		id, err = directory.LookupName(ctx, s.dir, key)
	}
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
	case card.enrolled && card.ID != "" && card.ID != id.AccountID:
		// A former account's card: unknown to this one, and answered as
		// any unknown card, before anything of the account is told.
		if method == MethodCard && l.User != "" && l.Password != "" {
			return d.selfEnroll(ctx, dev, l, card.uid)
		}
		return directory.Identity{}, d.refuseCard(ctx, dev, method, l,
			fmt.Errorf("release: card of a former account of %s: %w", id.Name, ErrUnknownCard))
	case id.Disabled:
		if err := s.creds.WastePIN(ctx, l.PIN); err != nil {
			return directory.Identity{}, fmt.Errorf("release: disabled user: %w", err)
		}
		return directory.Identity{}, &triedAccount{name: id.Name, known: true,
			err: fmt.Errorf("release: %s: %w", id.Name, ErrDisabled)}
	}
	account := credential.Account{Name: id.Name, ID: id.AccountID}
	if err := d.checkPerson(ctx, dev, method, account, l); err != nil {
		return directory.Identity{}, &triedAccount{name: id.Name, known: true, err: err}
	}
	if card.enrolled && card.ID == "" {
		// Enrolled before cards were bound: this first use binds it.
		if err := s.creds.BindCard(ctx, card.uid, account); err != nil {
			s.log.Error("release: bind card", "user", id.Name, "err", err)
		}
	}
	return id, nil
}

// checkPerson checks the lock and the PIN of the account a, found by l.
func (d *DeviceRelease) checkPerson(ctx context.Context, dev Device, method string, a credential.Account, l Login) error {
	s := d.s
	if method == MethodCard {
		// A user locked out by wrong PINs is locked out of the card alone
		// too: the lock is on the person, not on one way in.
		st, err := s.creds.AccountPINStatus(ctx, a)
		if err != nil {
			return fmt.Errorf("release: PIN status: %w", err)
		}
		if st.Locked() {
			return fmt.Errorf("release: card of a locked user: %w", ErrLocked)
		}
		return nil
	}
	err := s.creds.CheckAccountPIN(ctx, a, l.PIN, dev.Name)
	switch {
	case errors.Is(err, credential.ErrLockedNow):
		return errLockedNow
	case errors.Is(err, credential.ErrLocked):
		return fmt.Errorf("release: %w", ErrLocked)
	case errors.Is(err, credential.ErrWrongPIN), errors.Is(err, credential.ErrNoPIN):
		return fmt.Errorf("release: wrong PIN: %w", ErrUnauthorized)
	case err != nil:
		return fmt.Errorf("release: check PIN: %w", err)
	}
	return nil
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
	sess, dev, err := d.liveSession(ctx, deviceToken, token)
	if err != nil {
		return Session{}, Device{}, err
	}
	// The sign-in checked the account; every use checks it again, so
	// that one disabled or removed since is refused at once.
	id, err := d.s.currentUser(ctx, sess.UserName)
	if err != nil {
		return Session{}, Device{}, err
	}
	if sess.AccountID != "" && id.AccountID != sess.AccountID {
		// The name was given to someone else (a leaver's login to a new
		// hire) while the leaver's session was open.
		return Session{}, Device{}, fmt.Errorf("release: %s is another account now: %w", sess.UserName, ErrUnauthorized)
	}
	sess.OwnedSince = directory.OwnedSince(id.Created)
	return sess, dev, nil
}

// EndSession signs out the session token of the device deviceToken. It
// does not ask the directory about the user, as every other use does: a
// sign-out while the directory cannot answer must still end the session.
func (d *DeviceRelease) EndSession(ctx context.Context, deviceToken, token string) error {
	sess, _, err := d.liveSession(ctx, deviceToken, token)
	if err != nil {
		return err
	}
	return d.CloseSession(ctx, sess)
}

// liveSession finds the open session token of the device deviceToken,
// within its idle time and its lifetime.
func (d *DeviceRelease) liveSession(ctx context.Context, deviceToken, token string) (Session, Device, error) {
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
	if err := s.sessionLive(sess); err != nil {
		return Session{}, Device{}, err
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

// SessionExpires says when sess ends if unused, or at the latest
// (SessionMaxLife).
func (d *DeviceRelease) SessionExpires(sess Session) time.Time {
	idle := sess.LastSeen.Add(d.s.sessionIdle)
	if end := sess.CreatedAt.Add(SessionMaxLife); end.Before(idle) {
		return end
	}
	return idle
}

// Package credential keeps the secrets a user releases jobs with: a PIN
// per user, any number of IC cards, and per-job PINs. None is stored in
// clear: PINs as argon2id hashes keyed by a pepper, card UIDs as keyed
// HMACs, both from a key kept outside the database, so that a copy of
// the database alone gives none of them away.
package credential

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
)

// Sentinel errors. Their texts, and those of the errors wrapping them,
// never contain a PIN or a card UID.
var (
	// ErrWrongPIN is a PIN that does not match.
	ErrWrongPIN = errors.New("credential: wrong PIN")
	// ErrLocked is a user locked out after too many wrong PINs; even the
	// right PIN is refused until the lock expires or an admin unlocks.
	ErrLocked = errors.New("credential: locked after too many wrong PINs")
	// ErrLockedNow is the wrong PIN that locked the user: it wraps
	// ErrLocked, and says that the lock began with this attempt.
	ErrLockedNow = fmt.Errorf("credential: locked by this attempt: %w", ErrLocked)
	// ErrNoPIN is a user with no PIN set.
	ErrNoPIN = errors.New("credential: no PIN set")
	// ErrPINPolicy is a PIN of the wrong length or with non-digits.
	ErrPINPolicy = errors.New("credential: PIN does not meet the policy")
	// ErrWeakPIN is a PIN that is easy to guess, such as 0000, 1234, 1212
	// or 2580.
	ErrWeakPIN = errors.New("credential: PIN is too easy to guess")
	// ErrBadUID is a card UID that is not 4 to 10 bytes of hex.
	ErrBadUID = errors.New("credential: card UID must be 4 to 10 bytes of hex")
	// ErrCardInUse is a card already enrolled to another user.
	ErrCardInUse = errors.New("credential: card belongs to another user")
	// ErrNotFound is an unknown card, or a user without the credential.
	ErrNotFound = errors.New("credential: not found")
)

// Policy sets the PIN rules and the lockout.
type Policy struct {
	// MinPIN and MaxPIN bound a PIN's length in digits.
	MinPIN int `yaml:"min_pin"`
	MaxPIN int `yaml:"max_pin"`
	// MaxFailures wrong PINs in a row lock the user out for LockFor.
	MaxFailures int           `yaml:"max_failures"`
	LockFor     time.Duration `yaml:"lock_for"`
}

// DefaultPolicy returns the policy printgate uses unless configured
// otherwise: 4 to 8 digits, locked for 15 minutes after 5 wrong PINs.
func DefaultPolicy() Policy {
	return Policy{MinPIN: 4, MaxPIN: 8, MaxFailures: 5, LockFor: 15 * time.Minute}
}

// withDefaults fills zero fields from DefaultPolicy.
func (p Policy) withDefaults() Policy {
	d := DefaultPolicy()
	if p.MinPIN == 0 {
		p.MinPIN = d.MinPIN
	}
	if p.MaxPIN == 0 {
		p.MaxPIN = max(d.MaxPIN, p.MinPIN)
	}
	if p.MaxFailures == 0 {
		p.MaxFailures = d.MaxFailures
	}
	if p.LockFor == 0 {
		p.LockFor = d.LockFor
	}
	return p
}

// Validate checks p, zero fields taking their defaults; errors name the
// setting.
func (p Policy) Validate() error {
	p = p.withDefaults()
	var errs []error
	if p.MinPIN < 4 {
		errs = append(errs, errors.New("credential: min_pin: at least 4 digits"))
	}
	if p.MaxPIN < p.MinPIN || p.MaxPIN > 32 {
		errs = append(errs, errors.New("credential: max_pin: from min_pin to 32 digits"))
	}
	if p.MaxFailures < 1 || p.MaxFailures > 100 {
		errs = append(errs, errors.New("credential: max_failures: 1 to 100"))
	}
	if p.LockFor < time.Second {
		errs = append(errs, errors.New("credential: lock_for: at least 1s"))
	}
	return errors.Join(errs...)
}

// MinKeyLength is the shortest HMAC key New accepts, in bytes.
const MinKeyLength = 32

// Options are the less common settings of a Store.
type Options struct {
	// Now is the clock for lockouts; nil means time.Now.
	Now func() time.Time
	// Hasher hashes PINs and job PINs; nil means one peppered from the
	// HMAC key with New's params and no limit on concurrent checks. A
	// server passes the *secret.Hasher it shares with every other
	// argon2id use.
	Hasher Hasher
}

// Hasher hashes and checks secrets as *secret.Hasher does. It is an
// interface so that a test can count the checks a sign-in spends: that
// an unknown card or name costs as much as a wrong PIN is a property of
// the time an answer takes, which a test cannot measure reliably.
type Hasher interface {
	Hash(ctx context.Context, secret []byte) (string, error)
	Verify(ctx context.Context, stored string, secret []byte) (ok, rehash bool, err error)
	Waste(ctx context.Context, secret []byte) error
}

var _ Hasher = (*secret.Hasher)(nil)

// Store keeps users' PINs and cards in the database. It is safe for
// concurrent use, also by several printgate instances on one database.
type Store struct {
	db     *database.DB
	key    []byte
	policy Policy
	hasher Hasher
	now    func() time.Time
}

// New returns a Store on db (migrated with Migrate). hmacKey keys the card
// MACs and, unless opts.Hasher is given, the PIN pepper: keep it outside
// the database (data dir or config), and never change it, or every
// enrolled card and every PIN is lost. Zero policy fields and zero params
// take the defaults.
func New(db *database.DB, hmacKey []byte, policy Policy, params secret.Params, opts Options) (*Store, error) {
	if len(hmacKey) < MinKeyLength {
		return nil, fmt.Errorf("credential: HMAC key must be at least %d bytes", MinKeyLength)
	}
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	if opts.Hasher == nil {
		h, err := secret.NewHasher(hmacKey, params, nil)
		if err != nil {
			return nil, fmt.Errorf("credential: %w", err)
		}
		opts.Hasher = h
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{db: db, key: append([]byte(nil), hmacKey...), policy: policy.withDefaults(), hasher: opts.Hasher, now: opts.Now}, nil
}

// Policy returns the PIN policy in force, defaults filled in.
func (s *Store) Policy() Policy { return s.policy }

// Users returns every user name the store keeps anything of (a PIN, a
// PIN failure, a card), as stored: for removing a user whom the
// directory no longer knows, whose stored spelling may differ.
func (s *Store) Users(ctx context.Context) ([]string, error) {
	var names []string
	err := s.db.WithContext(ctx).Raw(`SELECT user_name FROM credential_pins
		UNION SELECT user_name FROM credential_pin_failures
		UNION SELECT user_name FROM credential_cards`).Scan(&names).Error
	if err != nil {
		return nil, fmt.Errorf("credential: users: %w", err)
	}
	return names, nil
}

// Forget removes every credential of user: PIN, lockout, failure records
// and cards. Call it when a user is deleted.
func (s *Store) Forget(ctx context.Context, user string) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, table := range []string{"credential_pins", "credential_pin_failures", "credential_cards"} {
			if err := tx.Exec("DELETE FROM "+table+" WHERE user_name = ?", user).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("credential: forget %s: %w", user, err)
	}
	return nil
}

// Migrate creates or updates the credential tables in db.
func Migrate(ctx context.Context, db *database.DB) error {
	return db.Migrate(ctx, "credential", []database.Migration{
		{Name: "pins, failures and cards", Up: createTables},
		{Name: "account IDs of pins and cards", Up: addAccountIDs},
	})
}

// addAccountIDs keeps with each PIN and card the stable identifier of the
// account it belongs to (Account.ID). Those enrolled before are bound to
// nothing (an empty account_id) until their first successful use binds
// them.
func addAccountIDs(tx *gorm.DB, _ database.Dialect) error {
	return database.Exec(tx,
		`ALTER TABLE credential_pins ADD COLUMN account_id TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE credential_cards ADD COLUMN account_id TEXT NOT NULL DEFAULT ''`,
	)
}

func createTables(tx *gorm.DB, d database.Dialect) error {
	id, ts := "INTEGER PRIMARY KEY AUTOINCREMENT", "TIMESTAMP"
	if d == database.Postgres {
		id, ts = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "TIMESTAMPTZ"
	}
	// Times compared in SQL (locked_until, failed_at) are Unix
	// milliseconds: integers compare the same on both dialects, which
	// SQLite's text timestamps need not.
	return database.Exec(tx,
		`CREATE TABLE credential_pins (
			user_name TEXT NOT NULL PRIMARY KEY,
			pin_hash TEXT NOT NULL,
			failures INTEGER NOT NULL DEFAULT 0,
			locked_until BIGINT NOT NULL DEFAULT 0,
			updated_at `+ts+` NOT NULL
		)`,
		`CREATE TABLE credential_pin_failures (
			id `+id+`,
			user_name TEXT NOT NULL,
			device TEXT NOT NULL,
			failed_at BIGINT NOT NULL
		)`,
		`CREATE INDEX credential_pin_failures_user ON credential_pin_failures (user_name, id)`,
		`CREATE INDEX credential_pin_failures_device ON credential_pin_failures (device, failed_at)`,
		// The MAC is the key: finding a card is one index probe.
		`CREATE TABLE credential_cards (
			mac TEXT NOT NULL PRIMARY KEY,
			user_name TEXT NOT NULL,
			created_at `+ts+` NOT NULL
		)`,
		`CREATE INDEX credential_cards_user ON credential_cards (user_name)`,
	)
}

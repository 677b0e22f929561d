// Package throttle limits how often a secret may be guessed: per device,
// per account and per source address. Counts live in the database, so
// that every printgate instance on it shares them, and each attempt is
// counted before its secret is checked, in one atomic statement, so that
// parallel guesses on any number of instances never get more than the
// limit checked.
//
// A count lives in a fixed window that starts with its first attempt. An
// attempt that would exceed the limit is refused until the window ends
// or an administrator clears it; such a refused period is an episode. The
// first refusal of an episode is reported to the caller (Attempt.Started)
// so that it can record one event for the episode, and the refusals are
// summarized into the audit trail in one event when the episode ends,
// never one event per try. Rows are deleted as their windows end, so the
// table holds only windows in progress.
package throttle

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
)

// Kind says what a count is kept for.
type Kind string

// Kinds of subject.
const (
	// Device counts failed sign-ins of any kind at one release device.
	Device Kind = "device"
	// Account counts wrong directory passwords for one account name,
	// wherever they were typed.
	Account Kind = "account"
	// Address counts wrong directory passwords from one source address
	// (an IPv6 client's /64).
	Address Kind = "address"
)

// Audit event types of the throttles.
const (
	// EventDeviceThrottled: a device's sign-ins are refused for the rest
	// of the window; one per episode.
	EventDeviceThrottled = "device-throttled"
	// EventPasswordThrottled: an account's or address's passwords are
	// refused for the rest of the window; one per episode.
	EventPasswordThrottled = "password-throttled"
	// EventThrottleEnded summarizes an episode when it ends: how many
	// attempts were refused during it.
	EventThrottleEnded = "throttle-ended"
	// EventThrottleCleared: an administrator ended an episode early.
	EventThrottleCleared = "throttle-cleared"
)

// ErrThrottled is an attempt refused because its subject used up its
// attempts for the window.
var ErrThrottled = errors.New("throttle: too many failed attempts")

// Error is a refused attempt: it wraps ErrThrottled and says when the
// subject may try again.
type Error struct {
	Kind  Kind
	Until time.Time
	now   time.Time
}

func (e *Error) Error() string {
	return fmt.Sprintf("throttle: %s: too many failed attempts; try again in %s", e.Kind, e.RetryAfter())
}

// Unwrap makes errors.Is(err, ErrThrottled) true.
func (e *Error) Unwrap() error { return ErrThrottled }

// RetryAfter is how long until the window ends, rounded up to a whole
// second and at least one.
func (e *Error) RetryAfter() time.Duration {
	d := e.Until.Sub(e.now)
	if d <= 0 {
		return time.Second
	}
	if r := d % time.Second; r != 0 {
		d += time.Second - r
	}
	return d
}

// Rule is the limit of one kind: at most Max attempts counted in Window.
type Rule struct {
	Max    int
	Window time.Duration
}

// Options configure a Store.
type Options struct {
	// Rules by kind; a kind without a rule is never throttled.
	Rules map[Kind]Rule
	// Key keys the account names stored: a name typed at a sign-in may
	// be a password typed in the wrong field, so none is kept in clear.
	Key []byte
	// Audit receives the episodes' summaries and clearances; required.
	Audit *audit.Log
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Store keeps the counts. It is safe for concurrent use, also by several
// printgate instances on one database.
type Store struct {
	db    *database.DB
	rules map[Kind]Rule
	key   []byte
	audit *audit.Log
	now   func() time.Time
}

// New returns a Store on db (migrated with Migrate).
func New(db *database.DB, opts Options) (*Store, error) {
	if opts.Audit == nil || len(opts.Key) < 32 {
		return nil, errors.New("throttle: an audit log and a key of at least 32 bytes are required")
	}
	for k, r := range opts.Rules {
		if r.Max < 1 || r.Window < time.Second {
			return nil, fmt.Errorf("throttle: %s: at least 1 attempt in at least 1s", k)
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{db: db, rules: opts.Rules, key: append([]byte(nil), opts.Key...), audit: opts.Audit, now: opts.Now}, nil
}

// Rule returns the rule of kind and whether there is one.
func (s *Store) Rule(kind Kind) (Rule, bool) {
	r, ok := s.rules[kind]
	return r, ok
}

// Migrate creates or updates the throttle table in db.
func Migrate(ctx context.Context, db *database.DB) error {
	return db.Migrate(ctx, "throttle", []database.Migration{
		{Name: "throttles", Up: func(tx *gorm.DB, _ database.Dialect) error {
			// window_end is Unix milliseconds: integers compare the same on
			// both dialects.
			return database.Exec(tx, `CREATE TABLE throttles (
				kind TEXT NOT NULL,
				subject TEXT NOT NULL,
				attempts INTEGER NOT NULL,
				window_end BIGINT NOT NULL,
				PRIMARY KEY (kind, subject)
			)`, `CREATE INDEX throttles_window_end ON throttles (window_end)`)
		}},
	})
}

// subject is the stored form of name: account names keyed, others as
// they are.
func (s *Store) subject(kind Kind, name string) string {
	if kind != Account {
		return name
	}
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("printgate throttle account\x00"))
	m.Write([]byte(strings.ToLower(strings.TrimSpace(name))))
	return hex.EncodeToString(m.Sum(nil))
}

// Attempt is one reserved attempt.
type Attempt struct {
	kind    Kind
	subject string
	end     int64
	// Count is the attempts counted in the window, this one included.
	Count int
	// Allowed says whether the secret may be checked.
	Allowed bool
	// Started says that this attempt is the first refused of its
	// episode: the caller records the episode once, here.
	Started bool
	// Err is the refusal when not Allowed.
	Err *Error
}

// Reserve counts one attempt for name before its secret is checked and
// says whether it may be checked. The count and the decision are one
// atomic statement. Call Succeeded when the secret proves right, so that
// right answers do not use up the limit.
func (s *Store) Reserve(ctx context.Context, kind Kind, name string) (Attempt, error) {
	rule, ok := s.rules[kind]
	if !ok {
		return Attempt{kind: kind, Allowed: true}, nil
	}
	subject := s.subject(kind, name)
	now := s.now()
	// An ended window is summarized and removed first, so that its
	// refusals are recorded once and the new window starts at zero.
	if err := s.end(ctx, "kind = ? AND subject = ? AND window_end <= ?", kind, subject, now.UnixMilli()); err != nil {
		return Attempt{}, err
	}
	var rows []struct {
		Attempts  int
		WindowEnd int64
	}
	err := s.db.WithContext(ctx).Raw(`INSERT INTO throttles (kind, subject, attempts, window_end) VALUES (?, ?, 1, ?)
		ON CONFLICT (kind, subject) DO UPDATE SET
			attempts = CASE WHEN throttles.window_end <= ? THEN 1 ELSE throttles.attempts + 1 END,
			window_end = CASE WHEN throttles.window_end <= ? THEN excluded.window_end ELSE throttles.window_end END
		RETURNING attempts, window_end`,
		kind, subject, now.Add(rule.Window).UnixMilli(), now.UnixMilli(), now.UnixMilli()).Scan(&rows).Error
	if err != nil || len(rows) != 1 {
		return Attempt{}, fmt.Errorf("throttle: count %s attempt: %w", kind, orNoRow(err))
	}
	a := Attempt{kind: kind, subject: subject, end: rows[0].WindowEnd, Count: rows[0].Attempts}
	a.Allowed = a.Count <= rule.Max
	if !a.Allowed {
		a.Started = a.Count == rule.Max+1
		a.Err = &Error{Kind: kind, Until: time.UnixMilli(a.end), now: now}
	}
	return a, nil
}

// orNoRow is err, or an error saying no row came back when err is nil.
func orNoRow(err error) error {
	if err == nil {
		return errors.New("no row counted")
	}
	return err
}

// Succeeded gives back the attempt a of a right secret. An account's
// count starts afresh; a device's or address's loses this attempt only, so
// that one right answer among many guesses does not wipe the guesses. The
// zero Attempt, and any attempt on a nil Store, give back nothing.
func (s *Store) Succeeded(ctx context.Context, a Attempt) error {
	if s == nil || a.subject == "" {
		return nil
	}
	if a.kind == Account {
		return s.end(ctx, "kind = ? AND subject = ?", a.kind, a.subject)
	}
	return s.Refund(ctx, a)
}

// Refund gives back an attempt whose secret was never checked (the
// directory was down, another limit refused it).
func (s *Store) Refund(ctx context.Context, a Attempt) error {
	if s == nil || a.subject == "" {
		return nil
	}
	err := s.db.WithContext(ctx).Exec(`UPDATE throttles SET attempts = attempts - 1
		WHERE kind = ? AND subject = ? AND window_end = ? AND attempts > 0`, a.kind, a.subject, a.end).Error
	if err != nil {
		return fmt.Errorf("throttle: refund %s attempt: %w", a.kind, err)
	}
	return nil
}

// Clear ends name's window at once, for an administrator (by), recording
// it; it reports whether there was one.
func (s *Store) Clear(ctx context.Context, kind Kind, name, by string) (bool, error) {
	subject := s.subject(kind, name)
	found := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		rows, err := deleteReturning(tx, "kind = ? AND subject = ?", kind, subject)
		if err != nil || len(rows) == 0 {
			return err
		}
		found = true
		ev := s.event(EventThrottleCleared, rows[0])
		ev.Actor = by
		_, err = s.audit.Append(ctx, tx, ev)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("throttle: clear %s: %w", kind, err)
	}
	return found, nil
}

// Status is a window in progress.
type Status struct {
	Kind Kind
	// Name is the device name or address; for accounts it is the keyed
	// form.
	Name     string
	Attempts int
	// Refused counts the attempts refused so far in the episode.
	Refused int
	Until   time.Time
	// Throttled says that attempts are being refused.
	Throttled bool
}

// Throttled returns the subjects of kind being refused now.
func (s *Store) Throttled(ctx context.Context, kind Kind) ([]Status, error) {
	rule, ok := s.rules[kind]
	if !ok {
		return nil, nil
	}
	var rows []row
	err := s.db.WithContext(ctx).Raw(`SELECT kind, subject, attempts, window_end FROM throttles
		WHERE kind = ? AND window_end > ? AND attempts > ? ORDER BY subject`, kind, s.now().UnixMilli(), rule.Max).
		Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("throttle: list %s: %w", kind, err)
	}
	out := make([]Status, len(rows))
	for i, r := range rows {
		out[i] = Status{Kind: kind, Name: r.Subject, Attempts: r.Attempts, Refused: r.Attempts - rule.Max,
			Until: time.UnixMilli(r.WindowEnd), Throttled: true}
	}
	return out, nil
}

// Prune removes every ended window, summarizing its episode if it had
// one. Run it now and then; Reserve also ends its own subject's window.
func (s *Store) Prune(ctx context.Context) error {
	return s.end(ctx, "window_end <= ?", s.now().UnixMilli())
}

type row struct {
	Kind      Kind
	Subject   string
	Attempts  int
	WindowEnd int64
}

// end deletes the rows where says and records the episodes among them,
// in one transaction: a deleted row's refusals are recorded exactly once.
func (s *Store) end(ctx context.Context, where string, args ...any) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		rows, err := deleteReturning(tx, where, args...)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if rule, ok := s.rules[r.Kind]; ok && r.Attempts > rule.Max {
				if _, err := s.audit.Append(ctx, tx, s.event(EventThrottleEnded, r)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("throttle: end windows: %w", err)
	}
	return nil
}

func deleteReturning(tx *gorm.DB, where string, args ...any) ([]row, error) {
	var rows []row
	err := tx.Raw(`DELETE FROM throttles WHERE `+where+` RETURNING kind, subject, attempts, window_end`, args...).
		Scan(&rows).Error
	return rows, err
}

// event describes r's episode for the audit trail: the device by name,
// an address as itself, an account by a prefix of its keyed form.
func (s *Store) event(typ string, r row) audit.Event {
	ev := audit.Event{Type: typ, Actor: audit.ActorSystem, Details: map[string]string{"kind": string(r.Kind)}}
	if rule, ok := s.rules[r.Kind]; ok {
		ev.Details["refused"] = strconv.Itoa(max(r.Attempts-rule.Max, 0))
	}
	switch r.Kind {
	case Device:
		ev.Device = r.Subject
	case Address:
		ev.Details["address"] = r.Subject
	case Account:
		ev.Details["account-key"] = AccountKey(r.Subject)
	}
	return ev
}

// AccountKey shortens a keyed account name for the audit trail and logs:
// enough to tell episodes of one account from another's.
func AccountKey(subject string) string { return subject[:min(len(subject), 16)] }

// AccountSubject is the keyed form under which name's count is kept.
func (s *Store) AccountSubject(name string) string { return s.subject(Account, name) }

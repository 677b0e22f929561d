package credential

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
)

// maxDeviceLength bounds the device name kept with a failure.
const maxDeviceLength = 128

// ValidatePIN checks pin against the policy without storing it: digits
// only, of allowed length, and not easy to guess. The error states the
// rule broken, never the PIN.
func (s *Store) ValidatePIN(pin string) error {
	p := s.policy
	if len(pin) < p.MinPIN || len(pin) > p.MaxPIN || strings.Trim(pin, "0123456789") != "" {
		return fmt.Errorf("%w: it must be %d to %d digits", ErrPINPolicy, p.MinPIN, p.MaxPIN)
	}
	if weakPIN(pin) {
		// No example digits: an example could be the very PIN typed.
		return fmt.Errorf("%w: no repeated digits or groups of digits, no runs up or down, "+
			"no keypad lines or other common PINs", ErrWeakPIN)
	}
	return nil
}

// commonPINs are frequent PINs that the rules of weakPIN do not catch:
// from published PIN frequency studies, and lines on a phone keypad.
var commonPINs = map[string]bool{
	"1004": true, "2000": true, "2001": true, "1122": true, "1984": true, "5683": true,
	"2580": true, "0852": true, "1470": true, "0741": true, "3690": true, "0963": true,
	"1379": true, "9731": true, "1397": true, "7931": true, "1590": true, "0951": true,
	"112233": true, "111222": true, "123321": true, "147258": true, "258369": true,
	"159753": true, "147852": true, "789456": true, "11223344": true, "12344321": true,
}

// weakPIN reports whether pin (digits only) repeats a shorter group (all
// one digit included), is a run up or down (with 9-0 wrapping, as 7890),
// or is a common PIN.
func weakPIN(pin string) bool {
	n := len(pin)
	for unit := 1; unit <= n/2; unit++ {
		if n%unit == 0 && strings.Repeat(pin[:unit], n/unit) == pin {
			return true
		}
	}
	up, down := true, true
	for i := 1; i < n; i++ {
		d := (int(pin[i]) - int(pin[i-1]) + 10) % 10
		up = up && d == 1
		down = down && d == 9
	}
	return up || down || commonPINs[pin]
}

// SetPIN sets user's PIN after ValidatePIN, storing its keyed hash,
// bound to no account ID: its first use binds it (see Account). It also
// clears a lockout: setting a PIN is an admin's or the signed-in user's
// act. rec runs in the same transaction.
func (s *Store) SetPIN(ctx context.Context, user, pin string, rec database.Hook) error {
	return s.SetAccountPIN(ctx, Account{Name: user}, pin, rec)
}

// SetAccountPIN is SetPIN bound to the account a: a PIN of a former
// account of a's name is replaced, never inherited.
func (s *Store) SetAccountPIN(ctx context.Context, a Account, pin string, rec database.Hook) error {
	user := a.Name
	if err := s.ValidatePIN(pin); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, []byte(pin))
	if err != nil {
		return fmt.Errorf("credential: set PIN of %s: %w", user, err)
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Exec(`INSERT INTO credential_pins (user_name, pin_hash, failures, locked_until, account_id, updated_at)
			VALUES (?, ?, 0, 0, ?, ?)
			ON CONFLICT (user_name) DO UPDATE SET pin_hash = excluded.pin_hash, failures = 0,
				locked_until = 0, account_id = excluded.account_id, updated_at = excluded.updated_at`,
			user, hash, a.ID, s.now().UTC()).Error
		if err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM credential_pin_failures WHERE user_name = ?`, user).Error; err != nil {
			return err
		}
		return rec.Run(tx)
	})
	if err != nil {
		return fmt.Errorf("credential: set PIN of %s: %w", user, err)
	}
	return nil
}

// RemovePIN removes user's PIN; ErrNotFound when none is set. rec runs
// in the same transaction when a PIN was removed.
func (s *Store) RemovePIN(ctx context.Context, user string, rec database.Hook) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Exec(`DELETE FROM credential_pins WHERE user_name = ?`, user)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		if err := tx.Exec(`DELETE FROM credential_pin_failures WHERE user_name = ?`, user).Error; err != nil {
			return err
		}
		return rec.Run(tx)
	})
	if err != nil {
		return fmt.Errorf("credential: remove PIN of %s: %w", user, err)
	}
	return nil
}

// CheckPIN checks user's PIN, entered at device. It returns nil, or
// ErrWrongPIN, ErrLocked (even for the right PIN while locked; the
// attempt that locks answers ErrLockedNow, which wraps it) or ErrNoPIN.
//
// Failures are counted per user whatever the device, and each is recorded
// with its device. The MaxFailures-th wrong PIN in a row locks the user
// for LockFor; it still returns ErrWrongPIN, and the next attempt
// ErrLocked. A right PIN resets the count.
//
// Each attempt is counted before its PIN is checked, in one atomic
// UPDATE, so parallel attempts on any number of instances can never get
// more than MaxFailures guesses.
//
// CheckPIN does not look at the account the PIN is bound to: a sign-in
// uses CheckAccountPIN.
func (s *Store) CheckPIN(ctx context.Context, user, pin, device string) error {
	return s.checkPIN(ctx, Account{Name: user}, false, pin, device)
}

// CheckAccountPIN is CheckPIN for the account a, as the directory has it
// now. A PIN bound to another account of a's name (a former one) is
// answered as no PIN at all (ErrNoPIN, in the time of a wrong PIN),
// neither counted nor locking; a PIN bound to nothing is bound to a by
// its first right entry.
func (s *Store) CheckAccountPIN(ctx context.Context, a Account, pin, device string) error {
	return s.checkPIN(ctx, a, true, pin, device)
}

// checkPIN checks a.Name's PIN; bound says to refuse a PIN bound to
// another account than a, and to bind one bound to nothing.
func (s *Store) checkPIN(ctx context.Context, a Account, bound bool, pin, device string) error {
	user := a.Name
	now := s.now()
	var rows []struct {
		Failures int
		PinHash  string
	}
	// locked_until is 0 when not locked; a lock that has expired starts
	// a new count. A PIN of a former account is not counted: it is not
	// this account's.
	mine, args := "", []any{s.policy.MaxFailures, now.Add(s.policy.LockFor).UnixMilli(), user, now.UnixMilli()}
	if bound {
		mine, args = " AND (account_id = '' OR account_id = ?)", append(args, a.ID)
	}
	err := s.db.WithContext(ctx).Raw(`UPDATE credential_pins SET
			failures = CASE WHEN locked_until <> 0 THEN 1 ELSE failures + 1 END,
			locked_until = CASE WHEN (CASE WHEN locked_until <> 0 THEN 1 ELSE failures + 1 END) >= ?
				THEN CAST(? AS BIGINT) ELSE CAST(0 AS BIGINT) END
		WHERE user_name = ? AND locked_until <= ?`+mine+`
		RETURNING failures, pin_hash`, args...).Scan(&rows).Error
	if err != nil {
		return fmt.Errorf("credential: check PIN of %s: %w", user, err)
	}
	if len(rows) == 0 {
		st, err := s.pinStatus(ctx, a, bound)
		if err != nil {
			return err
		}
		if !st.Set {
			// As long as a wrong PIN takes, so that the time of the
			// answer does not tell who has a PIN, nor that a former
			// account of the name had one.
			if err := s.WastePIN(ctx, pin); err != nil {
				return fmt.Errorf("credential: check PIN of %s: %w", user, err)
			}
			return fmt.Errorf("credential: check PIN of %s: %w", user, ErrNoPIN)
		}
		return fmt.Errorf("credential: check PIN of %s: %w", user, ErrLocked)
	}
	ok, rehash, err := s.hasher.Verify(ctx, rows[0].PinHash, []byte(pin))
	if err != nil {
		// Nothing was checked (busy, or a hash that does not parse): the
		// attempt, and a lock it set, are given back, or a flood of other
		// requests would lock out a user typing the right PIN.
		gerr := s.db.WithContext(ctx).Exec(`UPDATE credential_pins SET failures = failures - 1,
				locked_until = CASE WHEN failures - 1 < ? THEN CAST(0 AS BIGINT) ELSE locked_until END
			WHERE user_name = ? AND failures > 0`, s.policy.MaxFailures, user).Error
		return fmt.Errorf("credential: check PIN of %s: %w", user, errors.Join(err, gerr))
	}
	if ok {
		if rehash {
			if err := s.upgradePIN(ctx, user, rows[0].PinHash, pin); err != nil {
				return fmt.Errorf("credential: check PIN of %s: %w", user, err)
			}
		}
		if err := s.reset(ctx, user); err != nil {
			return fmt.Errorf("credential: check PIN of %s: %w", user, err)
		}
		if bound && a.ID != "" {
			// The first right PIN of one enrolled before PINs were
			// bound: from now on it is this account's alone.
			if err := s.db.WithContext(ctx).Exec(`UPDATE credential_pins SET account_id = ?
				WHERE user_name = ? AND account_id = ''`, a.ID, user).Error; err != nil {
				return fmt.Errorf("credential: check PIN of %s: bind: %w", user, err)
			}
		}
		return nil
	}
	if len(device) > maxDeviceLength {
		device = device[:maxDeviceLength]
	}
	err = s.db.WithContext(ctx).Exec(`INSERT INTO credential_pin_failures (user_name, device, failed_at) VALUES (?, ?, ?)`,
		user, device, now.UnixMilli()).Error
	if err != nil {
		return fmt.Errorf("credential: check PIN of %s: record failure: %w", user, err)
	}
	if rows[0].Failures >= s.policy.MaxFailures {
		// This attempt locked the account: say so now, not at the next
		// attempt, so the person at the printer knows to stop.
		return fmt.Errorf("credential: check PIN of %s: %w", user, ErrLockedNow)
	}
	return fmt.Errorf("credential: check PIN of %s: %w", user, ErrWrongPIN)
}

// WastePIN spends the time and memory of one PIN check on nothing, for
// callers answering a user who does not exist, so that the time of the
// answer does not tell who does.
func (s *Store) WastePIN(ctx context.Context, pin string) error {
	return s.hasher.Waste(ctx, []byte(pin))
}

// Unlock lifts user's lockout and clears the failure count, for an admin;
// ErrNotFound when the user has no PIN. rec runs in the same transaction
// when the user has one.
func (s *Store) Unlock(ctx context.Context, user string, rec database.Hook) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		n, err := resetTx(tx, user)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return rec.Run(tx)
	})
	if err != nil {
		return fmt.Errorf("credential: unlock %s: %w", user, err)
	}
	return nil
}

// reset clears user's failure count, lock and failure records.
func (s *Store) reset(ctx context.Context, user string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, err := resetTx(tx, user)
		return err
	})
}

func resetTx(tx *gorm.DB, user string) (int64, error) {
	res := tx.Exec(`UPDATE credential_pins SET failures = 0, locked_until = 0 WHERE user_name = ?`, user)
	if res.Error != nil {
		return 0, res.Error
	}
	return res.RowsAffected, tx.Exec(`DELETE FROM credential_pin_failures WHERE user_name = ?`, user).Error
}

// PINStatus is the state of a user's PIN.
type PINStatus struct {
	// Set reports whether the user has a PIN.
	Set bool
	// Failures counts wrong PINs since the last right one, unlock or
	// expired lock.
	Failures int
	// LockedUntil is when the lock ends; zero when not locked.
	LockedUntil time.Time
}

// Locked reports whether the user is locked out.
func (st PINStatus) Locked() bool { return !st.LockedUntil.IsZero() }

// PINStatus returns the state of user's PIN; a user without one has a
// zero PINStatus and no error.
func (s *Store) PINStatus(ctx context.Context, user string) (PINStatus, error) {
	return s.pinStatus(ctx, Account{Name: user}, false)
}

// AccountPINStatus is PINStatus for the account a: a PIN bound to
// another account of a's name is none of a's, and neither is its lock.
func (s *Store) AccountPINStatus(ctx context.Context, a Account) (PINStatus, error) {
	return s.pinStatus(ctx, a, true)
}

func (s *Store) pinStatus(ctx context.Context, a Account, bound bool) (PINStatus, error) {
	user := a.Name
	var rows []struct {
		Failures    int
		LockedUntil int64
		AccountID   string
	}
	err := s.db.WithContext(ctx).Raw(`SELECT failures, locked_until, account_id FROM credential_pins WHERE user_name = ?`, user).
		Scan(&rows).Error
	if err != nil {
		return PINStatus{}, fmt.Errorf("credential: PIN status of %s: %w", user, err)
	}
	if len(rows) == 0 || bound && !a.owns(rows[0].AccountID) {
		return PINStatus{}, nil
	}
	st := PINStatus{Set: true, Failures: rows[0].Failures}
	if until := time.UnixMilli(rows[0].LockedUntil); rows[0].LockedUntil != 0 && until.After(s.now()) {
		st.LockedUntil = until
	} else if rows[0].LockedUntil != 0 {
		st.Failures = 0 // the lock expired: the next attempt starts afresh
	}
	return st, nil
}

// Failure is one wrong PIN.
type Failure struct {
	Device string
	At     time.Time
}

// Failures returns user's wrong PINs since the last right one or unlock,
// oldest first, for the audit trail and the admin console.
func (s *Store) Failures(ctx context.Context, user string) ([]Failure, error) {
	var rows []struct {
		Device   string
		FailedAt int64
	}
	err := s.db.WithContext(ctx).Raw(`SELECT device, failed_at FROM credential_pin_failures
		WHERE user_name = ? ORDER BY id`, user).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("credential: failures of %s: %w", user, err)
	}
	out := make([]Failure, len(rows))
	for i, r := range rows {
		out[i] = Failure{Device: r.Device, At: time.UnixMilli(r.FailedAt)}
	}
	return out, nil
}

// DeviceFailures counts the wrong PINs recorded at device since the given
// time, over all users whose count has not been reset since: a device
// trying many users' PINs shows here though no one user is locked.
func (s *Store) DeviceFailures(ctx context.Context, device string, since time.Time) (int, error) {
	var n int64
	err := s.db.WithContext(ctx).Raw(`SELECT count(*) FROM credential_pin_failures WHERE device = ? AND failed_at >= ?`,
		device, since.UnixMilli()).Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("credential: failures at device %s: %w", device, err)
	}
	return int(n), nil
}

// PruneFailures deletes the failure records older than before, whoever
// they belong to; counts and locks are not touched. Records are otherwise
// kept until the user's next right PIN or unlock, so a user attacked for
// weeks would gather them without end.
func (s *Store) PruneFailures(ctx context.Context, before time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Exec(`DELETE FROM credential_pin_failures WHERE failed_at < ?`, before.UnixMilli())
	if res.Error != nil {
		return 0, fmt.Errorf("credential: prune failures: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// upgradePIN replaces user's plain hash old, just matched by pin, with a
// keyed one. Should the hasher be busy, the upgrade waits for the next
// right PIN; a PIN changed meanwhile is left alone.
func (s *Store) upgradePIN(ctx context.Context, user, old, pin string) error {
	hash, err := s.hasher.Hash(ctx, []byte(pin))
	if errors.Is(err, secret.ErrBusy) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.db.WithContext(ctx).Exec(`UPDATE credential_pins SET pin_hash = ? WHERE user_name = ? AND pin_hash = ?`,
		hash, user, old).Error
}

// HashJobPIN returns the keyed hash of a job's PIN (IPP job-password), to
// be kept with the job.
func (s *Store) HashJobPIN(ctx context.Context, pin []byte) (string, error) {
	h, err := s.hasher.Hash(ctx, pin)
	if err != nil {
		return "", fmt.Errorf("credential: hash job PIN: %w", err)
	}
	return h, nil
}

// VerifyJobPIN reports whether pin matches hash, a job's PIN hash; an
// empty or malformed hash matches nothing. When hash is of the plain form
// stored before hashes were keyed and pin matches, rehash is its keyed
// replacement, for the caller to store in place of hash (it is "" if the
// hasher was too busy to make one: the next release will). An error
// (wrapping secret.ErrBusy when too many checks run at once) means the PIN
// was not checked.
func (s *Store) VerifyJobPIN(ctx context.Context, hash, pin string) (ok bool, rehash string, err error) {
	if hash == "" {
		return false, "", nil
	}
	ok, upgrade, err := s.hasher.Verify(ctx, hash, []byte(pin))
	if errors.Is(err, secret.ErrMalformed) {
		return false, "", nil
	}
	if err != nil {
		return false, "", fmt.Errorf("credential: check job PIN: %w", err)
	}
	if upgrade {
		rehash, _ = s.hasher.Hash(ctx, []byte(pin))
	}
	return ok, rehash, nil
}

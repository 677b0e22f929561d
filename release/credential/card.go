package credential

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
)

// UID lengths in bytes: MIFARE UIDs are 4, 7 or 10 bytes, a FeliCa IDm 8.
const (
	MinUIDBytes = 4
	MaxUIDBytes = 10
)

// NormalizeUID returns the canonical form of a card UID: upper-case hex
// without separators. Case and the separators ':', '-' and ' ' are
// ignored, as is surrounding white space (a keyboard-wedge reader's
// Enter), so "04:a1:b2:c3", "04A1B2C3" and "04 a1 b2 c3" are one card.
// Anything else, an odd number of digits or a length outside 4 to 10
// bytes is ErrBadUID.
func NormalizeUID(s string) (string, error) {
	s = strings.ToUpper(strings.NewReplacer(":", "", "-", "", " ", "").Replace(strings.TrimSpace(s)))
	if strings.Trim(s, "0123456789ABCDEF") != "" || len(s)%2 != 0 || len(s) < 2*MinUIDBytes || len(s) > 2*MaxUIDBytes {
		return "", ErrBadUID
	}
	return s, nil
}

// Card is an enrolled card as shown to people. The UID itself is not
// kept, so it cannot be shown; see Fingerprint.
type Card struct {
	// Fingerprint tells a user's cards apart: the first 8 hex digits of
	// the card's keyed MAC. It says nothing about the UID to anyone
	// without the key, unlike the UID's last digits would: those narrow
	// down a 4-byte UID to 65536 guesses for a card emulator.
	Fingerprint string
	AddedAt     time.Time
}

// fingerprintLen is the length of Card.Fingerprint.
const fingerprintLen = 8

// macPrefix is how secret.MAC marks its values.
const macPrefix = "hmac-sha256:"

// cardMAC returns the stored form of a normalised UID. The "card:"
// prefix keeps these MACs apart from any other use of the same key.
func (s *Store) cardMAC(uid string) string {
	return secret.MAC(s.key, "card:"+uid)
}

// AddCard enrolls the card uid to user, bound to no account ID: its
// first use binds it (see Account). Enrolling a card the user already
// has does nothing; a card enrolled to someone else is ErrCardInUse. rec
// runs in the same transaction when the card is newly enrolled.
func (s *Store) AddCard(ctx context.Context, user, uid string, rec database.Hook) error {
	return s.EnrolCard(ctx, Account{Name: user}, uid, rec)
}

// EnrolCard enrolls the card uid to the account a, bound to a.ID.
// Enrolling a card a already has does nothing (one enrolled before cards
// were bound is bound to a now). A card of someone else is ErrCardInUse,
// and so is one of a former account of a's name, bound to another ID:
// remove it first (RemoveCardByFingerprint). rec runs in the same
// transaction when the card is newly enrolled.
func (s *Store) EnrolCard(ctx context.Context, a Account, uid string, rec database.Hook) error {
	user := a.Name
	norm, err := NormalizeUID(uid)
	if err != nil {
		return fmt.Errorf("credential: add card for %s: %w", user, err)
	}
	mac := s.cardMAC(norm)
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Exec(`INSERT INTO credential_cards (mac, user_name, account_id, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (mac) DO NOTHING`, mac, user, a.ID, s.now().UTC())
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			return rec.Run(tx)
		}
		var owners []struct{ UserName, AccountID string }
		if err := tx.Raw(`SELECT user_name, account_id FROM credential_cards WHERE mac = ?`, mac).Scan(&owners).Error; err != nil {
			return err
		}
		switch {
		case len(owners) != 1 || owners[0].UserName != user:
			return ErrCardInUse
		case a.ID == "" || owners[0].AccountID == a.ID:
			return nil
		case owners[0].AccountID == "":
			return bindCard(tx, mac, a)
		}
		return fmt.Errorf("%w (a former account of that name)", ErrCardInUse)
	})
	if err != nil {
		return fmt.Errorf("credential: add card for %s: %w", user, err)
	}
	return nil
}

// RemoveCard removes the card uid from user; ErrNotFound when user has no
// such card. rec runs in the same transaction when a card was removed.
func (s *Store) RemoveCard(ctx context.Context, user, uid string, rec database.Hook) error {
	norm, err := NormalizeUID(uid)
	if err != nil {
		return fmt.Errorf("credential: remove card of %s: %w", user, err)
	}
	return s.removeMAC(ctx, Account{Name: user}, false, s.cardMAC(norm), rec)
}

// RemoveCardByFingerprint removes user's card with the given
// Card.Fingerprint, for a lost card whose UID nobody can read any more;
// ErrNotFound when none matches. rec runs in the same transaction when a
// card was removed.
func (s *Store) RemoveCardByFingerprint(ctx context.Context, user, fingerprint string, rec database.Hook) error {
	return s.removeByFingerprint(ctx, Account{Name: user}, false, fingerprint, rec)
}

// RemoveAccountCardByFingerprint is RemoveCardByFingerprint for the
// account a: a card bound to another account of a's name is not found.
func (s *Store) RemoveAccountCardByFingerprint(ctx context.Context, a Account, fingerprint string, rec database.Hook) error {
	return s.removeByFingerprint(ctx, a, true, fingerprint, rec)
}

func (s *Store) removeByFingerprint(ctx context.Context, a Account, bound bool, fingerprint string, rec database.Hook) error {
	user := a.Name
	fingerprint = strings.ToLower(strings.TrimSpace(fingerprint))
	if len(fingerprint) != fingerprintLen {
		return fmt.Errorf("credential: remove card of %s: %w", user, ErrNotFound)
	}
	rows, err := s.cardRows(ctx, a, bound)
	if err != nil {
		return fmt.Errorf("credential: remove card of %s: %w", user, err)
	}
	for _, r := range rows {
		if fingerprintOf(r.Mac) == fingerprint {
			return s.removeMAC(ctx, a, bound, r.Mac, rec)
		}
	}
	return fmt.Errorf("credential: remove card of %s: %w", user, ErrNotFound)
}

// removeMAC removes the card mac of a's name; when bound, only while a
// owns it (Account.owns), checked by the DELETE itself: a card bound to
// another account between the caller's read and now stays.
func (s *Store) removeMAC(ctx context.Context, a Account, bound bool, mac string, rec database.Hook) error {
	user := a.Name
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q, args := `DELETE FROM credential_cards WHERE mac = ? AND user_name = ?`, []any{mac, user}
		if bound {
			q, args = q+` AND account_id IN ('', ?)`, append(args, a.ID)
		}
		res := tx.Exec(q, args...)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return rec.Run(tx)
	})
	if err != nil {
		return fmt.Errorf("credential: remove card of %s: %w", user, err)
	}
	return nil
}

// Fingerprint returns the Card.Fingerprint the card uid has, or shall
// have once enrolled.
func (s *Store) Fingerprint(uid string) (string, error) {
	norm, err := NormalizeUID(uid)
	if err != nil {
		return "", fmt.Errorf("credential: fingerprint: %w", err)
	}
	return fingerprintOf(s.cardMAC(norm)), nil
}

func fingerprintOf(mac string) string {
	hex := strings.TrimPrefix(mac, macPrefix)
	return hex[:min(fingerprintLen, len(hex))]
}

// Cards returns user's cards, oldest first, whichever account of that
// name they are bound to (an administrator's view).
func (s *Store) Cards(ctx context.Context, user string) ([]Card, error) {
	return s.cards(ctx, Account{Name: user}, false)
}

// AccountCards is Cards for the account a: a card bound to another
// account of a's name (a former holder of the name) is none of a's.
func (s *Store) AccountCards(ctx context.Context, a Account) ([]Card, error) {
	return s.cards(ctx, a, true)
}

func (s *Store) cards(ctx context.Context, a Account, bound bool) ([]Card, error) {
	rows, err := s.cardRows(ctx, a, bound)
	if err != nil {
		return nil, fmt.Errorf("credential: cards of %s: %w", a.Name, err)
	}
	cards := make([]Card, len(rows))
	for i, r := range rows {
		cards[i] = Card{Fingerprint: fingerprintOf(r.Mac), AddedAt: r.CreatedAt}
	}
	return cards, nil
}

// cardRow is one card of credential_cards as the listings read it.
type cardRow struct {
	Mac       string
	AccountID string
	CreatedAt time.Time
}

// cardRows returns the cards enrolled to a's name, oldest first; when
// bound, only those a owns (Account.owns).
func (s *Store) cardRows(ctx context.Context, a Account, bound bool) ([]cardRow, error) {
	var rows []cardRow
	if err := s.db.WithContext(ctx).Raw(`SELECT mac, account_id, created_at FROM credential_cards
		WHERE user_name = ? ORDER BY created_at, mac`, a.Name).Scan(&rows).Error; err != nil {
		return nil, err
	}
	if bound {
		rows = slices.DeleteFunc(rows, func(r cardRow) bool { return !a.owns(r.AccountID) })
	}
	return rows, nil
}

// LookupCard returns the user the card uid is enrolled to: one index
// probe on its MAC. ErrNotFound for an unknown card, ErrBadUID for a
// malformed UID. It says nothing of the account the card is bound to:
// signing in takes CardHolder.
func (s *Store) LookupCard(ctx context.Context, uid string) (string, error) {
	a, err := s.CardHolder(ctx, uid)
	return a.Name, err
}

// CardHolder returns the account the card uid is enrolled to, as stored:
// its ID is "" for a card not yet bound. The caller compares it with the
// account the directory has under that name now, and refuses the card
// as unknown when they differ; a card bound to nothing it binds with
// BindCard once the sign-in succeeds. ErrNotFound for an unknown card,
// ErrBadUID for a malformed UID.
func (s *Store) CardHolder(ctx context.Context, uid string) (Account, error) {
	norm, err := NormalizeUID(uid)
	if err != nil {
		return Account{}, fmt.Errorf("credential: look up card: %w", err)
	}
	var rows []struct{ UserName, AccountID string }
	if err := s.db.WithContext(ctx).Raw(`SELECT user_name, account_id FROM credential_cards WHERE mac = ?`,
		s.cardMAC(norm)).Scan(&rows).Error; err != nil {
		return Account{}, fmt.Errorf("credential: look up card: %w", err)
	}
	if len(rows) == 0 {
		return Account{}, fmt.Errorf("credential: look up card: %w", ErrNotFound)
	}
	return Account{Name: rows[0].UserName, ID: rows[0].AccountID}, nil
}

// BindCard binds the card uid, enrolled to a.Name before cards were
// bound, to a.ID, at its first successful use by a. A card already bound,
// or another user's, is left as it is; so is every card when a.ID is "".
func (s *Store) BindCard(ctx context.Context, uid string, a Account) error {
	norm, err := NormalizeUID(uid)
	if err != nil {
		return fmt.Errorf("credential: bind card of %s: %w", a.Name, err)
	}
	if err := bindCard(s.db.WithContext(ctx), s.cardMAC(norm), a); err != nil {
		return fmt.Errorf("credential: bind card of %s: %w", a.Name, err)
	}
	return nil
}

// bindCard binds the card mac of a.Name to a.ID if it is bound to nothing.
func bindCard(tx *gorm.DB, mac string, a Account) error {
	if a.ID == "" {
		return nil
	}
	return tx.Exec(`UPDATE credential_cards SET account_id = ? WHERE mac = ? AND user_name = ? AND account_id = ''`,
		a.ID, mac, a.Name).Error
}

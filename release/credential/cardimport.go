package credential

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Enrolment is one card of an import: its user and its UID (any form
// NormalizeUID reads).
type Enrolment struct {
	User, UID string
	// AccountID is the user's account ID (Account.ID), which the card
	// is bound to; "" leaves it to be bound at its first use.
	AccountID string
}

// ImportResult says what ImportCards did.
type ImportResult struct {
	// Added counts the cards newly enrolled, Already those enrolled to
	// the same user before (or twice in the import).
	Added, Already int
	// Refused maps the index of each refused enrolment to why: ErrBadUID,
	// or ErrCardInUse for a card of another user, in the database or
	// earlier in the import.
	Refused map[int]error
}

// ErrImportRefused is an import refused whole because some of its cards
// were: ImportResult.Refused says which and why.
var ErrImportRefused = errors.New("credential: import refused")

// ErrImportRaced is an import that found a card enrolled meanwhile by
// someone else; nothing of it was written, and running it again tells
// which card.
var ErrImportRaced = errors.New("credential: a card was enrolled during the import; run it again")

// importChunk bounds the rows of one statement: 4 parameters a row stay
// under SQLite's oldest limit of 999, and the IN lists likewise.
const importChunk = 240

// ImportOptions say how ImportCards treats refused cards and records the
// import.
type ImportOptions struct {
	// Partial enrols the cards that are not refused; without it one
	// refused card refuses the whole import (ErrImportRefused).
	Partial bool
	// CheckOnly writes nothing: the result says what an import would do.
	CheckOnly bool
	// Record runs in the import's transaction, with the result, when at
	// least one card was added: the import is one administrative action
	// however many cards it holds.
	Record func(tx *gorm.DB, r ImportResult) error
}

// errCheckOnly rolls back an import that was only a check.
var errCheckOnly = errors.New("credential: import only checked")

// ImportCards enrols cards in one transaction, as opts say.
func (s *Store) ImportCards(ctx context.Context, cards []Enrolment, opts ImportOptions) (ImportResult, error) {
	res := ImportResult{Refused: map[int]error{}}
	macs := make([]string, len(cards))
	first := map[string]int{} // MAC → index of its first enrolment
	for i, c := range cards {
		norm, err := NormalizeUID(c.UID)
		if err != nil {
			res.Refused[i] = err
			continue
		}
		macs[i] = s.cardMAC(norm)
		if j, ok := first[macs[i]]; ok {
			if cards[j].User != c.User {
				res.Refused[i] = fmt.Errorf("%w (%s, earlier in the import)", ErrCardInUse, cards[j].User)
			}
			macs[i] = "" // enrolled by its first line
			continue
		}
		first[macs[i]] = i
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		owners, err := cardOwners(tx, macs)
		if err != nil {
			return err
		}
		var add, bind []int
		for i, mac := range macs {
			a := Account{Name: cards[i].User, ID: cards[i].AccountID}
			switch owner, ok := owners[mac]; {
			case mac == "" && res.Refused[i] == nil:
				res.Already++
			case mac == "":
			case ok && owner.Name == a.Name && (a.ID == "" || owner.ID == a.ID):
				res.Already++
			case ok && owner.Name == a.Name && owner.ID == "":
				res.Already++
				bind = append(bind, i)
			case ok && owner.Name == a.Name:
				res.Refused[i] = fmt.Errorf("%w (a former account of that name)", ErrCardInUse)
			case ok:
				res.Refused[i] = ErrCardInUse
			default:
				add = append(add, i)
			}
		}
		res.Added = len(add)
		switch {
		case len(res.Refused) > 0 && !opts.Partial:
			res.Added = 0
			return ErrImportRefused
		case opts.CheckOnly:
			return errCheckOnly
		}
		for _, i := range bind {
			if err := bindCard(tx, macs[i], Account{Name: cards[i].User, ID: cards[i].AccountID}); err != nil {
				return err
			}
		}
		now := s.now().UTC()
		for chunk := range slices.Chunk(add, importChunk) {
			if err := s.insertCards(tx, cards, macs, chunk, now); err != nil {
				return err
			}
		}
		if res.Added == 0 || opts.Record == nil {
			return nil
		}
		return opts.Record(tx, res)
	})
	if errors.Is(err, errCheckOnly) {
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("credential: import cards: %w", err)
	}
	return res, nil
}

// cardOwners returns the accounts of the cards among macs ("" skipped).
func cardOwners(tx *gorm.DB, macs []string) (map[string]Account, error) {
	var want []string
	for _, m := range macs {
		if m != "" {
			want = append(want, m)
		}
	}
	owners := map[string]Account{}
	for chunk := range slices.Chunk(want, importChunk) {
		var rows []struct{ Mac, UserName, AccountID string }
		if err := tx.Raw(`SELECT mac, user_name, account_id FROM credential_cards WHERE mac IN ?`, chunk).
			Scan(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			owners[r.Mac] = Account{Name: r.UserName, ID: r.AccountID}
		}
	}
	return owners, nil
}

// insertCards enrols the cards at the indexes idx in one statement. A
// card another transaction enrolled since cardOwners looked is
// ErrImportRaced.
func (s *Store) insertCards(tx *gorm.DB, cards []Enrolment, macs []string, idx []int, now time.Time) error {
	values := make([]string, len(idx))
	args := make([]any, 0, 4*len(idx))
	for k, i := range idx {
		values[k] = "(?, ?, ?, ?)"
		args = append(args, macs[i], cards[i].User, cards[i].AccountID, now)
	}
	r := tx.Exec(`INSERT INTO credential_cards (mac, user_name, account_id, created_at) VALUES `+strings.Join(values, ", ")+
		` ON CONFLICT (mac) DO NOTHING`, args...)
	if r.Error != nil {
		return r.Error
	}
	if r.RowsAffected != int64(len(idx)) {
		return ErrImportRaced
	}
	return nil
}

// OwnedCard is an enrolled card with its user.
type OwnedCard struct {
	User string
	Card
}

// AllCards returns every enrolled card, by user and then oldest first.
func (s *Store) AllCards(ctx context.Context) ([]OwnedCard, error) {
	var rows []struct {
		Mac, UserName string
		CreatedAt     time.Time
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT mac, user_name, created_at FROM credential_cards
		ORDER BY user_name, created_at, mac`).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("credential: cards: %w", err)
	}
	out := make([]OwnedCard, len(rows))
	for i, r := range rows {
		out[i] = OwnedCard{User: r.UserName, Card: Card{Fingerprint: fingerprintOf(r.Mac), AddedAt: r.CreatedAt}}
	}
	return out, nil
}

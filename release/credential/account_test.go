package credential

import (
	"errors"
	"slices"
	"testing"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
	"github.com/printgate/printgate/internal/testenv"
)

// TestFormerAccountPIN: a PIN bound to one account is, to another
// account of the same name (the leaver's name given to a new hire), no
// PIN at all: refused as ErrNoPIN after a hash's worth of work, neither
// counted nor locking, its lock none of the new account's. A PIN set
// before PINs were bound is bound by its first right entry.
func TestFormerAccountPIN(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		inner, err := secret.NewHasher(testKey, testParams, nil)
		if err != nil {
			t.Fatal(err)
		}
		h := &testenv.CountingHasher{Hasher: inner}
		s, err := New(db, testKey, Policy{MaxFailures: 2}, testParams, Options{Hasher: h})
		if err != nil {
			t.Fatal(err)
		}
		leaver, newHire := Account{Name: "jsmith", ID: "uuid-leaver"}, Account{Name: "jsmith", ID: "uuid-new"}
		if err := s.SetAccountPIN(ctx, leaver, "4863", nil); err != nil {
			t.Fatal(err)
		}
		if err := s.CheckAccountPIN(ctx, leaver, "4863", "mfp"); err != nil {
			t.Fatalf("the leaver's own PIN: %v", err)
		}
		before := h.Wasted.Load()
		if err := s.CheckAccountPIN(ctx, newHire, "4863", "mfp"); !errors.Is(err, ErrNoPIN) {
			t.Fatalf("the leaver's PIN for the new hire = %v, want ErrNoPIN", err)
		}
		if n := h.Wasted.Load() - before; n != 1 {
			t.Errorf("refusing the former account's PIN hashed %d times, want 1 (as a wrong PIN does)", n)
		}
		if st, err := s.PINStatus(ctx, "jsmith"); err != nil || st.Failures != 0 {
			t.Errorf("the refusal was counted: %+v, %v", st, err)
		}
		if st, err := s.AccountPINStatus(ctx, newHire); err != nil || st.Set {
			t.Errorf("the new hire's PIN status %+v, %v; want none", st, err)
		}

		// The leaver's lock is not the new hire's.
		for range 2 {
			_ = s.CheckAccountPIN(ctx, leaver, "9999", "mfp")
		}
		if st, _ := s.AccountPINStatus(ctx, leaver); !st.Locked() {
			t.Fatal("two wrong PINs did not lock the leaver")
		}
		if st, err := s.AccountPINStatus(ctx, newHire); err != nil || st.Locked() {
			t.Errorf("the new hire is locked by the leaver's lock: %+v, %v", st, err)
		}
		if err := s.CheckAccountPIN(ctx, newHire, "4863", "mfp"); !errors.Is(err, ErrNoPIN) {
			t.Errorf("the locked former PIN for the new hire = %v, want ErrNoPIN", err)
		}

		// A PIN the new hire sets replaces the former one.
		if err := s.SetAccountPIN(ctx, newHire, "5927", nil); err != nil {
			t.Fatal(err)
		}
		if err := s.CheckAccountPIN(ctx, newHire, "5927", "mfp"); err != nil {
			t.Errorf("the new hire's own PIN: %v", err)
		}
		if err := s.CheckAccountPIN(ctx, leaver, "5927", "mfp"); !errors.Is(err, ErrNoPIN) {
			t.Errorf("the new hire's PIN for the leaver = %v, want ErrNoPIN", err)
		}

		// Set without an account (before PINs were bound): the first
		// right entry binds it, a wrong one does not.
		if err := s.SetPIN(ctx, "hanako", "2468", nil); err != nil {
			t.Fatal(err)
		}
		first, other := Account{Name: "hanako", ID: "uuid-1"}, Account{Name: "hanako", ID: "uuid-2"}
		if err := s.CheckAccountPIN(ctx, first, "1357", "mfp"); !errors.Is(err, ErrWrongPIN) {
			t.Fatalf("wrong PIN = %v", err)
		}
		if err := s.CheckAccountPIN(ctx, other, "2468", "mfp"); err != nil {
			t.Fatalf("an unbound PIN, right: %v", err)
		}
		if err := s.CheckAccountPIN(ctx, first, "2468", "mfp"); !errors.Is(err, ErrNoPIN) {
			t.Errorf("a PIN bound by its first use, for another account = %v, want ErrNoPIN", err)
		}
		// CheckPIN, for callers that know no account, still checks it.
		if err := s.CheckPIN(ctx, "hanako", "2468", "mfp"); err != nil {
			t.Errorf("CheckPIN: %v", err)
		}
	})
}

// TestFormerAccountCard: a card bound to one account is another
// account's of the same name only if enrolled anew, which is refused
// while the former account's card is there; a card enrolled before cards
// were bound is bound by BindCard, by the enrolment of its user, or by
// an import.
func TestFormerAccountCard(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		s := newStore(t, db, Policy{}, nil)
		leaver, newHire := Account{Name: "jsmith", ID: "uuid-leaver"}, Account{Name: "jsmith", ID: "uuid-new"}
		if err := s.EnrolCard(ctx, leaver, "04:a1:b2:c3", nil); err != nil {
			t.Fatal(err)
		}
		if a, err := s.CardHolder(ctx, "04A1B2C3"); err != nil || a != leaver {
			t.Fatalf("CardHolder = %+v, %v; want %+v", a, err, leaver)
		}
		if err := s.EnrolCard(ctx, leaver, "04A1B2C3", nil); err != nil {
			t.Errorf("enrolling the leaver's card again: %v", err)
		}
		if err := s.EnrolCard(ctx, newHire, "04A1B2C3", nil); !errors.Is(err, ErrCardInUse) {
			t.Errorf("the leaver's card for the new hire = %v, want ErrCardInUse", err)
		}
		if err := s.BindCard(ctx, "04A1B2C3", newHire); err != nil {
			t.Fatal(err)
		}
		if a, _ := s.CardHolder(ctx, "04A1B2C3"); a != leaver {
			t.Errorf("BindCard rebound a bound card to %+v", a)
		}

		// Enrolled without an account: bound by its first use.
		if err := s.AddCard(ctx, "hanako", "0455AA66BB77CC", nil); err != nil {
			t.Fatal(err)
		}
		if a, _ := s.CardHolder(ctx, "0455AA66BB77CC"); a != (Account{Name: "hanako"}) {
			t.Fatalf("CardHolder of an unbound card = %+v", a)
		}
		hanako := Account{Name: "hanako", ID: "uuid-h"}
		if err := s.BindCard(ctx, "0455AA66BB77CC", Account{Name: "someone", ID: "uuid-s"}); err != nil {
			t.Fatal(err)
		}
		if err := s.BindCard(ctx, "0455AA66BB77CC", hanako); err != nil {
			t.Fatal(err)
		}
		if a, _ := s.CardHolder(ctx, "0455AA66BB77CC"); a != hanako {
			t.Errorf("CardHolder after BindCard = %+v, want %+v", a, hanako)
		}

		// Enrolling it again, or importing it, for its user binds it.
		if err := s.AddCard(ctx, "taro", "0114B3A4D51C2E0F", nil); err != nil {
			t.Fatal(err)
		}
		taro := Account{Name: "taro", ID: "uuid-t"}
		if err := s.EnrolCard(ctx, taro, "0114B3A4D51C2E0F", nil); err != nil {
			t.Fatal(err)
		}
		if a, _ := s.CardHolder(ctx, "0114B3A4D51C2E0F"); a != taro {
			t.Errorf("CardHolder after enrolling again = %+v, want %+v", a, taro)
		}
		if err := s.AddCard(ctx, "ken", "CAFEF00D", nil); err != nil {
			t.Fatal(err)
		}
		var recorded int
		r, err := s.ImportCards(ctx, []Enrolment{
			{User: "ken", UID: "CAFEF00D", AccountID: "uuid-k"},           // ken's, bound now
			{User: "jsmith", UID: "04A1B2C3", AccountID: newHire.ID},      // the leaver's
			{User: "jsmith", UID: "0A0B0C0D", AccountID: newHire.ID},      // new
			{User: "taro", UID: "0114B3A4D51C2E0F", AccountID: "uuid-t"},  // taro's already
			{User: "hanako", UID: "0455AA66BB77CC", AccountID: "uuid-h2"}, // a former hanako's
			{User: "ken", UID: "0A0B0C0E", AccountID: "uuid-k"},           // new
			{User: "ken", UID: "0A0B0C0F"},                                // new, unbound
		}, ImportOptions{Partial: true, Record: func(*gorm.DB, ImportResult) error { recorded++; return nil }})
		if err != nil {
			t.Fatal(err)
		}
		if r.Added != 3 || r.Already != 2 || len(r.Refused) != 2 || !errors.Is(r.Refused[1], ErrCardInUse) ||
			!errors.Is(r.Refused[4], ErrCardInUse) || recorded != 1 {
			t.Errorf("import: %+v (recorded %d), want 3 added, 2 already, the former accounts' 2 refused", r, recorded)
		}
		for uid, want := range map[string]Account{"CAFEF00D": {"ken", "uuid-k"}, "0A0B0C0D": newHire,
			"0A0B0C0F": {Name: "ken"}, "04A1B2C3": leaver, "0455AA66BB77CC": hanako} {
			if a, err := s.CardHolder(ctx, uid); err != nil || a != want {
				t.Errorf("CardHolder(%s) after the import = %+v, %v; want %+v", uid, a, err, want)
			}
		}
	})
}

// TestAccountCards: the cards of an account are those of its name bound
// to it or to nobody yet; a card of a former account of the name is none
// of its cards, cannot be removed as one, not even by its MAC between a
// read and the DELETE (removeMAC checks the binding itself), while the
// name's listing for administrators keeps every card.
func TestAccountCards(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		s := newStore(t, db, Policy{}, nil)
		leaver, newHire := Account{Name: "jsmith", ID: "uuid-leaver"}, Account{Name: "jsmith", ID: "uuid-new"}
		if err := s.EnrolCard(ctx, leaver, "04A1B2C3", nil); err != nil {
			t.Fatal(err)
		}
		if err := s.AddCard(ctx, "jsmith", "04D1E2F3", nil); err != nil { // bound by its first use
			t.Fatal(err)
		}
		former, err := s.Fingerprint("04A1B2C3")
		if err != nil {
			t.Fatal(err)
		}
		unbound, _ := s.Fingerprint("04D1E2F3")
		fps := func(cards []Card, err error) []string {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, c := range cards {
				out = append(out, c.Fingerprint)
			}
			slices.Sort(out)
			return out
		}
		if got := fps(s.AccountCards(ctx, newHire)); !slices.Equal(got, []string{unbound}) {
			t.Errorf("the new hire's cards %v, want only the unbound one %v", got, unbound)
		}
		if got, want := fps(s.Cards(ctx, "jsmith")), fps([]Card{{Fingerprint: former}, {Fingerprint: unbound}}, nil); !slices.Equal(got, want) {
			t.Errorf("the name's cards %v, want %v", got, want)
		}
		if err := s.RemoveAccountCardByFingerprint(ctx, newHire, former, nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("the new hire removing the leaver's card: %v, want ErrNotFound", err)
		}
		norm, _ := NormalizeUID("04A1B2C3")
		if err := s.removeMAC(ctx, newHire, true, s.cardMAC(norm), nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("removeMAC of the leaver's card for the new hire: %v, want ErrNotFound", err)
		}
		if a, err := s.CardHolder(ctx, "04A1B2C3"); err != nil || a != leaver {
			t.Errorf("the leaver's card after the refused removals: %+v, %v", a, err)
		}
		if err := s.RemoveAccountCardByFingerprint(ctx, newHire, unbound, nil); err != nil {
			t.Errorf("the new hire removing the unbound card: %v", err)
		}
	})
}

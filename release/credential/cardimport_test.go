package credential

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
)

// TestImportCards: an import with a refused card writes nothing unless
// partial; a partial one enrols the rest; an import of more cards than
// one statement takes enrols them all; the record hook runs once, with
// the count, and only when a card was added.
func TestImportCards(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		s := newStore(t, db, Policy{}, nil)
		if err := s.AddCard(ctx, "bob", "0455AA66BB77CC", nil); err != nil {
			t.Fatal(err)
		}
		if err := s.AddCard(ctx, "alice", "04A1B2C3", nil); err != nil {
			t.Fatal(err)
		}
		var recorded []ImportResult
		rec := func(_ *gorm.DB, r ImportResult) error { recorded = append(recorded, r); return nil }
		mixed := []Enrolment{
			{User: "alice", UID: "01:14:b3:a4:d5:1c:2e:0f"}, // new
			{User: "alice", UID: "04a1b2c3"},                // alice's already
			{User: "carol", UID: "04 55 aa 66 bb 77 cc"},    // bob's
			{User: "carol", UID: "not a card"},              // malformed
			{User: "dave", UID: "0114B3A4D51C2E0F"},         // alice's, earlier in the import
			{User: "alice", UID: "0114B3A4D51C2E0F"},        // twice for alice
			{User: "carol", UID: "CAFEF00D"},                // new
		}
		wantRefused := map[int]error{2: ErrCardInUse, 3: ErrBadUID, 4: ErrCardInUse}
		check := func(r ImportResult, added, already int) {
			t.Helper()
			if r.Added != added || r.Already != already || !slices.Equal(slices.Sorted(maps.Keys(r.Refused)), []int{2, 3, 4}) {
				t.Fatalf("result %+v, want %d added, %d already, lines 2, 3 and 4 refused", r, added, already)
			}
			for i, want := range wantRefused {
				if !errors.Is(r.Refused[i], want) {
					t.Errorf("enrolment %d refused with %v, want %v", i, r.Refused[i], want)
				}
			}
		}

		r, err := s.ImportCards(ctx, mixed, ImportOptions{Record: rec})
		if !errors.Is(err, ErrImportRefused) {
			t.Fatalf("all-or-nothing import with refusals: %v", err)
		}
		check(r, 0, 2)
		if _, err := s.LookupCard(ctx, "CAFEF00D"); !errors.Is(err, ErrNotFound) || len(recorded) != 0 {
			t.Fatalf("a refused import enrolled a card (%v) or recorded %v", err, recorded)
		}

		r, err = s.ImportCards(ctx, mixed, ImportOptions{Partial: true, CheckOnly: true, Record: rec})
		if err != nil {
			t.Fatal(err)
		}
		check(r, 2, 2)
		if _, err := s.LookupCard(ctx, "CAFEF00D"); !errors.Is(err, ErrNotFound) || len(recorded) != 0 {
			t.Fatalf("a checked import enrolled a card (%v) or recorded %v", err, recorded)
		}

		r, err = s.ImportCards(ctx, mixed, ImportOptions{Partial: true, Record: rec})
		if err != nil {
			t.Fatal(err)
		}
		check(r, 2, 2)
		for uid, want := range map[string]string{"CAFEF00D": "carol", "0114B3A4D51C2E0F": "alice", "0455AA66BB77CC": "bob"} {
			if got, err := s.LookupCard(ctx, uid); got != want || err != nil {
				t.Errorf("card %s belongs to %q (%v), want %s", uid, got, err, want)
			}
		}
		if len(recorded) != 1 || recorded[0].Added != 2 {
			t.Fatalf("recorded %+v, want one record of 2 cards", recorded)
		}
		if r, err := s.ImportCards(ctx, mixed[:2], ImportOptions{Record: rec}); err != nil || r.Already != 2 || len(recorded) != 1 {
			t.Errorf("import of enrolled cards: %+v, %v; recorded %d times, want once", r, err, len(recorded))
		}

		many := make([]Enrolment, 2*importChunk+7)
		for i := range many {
			many[i] = Enrolment{User: fmt.Sprintf("user%d", i%50), UID: fmt.Sprintf("%08X", 0x10000000+i)}
		}
		if r, err := s.ImportCards(ctx, many, ImportOptions{Record: rec}); err != nil || r.Added != len(many) || len(recorded) != 2 {
			t.Fatalf("import of %d cards: %+v, %v; %d records", len(many), r, err, len(recorded))
		}
		if got, err := s.LookupCard(ctx, many[len(many)-1].UID); err != nil || got != many[len(many)-1].User {
			t.Errorf("last imported card: %q, %v", got, err)
		}
		all, err := s.AllCards(ctx)
		if err != nil || len(all) != len(many)+4 {
			t.Fatalf("AllCards: %d cards, %v; want %d", len(all), err, len(many)+4)
		}
		if all[0].User != "alice" || len(all[0].Fingerprint) != fingerprintLen {
			t.Errorf("first card %+v", all[0])
		}
	})
}

package credential

import (
	"errors"
	"testing"

	"github.com/printgate/printgate/internal/database"
)

func TestNormalizeUID(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"colons lower case", "04:a1:b2:c3", "04A1B2C3"},
		{"plain upper case", "04A1B2C3", "04A1B2C3"},
		{"spaces", "04 a1 b2 c3", "04A1B2C3"},
		{"dashes", "04-A1-B2-C3", "04A1B2C3"},
		{"keyboard wedge Enter", "04a1b2c3\r\n", "04A1B2C3"},
		{"MIFARE 7 bytes", "04:55:aa:66:bb:77:cc", "0455AA66BB77CC"},
		{"FeliCa IDm 8 bytes", "0114B3A4D51C2E0F", "0114B3A4D51C2E0F"},
		{"MIFARE 10 bytes", "04a1b2c3d4e5f6a7b8c9", "04A1B2C3D4E5F6A7B8C9"},
		{"empty", "", ""},
		{"3 bytes", "04a1b2", ""},
		{"11 bytes", "04a1b2c3d4e5f6a7b8c9d0", ""},
		{"odd digits", "04a1b2c3d", ""},
		{"not hex", "04g1b2c3", ""},
		{"0x prefix", "0x04a1b2c3", ""},
		{"other separator", "04_a1_b2_c3", ""},
		{"wildcard", "04a1b2c*", ""},
		{"non-ASCII digits", "04a1b2c３", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeUID(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrBadUID) {
					t.Fatalf("NormalizeUID(%q) = %q, %v; want ErrBadUID", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeUID(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestCards(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		s := newStore(t, db, Policy{}, nil)

		// The three forms of the issue are one card.
		if err := s.AddCard(ctx, "alice", "04:a1:b2:c3", nil); err != nil {
			t.Fatalf("AddCard: %v", err)
		}
		for _, form := range []string{"04:a1:b2:c3", "04A1B2C3", "04 a1 b2 c3"} {
			user, err := s.LookupCard(ctx, form)
			if err != nil || user != "alice" {
				t.Errorf("LookupCard(%q) = %q, %v; want alice", form, user, err)
			}
			if err := s.AddCard(ctx, "alice", form, nil); err != nil {
				t.Errorf("AddCard(alice, %q) again = %v, want nil", form, err)
			}
			if err := s.AddCard(ctx, "bob", form, nil); !errors.Is(err, ErrCardInUse) {
				t.Errorf("AddCard(bob, %q) = %v, want ErrCardInUse", form, err)
			}
		}

		if err := s.AddCard(ctx, "alice", "0114B3A4D51C2E0F", nil); err != nil {
			t.Fatal(err)
		}
		if err := s.AddCard(ctx, "bob", "04:55:aa:66:bb:77:cc", nil); err != nil {
			t.Fatal(err)
		}
		cards, err := s.Cards(ctx, "alice")
		if err != nil || len(cards) != 2 {
			t.Fatalf("Cards(alice) = %+v, %v; want 2", cards, err)
		}
		for _, c := range cards {
			if len(c.Fingerprint) != fingerprintLen || c.AddedAt.IsZero() {
				t.Errorf("card %+v", c)
			}
		}
		if cards[0].Fingerprint == cards[1].Fingerprint {
			t.Error("two cards with one fingerprint")
		}

		lookups := []struct {
			name, uid, want string
			wantErr         error
		}{
			{"alice's FeliCa", "01:14:b3:a4:d5:1c:2e:0f", "alice", nil},
			{"bob's MIFARE", "0455AA66BB77CC", "bob", nil},
			{"unknown", "04A1B2C4", "", ErrNotFound},
			{"prefix of a card", "0455AA66", "", ErrNotFound},
			{"malformed", "04a1b2c", "", ErrBadUID},
		}
		for _, tt := range lookups {
			t.Run("lookup "+tt.name, func(t *testing.T) {
				user, err := s.LookupCard(ctx, tt.uid)
				if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) || user != tt.want {
					t.Fatalf("LookupCard = %q, %v; want %q, %v", user, err, tt.want, tt.wantErr)
				}
			})
		}

		// Another key gives other MACs: the key, not the UID alone, finds a card.
		other, err := New(db, []byte("another key, also 32 bytes long!"), Policy{}, testParams, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.LookupCard(ctx, "04A1B2C3"); !errors.Is(err, ErrNotFound) {
			t.Errorf("LookupCard with another key = %v, want ErrNotFound", err)
		}

		if err := s.RemoveCard(ctx, "bob", "04A1B2C3", nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("RemoveCard of someone else's card = %v, want ErrNotFound", err)
		}
		if err := s.RemoveCard(ctx, "alice", "04-A1-B2-C3", nil); err != nil {
			t.Errorf("RemoveCard: %v", err)
		}
		if _, err := s.LookupCard(ctx, "04A1B2C3"); !errors.Is(err, ErrNotFound) {
			t.Errorf("removed card still found: %v", err)
		}
		// A removed card can go to someone else.
		if err := s.AddCard(ctx, "bob", "04A1B2C3", nil); err != nil {
			t.Errorf("AddCard of a removed card: %v", err)
		}

		cards, _ = s.Cards(ctx, "alice")
		if len(cards) != 1 {
			t.Fatalf("Cards(alice) = %+v", cards)
		}
		if err := s.RemoveCardByFingerprint(ctx, "bob", cards[0].Fingerprint, nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("RemoveCardByFingerprint of someone else's card = %v", err)
		}
		if err := s.RemoveCardByFingerprint(ctx, "alice", cards[0].Fingerprint, nil); err != nil {
			t.Errorf("RemoveCardByFingerprint: %v", err)
		}
		if _, err := s.LookupCard(ctx, "0114B3A4D51C2E0F"); !errors.Is(err, ErrNotFound) {
			t.Errorf("card removed by fingerprint still found: %v", err)
		}

		if err := s.AddCard(ctx, "alice", "not a card", nil); !errors.Is(err, ErrBadUID) {
			t.Errorf("AddCard(malformed) = %v", err)
		}
		if err := s.Forget(ctx, "bob"); err != nil {
			t.Fatal(err)
		}
		if cards, _ := s.Cards(ctx, "bob"); len(cards) != 0 {
			t.Errorf("Forget left cards %+v", cards)
		}
	})
}

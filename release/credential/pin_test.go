package credential

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
)

func TestValidatePIN(t *testing.T) {
	s, err := New(nil, testKey, Policy{}, testParams, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, pin string
		want      error
	}{
		{"good 4 digits", "4863", nil},
		{"good 6 digits", "902713", nil},
		{"good 8 digits", "73914682", nil},
		{"leading zero", "0482", nil},
		{"too short", "486", ErrPINPolicy},
		{"too long", "739146825", ErrPINPolicy},
		{"letters", "48a3", ErrPINPolicy},
		{"space", "48 63", ErrPINPolicy},
		{"empty", "", ErrPINPolicy},
		{"full-width digits", "４８６３", ErrPINPolicy},
		{"all zero", "0000", ErrWeakPIN},
		{"all one", "1111", ErrWeakPIN},
		{"all nine, 8 digits", "99999999", ErrWeakPIN},
		{"ascending", "1234", ErrWeakPIN},
		{"ascending from zero", "0123", ErrWeakPIN},
		{"ascending wrapping", "7890", ErrWeakPIN},
		{"ascending 6", "345678", ErrWeakPIN},
		{"descending", "4321", ErrWeakPIN},
		{"descending wrapping", "2109", ErrWeakPIN},
		{"descending 8", "98765432", ErrWeakPIN},
		{"pairs", "1212", ErrWeakPIN},
		{"pairs 6", "696969", ErrWeakPIN},
		{"triples", "123123", ErrWeakPIN},
		{"halves", "48634863", ErrWeakPIN},
		{"keypad column", "2580", ErrWeakPIN},
		{"keypad column down", "0852", ErrWeakPIN},
		{"common", "1004", ErrWeakPIN},
		{"common doubles", "1122", ErrWeakPIN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.ValidatePIN(tt.pin)
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("ValidatePIN = %v, want %v", err, tt.want)
			}
			if err != nil && tt.pin != "" && strings.Contains(err.Error(), tt.pin) {
				t.Errorf("error %q echoes the PIN", err)
			}
		})
	}

	// The policy's lengths apply.
	s6, err := New(nil, testKey, Policy{MinPIN: 6, MaxPIN: 6}, testParams, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s6.ValidatePIN("4863"); !errors.Is(err, ErrPINPolicy) || !strings.Contains(err.Error(), "6 to 6 digits") {
		t.Errorf("6-digit policy, 4 digits: %v", err)
	}
	if err := s6.ValidatePIN("902713"); err != nil {
		t.Errorf("6-digit policy, 6 digits: %v", err)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name   string
		key    []byte
		policy Policy
	}{
		{"short key", []byte("short"), Policy{}},
		{"no key", nil, Policy{}},
		{"min below 4", testKey, Policy{MinPIN: 3}},
		{"max below min", testKey, Policy{MinPIN: 6, MaxPIN: 5}},
		{"negative failures", testKey, Policy{MaxFailures: -1}},
		{"lock too short", testKey, Policy{LockFor: time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(nil, tt.key, tt.policy, testParams, Options{}); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
	s, err := New(nil, testKey, Policy{MinPIN: 6}, testParams, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p := s.Policy(); p != (Policy{MinPIN: 6, MaxPIN: 8, MaxFailures: 5, LockFor: 15 * time.Minute}) {
		t.Errorf("Policy = %+v", p)
	}
}

func TestLockout(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		clk := newClock()
		s := newStore(t, db, Policy{}, clk.Now)
		const pin, wrong = "4863", "4864"
		if err := s.SetPIN(ctx, "alice", pin, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPIN(ctx, "bob", "902713", nil); err != nil {
			t.Fatal(err)
		}
		check := func(t *testing.T, user, p, device string, want error) {
			t.Helper()
			err := s.CheckPIN(ctx, user, p, device)
			if !errors.Is(err, want) || (err == nil) != (want == nil) {
				t.Fatalf("CheckPIN(%s) = %v, want %v", device, err, want)
			}
			if err != nil && strings.Contains(err.Error(), p) {
				t.Errorf("error %q echoes the PIN", err)
			}
		}
		devices := []string{"kiosk-1", "mfp-2"}

		t.Run("right PIN", func(t *testing.T) { check(t, "alice", pin, "kiosk-1", nil) })
		t.Run("no PIN", func(t *testing.T) { check(t, "carol", pin, "kiosk-1", ErrNoPIN) })

		t.Run("success resets the count", func(t *testing.T) {
			for i := range 4 {
				check(t, "alice", wrong, devices[i%2], ErrWrongPIN)
			}
			check(t, "alice", pin, "kiosk-1", nil)
			for i := range 4 {
				check(t, "alice", wrong, devices[i%2], ErrWrongPIN)
			}
			check(t, "alice", pin, "kiosk-1", nil)
		})

		t.Run("five wrong across two devices lock", func(t *testing.T) {
			for i := range 4 {
				check(t, "alice", wrong, devices[i%2], ErrWrongPIN)
			}
			// The attempt that locks says so at once.
			check(t, "alice", wrong, devices[0], ErrLocked)
			check(t, "alice", pin, "kiosk-1", ErrLocked)
			check(t, "alice", pin, "mfp-2", ErrLocked)
			check(t, "alice", wrong, "mfp-2", ErrLocked)
			// Another user is not affected.
			check(t, "bob", "902713", "kiosk-1", nil)

			st, err := s.PINStatus(ctx, "alice")
			if err != nil || !st.Set || !st.Locked() || st.Failures != 5 ||
				!st.LockedUntil.Equal(clk.Now().Add(15*time.Minute)) {
				t.Errorf("PINStatus = %+v, %v", st, err)
			}
			fails, err := s.Failures(ctx, "alice")
			if err != nil || len(fails) != 5 {
				t.Fatalf("Failures = %+v, %v; want 5", fails, err)
			}
			for i, f := range fails {
				if f.Device != devices[i%2] || !f.At.Equal(clk.Now()) {
					t.Errorf("failure %d = %+v", i, f)
				}
			}
			if n, err := s.DeviceFailures(ctx, "mfp-2", clk.Now().Add(-time.Minute)); err != nil || n != 2 {
				t.Errorf("DeviceFailures(mfp-2) = %d, %v; want 2", n, err)
			}
			if n, err := s.PruneFailures(ctx, clk.Now()); err != nil || n != 0 {
				t.Errorf("PruneFailures(now) = %d, %v; want 0", n, err)
			}
		})

		t.Run("lock expires", func(t *testing.T) {
			clk.Advance(15*time.Minute - time.Second)
			check(t, "alice", pin, "kiosk-1", ErrLocked)
			clk.Advance(time.Second)
			// An expired lock starts a fresh count.
			if st, _ := s.PINStatus(ctx, "alice"); st.Locked() || st.Failures != 0 {
				t.Errorf("PINStatus after expiry = %+v", st)
			}
			for i := range 4 {
				check(t, "alice", wrong, devices[i%2], ErrWrongPIN)
			}
			check(t, "alice", pin, "kiosk-1", nil)
			if st, _ := s.PINStatus(ctx, "alice"); st.Failures != 0 || st.Locked() {
				t.Errorf("PINStatus after success = %+v", st)
			}
			if fails, _ := s.Failures(ctx, "alice"); len(fails) != 0 {
				t.Errorf("Failures after success = %+v", fails)
			}
		})

		t.Run("prune failures", func(t *testing.T) {
			check(t, "bob", "5927", "kiosk-1", ErrWrongPIN)
			clk.Advance(time.Hour)
			if n, err := s.PruneFailures(ctx, clk.Now().Add(-time.Minute)); err != nil || n != 1 {
				t.Errorf("PruneFailures = %d, %v; want 1", n, err)
			}
			// The count stays: pruning only drops the records.
			if st, _ := s.PINStatus(ctx, "bob"); st.Failures != 1 {
				t.Errorf("PINStatus after prune = %+v", st)
			}
			check(t, "bob", "902713", "kiosk-1", nil)
		})

		t.Run("admin unlock", func(t *testing.T) {
			for range 4 {
				check(t, "alice", wrong, "kiosk-1", ErrWrongPIN)
			}
			check(t, "alice", wrong, "kiosk-1", ErrLocked)
			check(t, "alice", pin, "kiosk-1", ErrLocked)
			if err := s.Unlock(ctx, "alice", nil); err != nil {
				t.Fatal(err)
			}
			check(t, "alice", pin, "kiosk-1", nil)
			if err := s.Unlock(ctx, "carol", nil); !errors.Is(err, ErrNotFound) {
				t.Errorf("Unlock of a user without PIN = %v", err)
			}
		})

		t.Run("new PIN unlocks", func(t *testing.T) {
			for range 4 {
				check(t, "alice", wrong, "kiosk-1", ErrWrongPIN)
			}
			check(t, "alice", wrong, "kiosk-1", ErrLocked)
			if err := s.SetPIN(ctx, "alice", "5927", nil); err != nil {
				t.Fatal(err)
			}
			check(t, "alice", pin, "kiosk-1", ErrWrongPIN)
			check(t, "alice", "5927", "kiosk-1", nil)
		})

		t.Run("remove and forget", func(t *testing.T) {
			if err := s.RemovePIN(ctx, "bob", nil); err != nil {
				t.Fatal(err)
			}
			check(t, "bob", "902713", "kiosk-1", ErrNoPIN)
			if err := s.RemovePIN(ctx, "bob", nil); !errors.Is(err, ErrNotFound) {
				t.Errorf("second RemovePIN = %v", err)
			}
			if err := s.Forget(ctx, "alice"); err != nil {
				t.Fatal(err)
			}
			check(t, "alice", "5927", "kiosk-1", ErrNoPIN)
		})
	})
}

// TestCheckPINConcurrent fails PINs from many goroutines at once: every
// attempt is counted, and no more than MaxFailures are ever checked.
func TestCheckPINConcurrent(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		tests := []struct {
			name                   string
			maxFailures            int
			wantWrong, wantLocked  int
			wantFailures, wantRows int
		}{
			{"below the limit", 100, 10, 0, 10, 10},
			{"across the limit", 5, 4, 6, 5, 5}, // the fifth failure answers locked
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newStore(t, db, Policy{MaxFailures: tt.maxFailures}, nil)
				user := "user-" + strings.ReplaceAll(tt.name, " ", "-")
				if err := s.SetPIN(ctx, user, "4863", nil); err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				errs := make(chan error, 10)
				for i := range 10 {
					wg.Go(func() { errs <- s.CheckPIN(ctx, user, "5927", []string{"kiosk-1", "mfp-2"}[i%2]) })
				}
				wg.Wait()
				close(errs)
				var wrong, locked int
				for err := range errs {
					switch {
					case errors.Is(err, ErrWrongPIN):
						wrong++
					case errors.Is(err, ErrLocked):
						locked++
					default:
						t.Errorf("CheckPIN = %v", err)
					}
				}
				st, err := s.PINStatus(ctx, user)
				if err != nil {
					t.Fatal(err)
				}
				fails, err := s.Failures(ctx, user)
				if err != nil {
					t.Fatal(err)
				}
				if wrong != tt.wantWrong || locked != tt.wantLocked || st.Failures != tt.wantFailures || len(fails) != tt.wantRows {
					t.Errorf("wrong %d, locked %d, count %d, records %d; want %d, %d, %d, %d",
						wrong, locked, st.Failures, len(fails), tt.wantWrong, tt.wantLocked, tt.wantFailures, tt.wantRows)
				}
			})
		}
	})
}

func TestVerifyJobPIN(t *testing.T) {
	s, err := New(nil, testKey, Policy{}, testParams, Options{})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := s.HashJobPIN(t.Context(), []byte("2468"))
	if err != nil {
		t.Fatal(err)
	}
	plain := legacyHash(t, "2468")
	tests := []struct {
		name, hash, pin string
		want, rehash    bool
	}{
		{"right", hash, "2468", true, false},
		{"wrong", hash, "2469", false, false},
		{"empty PIN", hash, "", false, false},
		{"no hash", "", "", false, false},
		{"malformed hash", "2468", "2468", false, false},
		{"plain hash, right: upgraded", plain, "2468", true, true},
		{"plain hash, wrong", plain, "2467", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := s.VerifyJobPIN(t.Context(), tt.hash, tt.pin)
			if err != nil || ok != tt.want || (rehash != "") != tt.rehash {
				t.Fatalf("VerifyJobPIN = %v, %q, %v; want %v, rehash %v", ok, rehash, err, tt.want, tt.rehash)
			}
			if rehash == "" {
				return
			}
			if ok, again, err := s.VerifyJobPIN(t.Context(), rehash, tt.pin); !ok || again != "" || err != nil {
				t.Errorf("the upgraded hash: VerifyJobPIN = %v, %q, %v", ok, again, err)
			}
		})
	}
}

// TestCheckPINUpgradesPlainHash checks that a PIN hash stored plain, before
// hashes were keyed, is replaced by a keyed one at the first right PIN,
// and kept at a wrong one.
func TestCheckPINUpgradesPlainHash(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		s := newStore(t, db, Policy{}, nil)
		if err := s.SetPIN(ctx, "alice", "4863", nil); err != nil {
			t.Fatal(err)
		}
		plain := legacyHash(t, "4863")
		if err := db.Exec(`UPDATE credential_pins SET pin_hash = ? WHERE user_name = 'alice'`, plain).Error; err != nil {
			t.Fatal(err)
		}
		stored := func() string {
			var h string
			if err := db.Raw(`SELECT pin_hash FROM credential_pins WHERE user_name = 'alice'`).Scan(&h).Error; err != nil {
				t.Fatal(err)
			}
			return h
		}
		if err := s.CheckPIN(ctx, "alice", "4864", "mfp"); !errors.Is(err, ErrWrongPIN) {
			t.Fatalf("wrong PIN: %v", err)
		}
		if stored() != plain {
			t.Fatal("a wrong PIN changed the stored hash")
		}
		if err := s.CheckPIN(ctx, "alice", "4863", "mfp"); err != nil {
			t.Fatalf("right PIN against the plain hash: %v", err)
		}
		if h := stored(); !strings.HasPrefix(h, "$argon2id-hmac-sha256$") {
			t.Fatalf("after a right PIN the hash is %.24s..., want the keyed form", h)
		}
		if err := s.CheckPIN(ctx, "alice", "4863", "mfp"); err != nil {
			t.Fatalf("right PIN against the upgraded hash: %v", err)
		}
	})
}

// TestStoredPINNeedsPepper is the offline attack on a copy of the
// database: the stored hash does not verify with the right PIN alone.
func TestStoredPINNeedsPepper(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		s := newStore(t, db, Policy{}, nil)
		if err := s.SetPIN(t.Context(), "alice", "4863", nil); err != nil {
			t.Fatal(err)
		}
		var h string
		if err := db.Raw(`SELECT pin_hash FROM credential_pins WHERE user_name = 'alice'`).Scan(&h).Error; err != nil {
			t.Fatal(err)
		}
		if plainVerify(t, h, "4863") {
			t.Fatal("the stored PIN hash verifies with the PIN alone")
		}
	})
}

// TestBusyIsNotAWrongPIN: a right PIN turned away because the argon2
// limiter is full was never checked; it must not count towards the lock,
// or a flood of other requests would lock out (card-only too) the users
// typing their right PIN.
func TestBusyIsNotAWrongPIN(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		limit := secret.NewLimiter(testParams.Bytes(), testParams, time.Millisecond) // one check at a time
		h, err := secret.NewHasher(testKey, testParams, limit)
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(db, testKey, Policy{}, testParams, Options{Hasher: h})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetPIN(ctx, "alice", "2468", nil); err != nil {
			t.Fatal(err)
		}
		// Another request's slow check holds the only place.
		heavy, err := secret.NewHasher(testKey, secret.Params{Memory: 32 << 10, Time: 30, Threads: 1}, limit)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { defer close(done); heavy.Hash(ctx, []byte("x")) }()
		busy := 0
		for running := true; running; {
			select {
			case <-done:
				running = false
			default:
				err := s.CheckPIN(ctx, "alice", "2468", "kiosk")
				if errors.Is(err, secret.ErrBusy) {
					busy++
				} else if err != nil {
					t.Fatalf("right PIN while the limiter is full: %v", err)
				}
			}
		}
		if busy < DefaultPolicy().MaxFailures {
			t.Fatalf("only %d busy answers while the limiter was full; the test needs at least %d", busy, DefaultPolicy().MaxFailures)
		}
		if err := s.CheckPIN(ctx, "alice", "2468", "kiosk"); err != nil {
			t.Errorf("right PIN after %d busy answers: %v, want accepted", busy, err)
		}
	})
}

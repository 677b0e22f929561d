package secret

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// testParams keep argon2id cheap in tests.
var testParams = Params{Memory: 64, Time: 1, Threads: 1}

var testKey = bytes.Repeat([]byte{0x5a}, 32)

func newTestHasher(t *testing.T, key []byte) *Hasher {
	t.Helper()
	h, err := NewHasher(key, testParams, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// plainHash is a hash in the form printgate stored before hashes were
// keyed: argon2id over the secret itself.
func plainHash(t *testing.T, secret string) string {
	t.Helper()
	salt, err := newSalt()
	if err != nil {
		t.Fatal(err)
	}
	h := phc{id: plainID, p: testParams, salt: salt, key: make([]byte, keyLen)}
	h.key = h.derive([]byte(secret))
	return h.String()
}

func TestHasherVerify(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, testKey)
	keyed, err := h.Hash(ctx, []byte("4863"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(keyed, "$argon2id-hmac-sha256$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not marked keyed", keyed)
	}
	other, _ := h.Hash(ctx, []byte("4863"))
	if other == keyed {
		t.Fatal("two hashes of one secret are equal: no salt")
	}
	otherKey := newTestHasher(t, bytes.Repeat([]byte{0x5b}, 32))
	tests := []struct {
		name       string
		h          *Hasher
		stored     string
		secret     string
		ok, rehash bool
		err        error
	}{
		{"keyed, right", h, keyed, "4863", true, false, nil},
		{"keyed, wrong", h, keyed, "4864", false, false, nil},
		{"keyed, empty", h, keyed, "", false, false, nil},
		{"keyed, another pepper", otherKey, keyed, "4863", false, false, nil},
		{"plain, right: upgrade", h, plainHash(t, "4863"), "4863", true, true, nil},
		{"plain, wrong", h, plainHash(t, "4863"), "4865", false, false, nil},
		{"empty hash", h, "", "4863", false, false, ErrMalformed},
		{"not PHC", h, "4863", "4863", false, false, ErrMalformed},
		{"other algorithm", h, strings.Replace(keyed, "argon2id-hmac-sha256", "bcrypt", 1), "4863", false, false, ErrMalformed},
		{"bad version", h, strings.Replace(keyed, "v=19", "v=16", 1), "4863", false, false, ErrMalformed},
		{"huge memory", h, strings.Replace(keyed, "m=64", "m=99999999", 1), "4863", false, false, ErrMalformed},
		{"zero passes", h, strings.Replace(keyed, "t=1", "t=0", 1), "4863", false, false, ErrMalformed},
		{"bad salt", h, strings.Replace(keyed, "$v=19$m=64,t=1,p=1$", "$v=19$m=64,t=1,p=1$!!", 1), "4863", false, false, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := tt.h.Verify(ctx, tt.stored, []byte(tt.secret))
			if ok != tt.ok || rehash != tt.rehash || !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("Verify = %v, %v, %v; want %v, %v, %v", ok, rehash, err, tt.ok, tt.rehash, tt.err)
			}
		})
	}
}

// TestKeyedHashNeedsPepper is the offline attack: with the stored hash
// alone, argon2id over the right secret does not reproduce it.
func TestKeyedHashNeedsPepper(t *testing.T) {
	h := newTestHasher(t, testKey)
	stored, err := h.Hash(context.Background(), []byte("4863"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := parsePHC(stored)
	if err != nil {
		t.Fatal(err)
	}
	if equal(p.derive([]byte("4863")), p.key) {
		t.Fatal("the stored hash verifies with the PIN alone")
	}
	if !equal(p.derive(h.keyed([]byte("4863"))), p.key) {
		t.Fatal("the stored hash does not verify with the pepper either")
	}
}

func TestNewHasher(t *testing.T) {
	if _, err := NewHasher(make([]byte, 31), testParams, nil); err == nil {
		t.Error("a 31-byte key was accepted")
	}
	h, err := NewHasher(testKey, Params{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.Params() != DefaultParams() {
		t.Errorf("zero params gave %+v, want the defaults", h.Params())
	}
	if bytes.Equal(h.pepper, testKey) {
		t.Error("the pepper is the key itself, not derived from it")
	}
}

func TestWaste(t *testing.T) {
	if err := newTestHasher(t, testKey).Waste(context.Background(), []byte("x")); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyRefusesCostlyHash(t *testing.T) {
	h, err := NewHasher(make([]byte, MinKeyLength), Params{Memory: 64, Time: 1, Threads: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		p      Params
		refuse bool
	}{
		{"default costs", DefaultParams(), false},
		{"four times the memory", Params{Memory: 4 * DefaultParams().Memory, Time: 1, Threads: 1}, false},
		{"a planted 4 GiB cost", Params{Memory: 1 << 22, Time: 1, Threads: 1}, true},
		{"many passes", Params{Memory: 64, Time: 64, Threads: 1}, true},
		{"many lanes", Params{Memory: 64, Time: 1, Threads: 8}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stored := phc{id: plainID, p: tt.p, salt: make([]byte, saltLen), key: make([]byte, keyLen)}.String()
			_, _, err := h.Verify(t.Context(), stored, []byte("1357"))
			if got := errors.Is(err, ErrMalformed); got != tt.refuse {
				t.Errorf("Verify of a hash with %+v: %v, want refused %v", tt.p, err, tt.refuse)
			}
		})
	}
}

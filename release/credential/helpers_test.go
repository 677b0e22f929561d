package credential

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
	"github.com/printgate/printgate/internal/testenv"
)

// testParams keep argon2id cheap in tests; production uses
// secret.DefaultParams.
var testParams = secret.Params{Memory: 64, Time: 1, Threads: 1}

var testKey = []byte("0123456789abcdef0123456789abcdef")

// clock is a settable time source for lockout tests.
type clock = testenv.Clock

func newClock() *clock { return testenv.NewClock() }

// eachDB runs f on a fresh, migrated SQLite database and a PostgreSQL one.
func eachDB(t *testing.T, f func(t *testing.T, db *database.DB)) { testenv.EachDB(t, Migrate, f) }

func newStore(t *testing.T, db *database.DB, p Policy, now func() time.Time) *Store {
	t.Helper()
	s, err := New(db, testKey, p, testParams, Options{Now: now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// legacyHash is pin hashed as printgate did before hashes were keyed:
// argon2id over the PIN itself.
func legacyHash(t *testing.T, pin string) string {
	t.Helper()
	salt := rand.Text()[:16]
	key := argon2.IDKey([]byte(pin), []byte(salt), testParams.Time, testParams.Memory, testParams.Threads, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", testParams.Memory, testParams.Time, testParams.Threads,
		enc.EncodeToString([]byte(salt)), enc.EncodeToString(key))
}

// plainVerify checks pin against the salt, costs and key of stored the way
// an attacker with a copy of the database would: argon2id over the PIN,
// without the pepper.
func plainVerify(t *testing.T, stored, pin string) bool {
	t.Helper()
	parts := strings.Split(stored, "$")
	if len(parts) != 6 {
		t.Fatalf("stored hash has %d parts", len(parts))
	}
	var m, tm uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &tm, &p); err != nil {
		t.Fatal(err)
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	key, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		t.Fatal("stored hash: bad base64")
	}
	got := argon2.IDKey([]byte(pin), salt, tm, m, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

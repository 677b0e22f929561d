package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/OpenPrinting/goipp"
	"golang.org/x/crypto/argon2"

	"github.com/printgate/printgate/internal/testdocs"
)

// legacyHash is secret hashed as printgate stored it before hashes were
// keyed: argon2id over the secret itself.
func legacyHash(secret string) string {
	salt := []byte(rand.Text()[:16])
	key := argon2.IDKey([]byte(secret), salt, 1, 64, 1, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=64,t=1,p=1$%s$%s", enc.EncodeToString(salt), enc.EncodeToString(key))
}

// TestPlainHashesUpgraded puts PIN and job PIN hashes of the old, plain
// form into the database, as an older printgate left them: a wrong PIN
// leaves them alone, the right one still works and replaces them with the
// keyed form.
func TestPlainHashesUpgraded(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		e := newReleaseEnv(t, dbURL, nil)
		id := e.submit("bob", testdocs.PDF(1, "old job", testdocs.A4),
			goipp.MakeAttribute("job-password", goipp.TagString, goipp.Binary("2468")))
		db := openTestDB(t, e.srv)
		if err := db.Exec(`UPDATE credential_pins SET pin_hash = ? WHERE user_name = 'bob'`, legacyHash("4821")).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Exec(`UPDATE jobs SET password_hash = ? WHERE id = ?`, legacyHash("2468"), id).Error; err != nil {
			t.Fatal(err)
		}
		hashes := func() (pin, job string) {
			db.Raw(`SELECT pin_hash FROM credential_pins WHERE user_name = 'bob'`).Scan(&pin)
			db.Raw(`SELECT password_hash FROM jobs WHERE id = ?`, id).Scan(&job)
			return pin, job
		}

		if code, _ := e.call("mfp1", http.MethodPost, "/release/sessions", map[string]string{"user": "bob", "pin": "4822"}); code != http.StatusUnauthorized {
			t.Fatalf("wrong PIN: HTTP %d", code)
		}
		sess := e.login("mfp1", map[string]string{"user": "bob", "pin": "4821"})
		release := func(pin string) {
			e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release",
				map[string]any{"jobs": []int64{id}, "job_pins": map[string]string{strconv.FormatInt(id, 10): pin}})
		}
		release("1357")
		if _, job := hashes(); !strings.HasPrefix(job, "$argon2id$") {
			t.Errorf("a wrong job PIN changed the plain job PIN hash to %.24s...", job)
		}
		release("2468")
		e.waitState("mfp1", sess, id, "completed")
		pin, job := hashes()
		for what, h := range map[string]string{"PIN": pin, "job PIN": job} {
			if !strings.HasPrefix(h, "$argon2id-hmac-sha256$") {
				t.Errorf("after its right use the %s hash is %.24s..., want the keyed form", what, h)
			}
		}
		e.login("mfp2", map[string]string{"user": "bob", "pin": "4821"})
	})
}

package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release/credential"
)

// testSecrets are the passwords, PINs and card UIDs the tests use. None
// may appear in a log line, a command's output or the database in clear.
var testSecrets = []string{
	"alice-secret", "bob-secret", "carol-secret", "wrong-secret", "dave-pass-1234",
	"04A1B2C3", "04a1b2c3", "04:a1:b2:c3", "04 a1 b2 c3", "0455AA66BB77CC", "04A1B2C3D4E5F6",
	// 04A1B2C3 as decimal and LSB-first readers write it, and 12345678 in
	// decimal (cards_test.go).
	"77705923", "3283263748", "c3:b2:a1:04", "C3B2A104", "305419896",
}

// testPINs are matched only as whole words, so that a port number or a
// hexadecimal card fingerprint does not look like a leaked PIN.
var testPINs = []string{"4821", "4827", "6153"}

// leakedSecrets returns the test secrets that text contains.
func leakedSecrets(text string) []string {
	var found []string
	for _, s := range testSecrets {
		if strings.Contains(text, s) {
			found = append(found, s)
		}
	}
	for _, p := range testPINs {
		if regexp.MustCompile(`(^|[^0-9A-Za-z])` + p + `($|[^0-9A-Za-z])`).MatchString(text) {
			found = append(found, p)
		}
	}
	return found
}

// TestCredentialsAtRest sets a password, a PIN and a card through the
// commands, then reads every table of the database and the commands'
// output and finds none of them in clear. It also walks the lockout: five
// wrong PINs across two devices lock the user, the right PIN is then
// refused, and "user unlock" lets it in again.
func TestCredentialsAtRest(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		cfg := newConfig(t, dbURL)
		var out strings.Builder
		out.WriteString(runCLI(t, cfg, "dave-pass-1234\n", "user", "add", "dave", "--display-name", "Dave", "--employee-number", "2001"))
		out.WriteString(runCLI(t, cfg, "4827\n", "user", "set-pin", "dave"))
		out.WriteString(runCLI(t, cfg, "04:a1:b2:c3\n", "card", "add", "dave"))
		if o, err := tryCLI(t, cfg, "1234\n", "user", "set-pin", "dave"); err == nil {
			t.Errorf("weak PIN 1234 accepted: %s", o)
		} else {
			out.WriteString(o + err.Error())
		}
		runCLI(t, cfg, "eve-pass-5678\n", "user", "add", "eve")
		if o, err := tryCLI(t, cfg, "04A1B2C3\n", "card", "add", "eve"); err == nil {
			t.Errorf("the same card enrolled to a second user: %s", o)
		} else {
			out.WriteString(o + err.Error())
		}
		out.WriteString(runCLI(t, cfg, "", "user", "list"))

		st, err := openStack(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ctx := context.Background()
		if u, err := st.creds.LookupCard(ctx, "04 a1 b2 c3"); err != nil || u != "dave" {
			t.Errorf("card 04 a1 b2 c3 belongs to %q (%v), want dave", u, err)
		}
		dump := dumpDatabase(t, st)
		if leaks := leakedSecrets(dump); len(leaks) > 0 {
			t.Errorf("database holds in clear: %v", leaks)
		}
		if leaks := leakedSecrets(out.String()); len(leaks) > 0 {
			t.Errorf("command output shows: %v\n%s", leaks, out.String())
		}

		for i := range 5 {
			device := fmt.Sprintf("mfp-%d", i%2)
			want := credential.ErrWrongPIN
			if i == 4 {
				want = credential.ErrLocked // the attempt that locks says so
			}
			if err := st.creds.CheckPIN(ctx, "dave", "6153", device); !errors.Is(err, want) {
				t.Fatalf("wrong PIN %d: %v, want %v", i+1, err, want)
			}
		}
		if err := st.creds.CheckPIN(ctx, "dave", "4827", "mfp-0"); !errors.Is(err, credential.ErrLocked) {
			t.Errorf("sixth attempt, correct PIN: %v, want ErrLocked", err)
		}
		runCLI(t, cfg, "", "user", "unlock", "dave")
		if err := st.creds.CheckPIN(ctx, "dave", "4827", "mfp-0"); err != nil {
			t.Errorf("after unlock: %v", err)
		}
	})
}

// dumpDatabase renders every row of every printgate table as text.
func dumpDatabase(t *testing.T, st *stack) string {
	t.Helper()
	dump := testenv.DumpTables(t, st.db)
	if !strings.Contains(dump, "dave") {
		t.Fatal("dump does not contain the user; it would prove nothing")
	}
	return dump
}

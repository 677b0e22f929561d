package throttle

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release/directory"
)

// TestAccountLockCoversEverySpelling: the directory (OpenLDAP's
// caseIgnoreMatch on uid) accepts many spellings of one account, so once
// "bob" is locked, "ｂｏｂ" (full-width) and the other spellings must be
// locked too, or a guesser gets 10 more tries per spelling. Every address
// differs (a botnet, a /48), so only the account limit can stop it.
func TestAccountLockCoversEverySpelling(t *testing.T) {
	eachLDAPPasswords(t, testenv.Slapd(t), 30, func(t *testing.T, p *Passwords, addr func() netip.Addr) {
		ctx := t.Context()
		for range 11 {
			p.Authenticate(ctx, "bob", "guess", addr(), "ipp")
		}
		if _, err := p.Authenticate(ctx, "bob", "bob-secret", addr(), "ipp"); !errors.Is(err, ErrThrottled) {
			t.Fatalf("bob not locked: %v", err)
		}
		checked := 0
		for _, v := range []string{"ｂob", "bｏb", "boｂ", "ｂｏb", "ｂoｂ", "bｏｂ", "ｂｏｂ"} {
			for range 9 {
				if _, err := p.Authenticate(ctx, v, "guess", addr(), "ipp"); errors.Is(err, directory.ErrInvalidCredentials) {
					checked++
				}
			}
		}
		if checked != 0 {
			t.Errorf("%d wrong guesses under other spellings reached the directory while bob is locked", checked)
		}
		if id, err := p.Authenticate(ctx, "ｂｏｂ", "bob-secret", addr(), "ipp"); !errors.Is(err, ErrThrottled) {
			t.Errorf("right password as %q while bob is locked: %q, %v; want throttled", "ｂｏｂ", id.Name, err)
		}
	})
}

// TestAccountLockCoversEveryName: an entry with two names (uid: bob and
// uid: robert) is one account, so guesses under both share its limit.
func TestAccountLockCoversEveryName(t *testing.T) {
	srv := testenv.Slapd(t)
	srv.Replace(t, "bob", "uid", "bob", "robert")
	eachLDAPPasswords(t, srv, 1000, func(t *testing.T, p *Passwords, addr func() netip.Addr) {
		ctx := t.Context()
		checked := 0
		for _, name := range []string{"bob", "robert"} {
			for range 10 {
				if _, err := p.Authenticate(ctx, name, "guess", addr(), "ipp"); errors.Is(err, directory.ErrInvalidCredentials) {
					checked++
				}
			}
		}
		if checked != 10 {
			t.Errorf("%d wrong guesses under bob's two names reached the directory; the account's limit is 10", checked)
		}
	})
}

// eachLDAPPasswords runs fn on each database with Passwords over srv's
// directory: an account may fail 10 times an hour, an address
// perAddress times; addr gives a new address each call, as a botnet
// would.
func eachLDAPPasswords(t *testing.T, srv *testenv.LDAP, perAddress int, fn func(t *testing.T, p *Passwords, addr func() netip.Addr)) {
	t.Helper()
	dir, err := directory.NewLDAP(directory.LDAPConfig{URL: srv.URL, BindDN: srv.ServiceDN, BindPassword: srv.ServicePassword,
		BaseDN: srv.BaseDN, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	testenv.EachDB(t, func(ctx context.Context, db *database.DB) error { return migrate(ctx, db) },
		func(t *testing.T, db *database.DB) {
			s, _ := newStore(t, db, testenv.NewClock(), map[Kind]Rule{Account: {Max: 10, Window: time.Hour},
				Address: {Max: perAddress, Window: time.Hour}})
			n := 0
			fn(t, NewPasswords(s, dir), func() netip.Addr { n++; return netip.AddrFrom4([4]byte{198, 51, 100, byte(n)}) })
		})
}

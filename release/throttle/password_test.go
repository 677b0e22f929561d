package throttle

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release/directory"
)

// try is one password typed at the console; want is "ok", "wrong" or
// "throttled".
type try struct {
	advance        time.Duration
	name, password string
	addr           string
	reset          string // an admin resets this account instead
	want           string
}

func TestPasswords(t *testing.T) {
	const a, b = "192.0.2.1", "192.0.2.2"
	wrong := func(name, addr string) try { return try{name: name, password: "guess", addr: addr, want: "wrong"} }
	right := func(addr, want string) try { return try{name: "bob", password: "bob-secret", addr: addr, want: want} }
	tests := []struct {
		name  string
		tries []try
		// events are the password-throttled events expected, by owner
		// ("" for an account the directory does not know or an address).
		events []string
	}{
		{name: "the account is locked from everywhere until the window ends", tries: []try{
			wrong("bob", a), wrong("BOB", a), wrong("bob", b), right(b, "throttled"), right(a, "throttled"),
			{advance: time.Minute, name: "bob", password: "bob-secret", addr: b, want: "ok"},
		}, events: []string{"bob"}},
		{name: "a right password starts the count afresh", tries: []try{
			wrong("bob", a), wrong("bob", a), right(a, "ok"), wrong("bob", a), wrong("bob", a), right(a, "ok"),
		}},
		{name: "an admin's reset lifts the lock", tries: []try{
			wrong("bob", a), wrong("bob", a), wrong("bob", a), right(a, "throttled"), {reset: "Bob"}, right(a, "ok"),
		}, events: []string{"bob"}},
		{name: "the address is limited across accounts", tries: []try{
			wrong("x1", a), wrong("x2", a), wrong("x3", a), wrong("x4", a), wrong("x5", a),
			right(a, "throttled"), right(b, "ok"),
		}, events: []string{""}},
		{name: "an IPv6 /64 is one address", tries: []try{
			wrong("x1", "2001:db8::1"), wrong("x2", "2001:db8::2"), wrong("x3", "2001:db8::3"),
			wrong("x4", "2001:db8::4"), wrong("x5", "2001:db8::5"), right("2001:db8::6", "throttled"),
			right("2001:db8:0:1::1", "ok"),
		}, events: []string{""}},
		{name: "an unknown account is not named", tries: []try{
			wrong("hunter2", a), wrong("hunter2", a), wrong("hunter2", a), {name: "hunter2", password: "x", addr: b, want: "throttled"},
		}, events: []string{""}},
	}
	testenv.EachDB(t, func(ctx context.Context, db *database.DB) error {
		return errors.Join(migrate(ctx, db), directory.Migrate(ctx, db))
	}, func(t *testing.T, db *database.DB) {
		hasher, err := secret.NewHasher(bytes.Repeat([]byte{7}, secret.MinKeyLength), secret.Params{Memory: 64, Time: 1, Threads: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		dir := directory.NewBuiltin(db, hasher)
		if err := dir.AddUser(t.Context(), directory.User{Name: "bob"}, "bob-secret", nil); err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := t.Context()
				clock := testenv.NewClock()
				s, log := newStore(t, db, clock, map[Kind]Rule{Account: {Max: 3, Window: time.Minute},
					Address: {Max: 5, Window: time.Minute}})
				defer db.Exec(`DELETE FROM throttles`)
				before := len(events(t, log, EventPasswordThrottled))
				p := NewPasswords(s, dir)
				for i, tr := range tt.tries {
					clock.Advance(tr.advance)
					if tr.reset != "" {
						if ok, err := p.Reset(ctx, tr.reset, "adam"); err != nil || !ok {
							t.Fatalf("try %d: Reset = %v, %v", i, ok, err)
						}
						continue
					}
					_, err := p.Authenticate(ctx, tr.name, tr.password, netip.MustParseAddr(tr.addr), "console")
					got := "ok"
					var te *Error
					switch {
					case errors.As(err, &te) && errors.Is(err, ErrThrottled):
						got = "throttled"
					case errors.Is(err, directory.ErrInvalidCredentials):
						got = "wrong"
					case err != nil:
						t.Fatalf("try %d: %v", i, err)
					}
					if got != tr.want {
						t.Fatalf("try %d (%s from %s): %s, want %s", i, tr.name, tr.addr, got, tr.want)
					}
				}
				evs := events(t, log, EventPasswordThrottled)[before:]
				var owners []string
				for _, ev := range evs {
					owners = append(owners, ev.Owner)
					if strings.Contains(fmtEvent(ev), "hunter2") {
						t.Errorf("an event holds the typed name: %+v", ev)
					}
				}
				if strings.Join(owners, ",") != strings.Join(tt.events, ",") || len(owners) != len(tt.events) {
					t.Errorf("password-throttled owners %q, want %q", owners, tt.events)
				}
			})
		}
	})
}

func fmtEvent(ev audit.Event) string {
	var b strings.Builder
	b.WriteString(ev.Owner + " " + ev.Actor + " " + ev.Reason)
	for k, v := range ev.Details {
		b.WriteString(" " + k + "=" + v)
	}
	return b.String()
}

package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release/directory"
)

// sessionDirectory gives svc a built-in directory on db with the user
// hanako, whose device sessions deviceSession makes, and returns it.
func sessionDirectory(t *testing.T, svc *Service, db *database.DB) *directory.Builtin {
	t.Helper()
	if err := directory.Migrate(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	h, err := secret.NewHasher(bytes.Repeat([]byte{7}, 32), secret.Params{Memory: 64, Time: 1, Threads: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := directory.NewBuiltin(db, h)
	if err := b.AddUser(t.Context(), directory.User{Name: "hanako", EmployeeNumber: "2001"}, "hanako-secret", nil); err != nil {
		t.Fatal(err)
	}
	svc.dir = b
	return b
}

// downDirectory is a directory that cannot be reached.
type downDirectory struct{}

func (downDirectory) Authenticate(context.Context, string, string) (directory.Identity, error) {
	return directory.Identity{}, fmt.Errorf("ldap: dial: %w", directory.ErrUnavailable)
}

func (downDirectory) Lookup(context.Context, string) (directory.Identity, error) {
	return directory.Identity{}, fmt.Errorf("ldap: dial: %w", directory.ErrUnavailable)
}

// TestSessionRechecksDirectory: every use of a device session looks its
// user up in the directory again. An account disabled or removed since
// the sign-in is refused at once, as is one whose name now only matches
// someone else's employee number; a directory that cannot answer refuses
// too (fail closed), and the session serves again once it answers.
func TestSessionRechecksDirectory(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, svc *Service, b *directory.Builtin)
		want   error // nil: the session serves
	}{
		{"unchanged", func(*testing.T, *Service, *directory.Builtin) {}, nil},
		{"disabled", func(t *testing.T, _ *Service, b *directory.Builtin) {
			if err := b.SetDisabled(t.Context(), "hanako", true, nil); err != nil {
				t.Fatal(err)
			}
		}, ErrDisabled},
		{"removed", func(t *testing.T, _ *Service, b *directory.Builtin) {
			if err := b.DeleteUser(t.Context(), "hanako", nil); err != nil {
				t.Fatal(err)
			}
		}, ErrUnauthorized},
		{"name now another's employee number", func(t *testing.T, _ *Service, b *directory.Builtin) {
			if err := b.DeleteUser(t.Context(), "hanako", nil); err != nil {
				t.Fatal(err)
			}
			if err := b.AddUser(t.Context(), directory.User{Name: "taro", EmployeeNumber: "hanako"}, "taro-secret", nil); err != nil {
				t.Fatal(err)
			}
		}, ErrUnauthorized},
		{"directory unreachable", func(_ *testing.T, svc *Service, _ *directory.Builtin) { svc.dir = downDirectory{} },
			ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
				svc, _, devToken, token := deviceSession(t, db)
				b := svc.dir.(*directory.Builtin)
				d := svc.DeviceRelease()
				if _, _, err := d.Session(t.Context(), devToken, token); err != nil {
					t.Fatalf("before the change: %v", err)
				}
				tt.change(t, svc, b)
				for what, use := range map[string]func() error{
					"Session":   func() error { _, _, err := d.Session(t.Context(), devToken, token); return err },
					"Authorize": func() error { _, _, err := d.Authorize(t.Context(), devToken, token); return err },
				} {
					err := use()
					if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
						t.Errorf("%s after the change: %v, want %v", what, err, tt.want)
					}
				}
			})
		})
	}
}

// TestSessionLifetime: a session used within its idle timeout, again and
// again, still ends SessionMaxLife after its sign-in, and says so in
// SessionExpires.
func TestSessionLifetime(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		svc, clock, devToken, token := deviceSession(t, db)
		d := svc.DeviceRelease()
		opened := clock.Now()
		step := svc.sessionIdle - time.Second
		var sess Session
		for clock.Now().Add(step).Sub(opened) <= SessionMaxLife {
			clock.Advance(step)
			var err error
			if sess, _, err = d.Session(t.Context(), devToken, token); err != nil {
				t.Fatalf("%v after the sign-in, used every %v: %v", clock.Now().Sub(opened), step, err)
			}
		}
		sess.LastSeen = clock.Now() // as the last use's touch left it
		if got, want := d.SessionExpires(sess), opened.Add(SessionMaxLife); !got.Equal(want) {
			t.Errorf("SessionExpires near the end = %v, want the lifetime's end %v", got, want)
		}
		clock.Advance(step)
		if _, _, err := d.Session(t.Context(), devToken, token); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("%v after the sign-in: %v, want ErrUnauthorized", clock.Now().Sub(opened), err)
		}
	})
}

// TestEndSessionWithoutDirectory: signing out needs no directory: a
// session ended while the directory cannot answer stays ended once it
// answers again.
func TestEndSessionWithoutDirectory(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		svc, _, devToken, token := deviceSession(t, db)
		b := svc.dir
		d := svc.DeviceRelease()
		svc.dir = downDirectory{}
		if err := d.EndSession(t.Context(), devToken, token); err != nil {
			t.Fatalf("sign-out while the directory is down: %v", err)
		}
		svc.dir = b
		if _, _, err := d.Session(t.Context(), devToken, token); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("the session after its sign-out: %v, want ErrUnauthorized", err)
		}
	})
}

package directory

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/printgate/printgate/internal/database"
)

func TestBuiltin(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		b := NewBuiltin(db, testHasher(t))
		users := []struct {
			u        User
			password string
		}{
			{User{Name: "alice", DisplayName: "Alice Admin", Email: "alice@example.com", EmployeeNumber: "1001", Role: RoleAdmin}, "alice-secret"},
			{User{Name: "Bob", DisplayName: "Bob User", EmployeeNumber: "1002"}, "bob-secret"},
			{User{Name: "carol", Role: RoleAuditor}, "carol-secret"},
		}
		for _, u := range users {
			if err := b.AddUser(ctx, u.u, u.password, nil); err != nil {
				t.Fatalf("AddUser %s: %v", u.u.Name, err)
			}
		}
		// Migrating again finds nothing to do.
		if err := Migrate(ctx, db); err != nil {
			t.Fatalf("second migrate: %v", err)
		}

		auth := []struct {
			name, user, password string
			wantName             string
			wantRole             Role
			wantErr              error
		}{
			{"admin", "alice", "alice-secret", "alice", RoleAdmin, nil},
			{"auditor", "carol", "carol-secret", "carol", RoleAuditor, nil},
			{"user", "Bob", "bob-secret", "Bob", RoleUser, nil},
			{"name in other case", "ALICE", "alice-secret", "alice", RoleAdmin, nil},
			{"wrong password", "alice", "bob-secret", "", "", ErrInvalidCredentials},
			{"empty password", "alice", "", "", "", ErrInvalidCredentials},
			{"unknown user", "mallory", "alice-secret", "", "", ErrInvalidCredentials},
			{"employee number is no login", "1001", "alice-secret", "", "", ErrInvalidCredentials},
			{"SQL wildcard", "%", "alice-secret", "", "", ErrInvalidCredentials},
			{"empty name", "", "alice-secret", "", "", ErrInvalidCredentials},
		}
		for _, tt := range auth {
			t.Run("authenticate "+tt.name, func(t *testing.T) {
				id, err := b.Authenticate(ctx, tt.user, tt.password)
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
					t.Fatalf("Authenticate = %v, want %v", err, tt.wantErr)
				}
				if err != nil {
					return
				}
				if id.Name != tt.wantName || id.Role() != tt.wantRole || id.Source != "builtin" || !id.Has(RoleUser) {
					t.Errorf("identity = %+v, want name %s role %s", id, tt.wantName, tt.wantRole)
				}
			})
		}

		t.Run("identity attributes", func(t *testing.T) {
			id, err := b.Authenticate(ctx, "alice", "alice-secret")
			if err != nil {
				t.Fatal(err)
			}
			if len(id.AccountID) != 26 {
				t.Errorf("account ID %q, want 26 random characters", id.AccountID)
			}
			if d := time.Since(id.Created); id.Created.IsZero() || d < 0 || d > time.Minute {
				t.Errorf("account made at %v, want when she was added, moments ago", id.Created)
			}
			want := Identity{Name: "alice", DisplayName: "Alice Admin", Email: "alice@example.com",
				EmployeeNumber: "1001", Roles: []Role{RoleAdmin, RoleUser}, Source: "builtin", AccountID: id.AccountID,
				Created: id.Created}
			if fmt.Sprint(id) != fmt.Sprint(want) {
				t.Errorf("identity = %+v, want %+v", id, want)
			}
		})

		lookups := []struct {
			name, key, wantName string
			wantErr             error
		}{
			{"by name", "carol", "carol", nil},
			{"by name other case", "bob", "Bob", nil},
			{"by employee number", "1002", "Bob", nil},
			{"unknown", "9999", "", ErrNotFound},
			{"empty", "", "", ErrNotFound},
		}
		for _, tt := range lookups {
			t.Run("lookup "+tt.name, func(t *testing.T) {
				id, err := b.Lookup(ctx, tt.key)
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
					t.Fatalf("Lookup = %v, want %v", err, tt.wantErr)
				}
				if id.Name != tt.wantName {
					t.Errorf("Lookup name = %q, want %q", id.Name, tt.wantName)
				}
			})
		}

		adds := []struct {
			name     string
			u        User
			password string
			wantErr  error
		}{
			{"duplicate name", User{Name: "alice"}, "another-secret", ErrExists},
			{"duplicate name other case", User{Name: "Alice"}, "another-secret", ErrExists},
			{"duplicate employee number", User{Name: "dave", EmployeeNumber: "1001"}, "another-secret", ErrExists},
			{"short password", User{Name: "dave"}, "short", ErrPasswordPolicy},
			{"empty password", User{Name: "dave"}, "", ErrPasswordPolicy},
		}
		for _, tt := range adds {
			t.Run("add "+tt.name, func(t *testing.T) {
				if err := b.AddUser(ctx, tt.u, tt.password, nil); !errors.Is(err, tt.wantErr) {
					t.Fatalf("AddUser = %v, want %v", err, tt.wantErr)
				}
			})
		}
		for _, bad := range []User{{Name: ""}, {Name: "a b"}, {Name: "a/b"}, {Name: "x", Role: "root"}} {
			if err := b.AddUser(ctx, bad, "long-enough", nil); err == nil {
				t.Errorf("AddUser(%+v) accepted", bad)
			}
		}

		t.Run("set password", func(t *testing.T) {
			if err := b.SetPassword(ctx, "carol", "carol-new-secret", nil); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Authenticate(ctx, "carol", "carol-secret"); !errors.Is(err, ErrInvalidCredentials) {
				t.Errorf("old password: %v", err)
			}
			if _, err := b.Authenticate(ctx, "carol", "carol-new-secret"); err != nil {
				t.Errorf("new password: %v", err)
			}
			if err := b.SetPassword(ctx, "carol", "short", nil); !errors.Is(err, ErrPasswordPolicy) {
				t.Errorf("short password: %v", err)
			}
			if err := b.SetPassword(ctx, "nobody", "long-enough", nil); !errors.Is(err, ErrNotFound) {
				t.Errorf("unknown user: %v", err)
			}
		})

		t.Run("set role", func(t *testing.T) {
			if err := b.SetRole(ctx, "BOB", RoleAuditor, nil); err != nil {
				t.Fatal(err)
			}
			id, err := b.Lookup(ctx, "Bob")
			if err != nil || id.Role() != RoleAuditor {
				t.Errorf("after SetRole: %+v, %v", id, err)
			}
			if err := b.SetRole(ctx, "Bob", "superuser", nil); err == nil {
				t.Error("SetRole accepted an unknown role")
			}
			if err := b.SetRole(ctx, "nobody", RoleAdmin, nil); !errors.Is(err, ErrNotFound) {
				t.Errorf("unknown user: %v", err)
			}
		})

		t.Run("users and delete", func(t *testing.T) {
			list, err := b.Users(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, u := range list {
				names = append(names, u.Name)
				if u.CreatedAt.IsZero() || u.UpdatedAt.IsZero() {
					t.Errorf("%s: no timestamps", u.Name)
				}
			}
			if !slices.Equal(names, []string{"Bob", "alice", "carol"}) {
				t.Errorf("Users = %v", names)
			}
			if err := b.DeleteUser(ctx, "bob", nil); err != nil {
				t.Fatal(err)
			}
			if err := b.DeleteUser(ctx, "bob", nil); !errors.Is(err, ErrNotFound) {
				t.Errorf("second delete: %v", err)
			}
			if _, err := b.Authenticate(ctx, "Bob", "bob-secret"); !errors.Is(err, ErrInvalidCredentials) {
				t.Errorf("deleted user authenticates: %v", err)
			}
		})

		t.Run("no password in clear", func(t *testing.T) {
			var hashes []string
			if err := db.WithContext(ctx).Raw("SELECT password_hash FROM users").Scan(&hashes).Error; err != nil {
				t.Fatal(err)
			}
			for _, h := range hashes {
				if !strings.HasPrefix(h, "$argon2id-hmac-sha256$") || strings.Contains(h, "secret") {
					t.Errorf("stored password %q is not a keyed argon2id hash", h)
				}
			}
		})
	})
}

// TestBuiltinUpgradesPlainHash checks that a password hash stored plain,
// before hashes were keyed, is replaced by a keyed one at the next right
// password, and that a stored keyed hash does not verify without the
// pepper.
func TestBuiltinUpgradesPlainHash(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		b := NewBuiltin(db, testHasher(t))
		if err := b.AddUser(ctx, User{Name: "dave"}, "dave-secret", nil); err != nil {
			t.Fatal(err)
		}
		stored := func() string {
			var h string
			if err := db.Raw(`SELECT password_hash FROM users WHERE name = 'dave'`).Scan(&h).Error; err != nil {
				t.Fatal(err)
			}
			return h
		}
		if h := stored(); !strings.HasPrefix(h, "$argon2id-hmac-sha256$") {
			t.Fatalf("new password hash %.24s... is not keyed", h)
		}
		salt := []byte("0123456789abcdef")
		key := argon2.IDKey([]byte("dave-secret"), salt, testParams.Time, testParams.Memory, testParams.Threads, 32)
		enc := base64.RawStdEncoding
		plain := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", testParams.Memory, testParams.Time, testParams.Threads,
			enc.EncodeToString(salt), enc.EncodeToString(key))
		if err := db.Exec(`UPDATE users SET password_hash = ? WHERE name = 'dave'`, plain).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := b.Authenticate(ctx, "dave", "wrong-secret"); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("wrong password: %v", err)
		}
		if stored() != plain {
			t.Fatal("a wrong password changed the stored hash")
		}
		if _, err := b.Authenticate(ctx, "dave", "dave-secret"); err != nil {
			t.Fatalf("right password against the plain hash: %v", err)
		}
		if h := stored(); !strings.HasPrefix(h, "$argon2id-hmac-sha256$") {
			t.Fatalf("after sign-in the hash is %.24s..., want the keyed form", h)
		}
		if _, err := b.Authenticate(ctx, "dave", "dave-secret"); err != nil {
			t.Fatalf("right password against the upgraded hash: %v", err)
		}
	})
}

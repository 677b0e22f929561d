package directory

import (
	"errors"
	"testing"

	"github.com/printgate/printgate/internal/database"
)

func TestNameKey(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"alice", "ALICE", true},
		{"Émile", "ÉMILE", true},
		{"Émile", "émile", true},
		{"E\u0301mile", "émile", true}, // decomposed é
		{"straße", "STRASSE", false},   // one letter is not two
		{"σοφία", "ΣΟΦΊΑ", true},
		{"σ", "ς", true},           // final sigma folds with sigma
		{"\u212Aim", "kim", false}, // Kelvin sign
		{"\u212Aim", "\u212AIM", true},
		{"ſam", "sam", false},     // long s
		{"ALİCE", "alice", false}, // dotted capital I
		{"ＡＬＩＣＥ", "alice", false}, // full width
		{"ＡＬＩＣＥ", "ａｌｉｃｅ", true},
		{"bob", "bobb", false},
	}
	for _, tt := range tests {
		if got := NameKey(tt.a) == NameKey(tt.b); got != tt.same {
			t.Errorf("NameKey(%q) == NameKey(%q): %v; want %v (%q, %q)", tt.a, tt.b, got, tt.same, NameKey(tt.a), NameKey(tt.b))
		}
	}
}

// TestBuiltinNameKeys: on both databases, a built-in user's name is
// unique and found in any case of its letters, outside ASCII too
// (SQLite's lower() folds ASCII only, so Émile and émile were two users,
// and a job sent as Émile went to émile), and a look-alike name is
// another user's or nobody's.
func TestBuiltinNameKeys(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		b := NewBuiltin(db, testHasher(t))
		for _, name := range []string{"émile", "kim"} {
			if err := b.AddUser(ctx, User{Name: name}, name+"-secret-1", nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.AddUser(ctx, User{Name: "Émile"}, "other-secret-1", nil); !errors.Is(err, ErrExists) {
			t.Errorf("AddUser(Émile) beside émile: %v; want ErrExists", err)
		}
		for _, login := range []string{"ÉMILE", "E\u0301mile", "KIM"} {
			id, err := b.LookupLogin(ctx, login)
			if err != nil || NameKey(id.Name) != NameKey(login) {
				t.Errorf("LookupLogin(%q) = %q, %v", login, id.Name, err)
			}
		}
		if id, err := b.LookupLogin(ctx, "\u212Aim"); !errors.Is(err, ErrNotFound) {
			t.Errorf("LookupLogin(Kelvin sign + im) = %q, %v; want nobody", id.Name, err)
		}
		if err := b.SetDisabled(ctx, "ÉMILE", true, nil); err != nil {
			t.Fatal(err)
		}
		if id, _ := b.Lookup(ctx, "émile"); !id.Disabled {
			t.Error("SetDisabled(ÉMILE) did not disable émile")
		}
	})
}

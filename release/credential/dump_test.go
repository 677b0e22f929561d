package credential

import (
	"fmt"
	"strings"
	"testing"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release/directory"
)

// TestNoSecretsInDatabase sets passwords (built-in directory), PINs and
// cards, then reads every row of every table as text and looks for any of
// them, in any spelling.
func TestNoSecretsInDatabase(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		if err := directory.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		h, err := secret.NewHasher(testKey, testParams, nil)
		if err != nil {
			t.Fatal(err)
		}
		dir := directory.NewBuiltin(db, h)
		s := newStore(t, db, Policy{}, nil)

		passwords := map[string]string{"alice": "Correct-Horse-Battery", "bob": "bob-long-secret"}
		pins := map[string]string{"alice": "73914682", "bob": "590271"}
		cards := map[string]string{"alice": "04:a1:b2:c3:d4:e5:f6", "bob": "01 14 B3 A4 D5 1C 2E 0F"}
		for user, pw := range passwords {
			if err := dir.AddUser(ctx, directory.User{Name: user}, pw, nil); err != nil {
				t.Fatal(err)
			}
			if err := s.SetPIN(ctx, user, pins[user], nil); err != nil {
				t.Fatal(err)
			}
			if err := s.AddCard(ctx, user, cards[user], nil); err != nil {
				t.Fatal(err)
			}
			// A failure record too, so every table has rows.
			_ = s.CheckPIN(ctx, user, "8416", "kiosk-1")
		}

		var needles []string
		for _, pw := range passwords {
			needles = append(needles, pw)
		}
		for _, pin := range pins {
			needles = append(needles, pin)
		}
		for _, uid := range cards {
			norm, err := NormalizeUID(uid)
			if err != nil {
				t.Fatal(err)
			}
			// Every spelling, and the byte-reversed order some readers use.
			needles = append(needles, uid, norm, strings.ToLower(norm), spaced(norm, ":"), spaced(norm, " "), reversed(norm))
		}

		dump := dumpDatabase(t, db)
		for _, table := range []string{"users", "credential_pins", "credential_pin_failures", "credential_cards"} {
			if !strings.Contains(dump, "TABLE "+table+"\n") || strings.Contains(dump, "TABLE "+table+"\nrows 0") {
				t.Errorf("table %s missing or empty in the dump", table)
			}
		}
		lower := strings.ToLower(dump)
		for _, n := range needles {
			if strings.Contains(lower, strings.ToLower(n)) {
				t.Errorf("the database holds a secret in clear (%d characters)", len(n))
			}
		}
	})
}

func spaced(hex, sep string) string {
	var parts []string
	for i := 0; i < len(hex); i += 2 {
		parts = append(parts, hex[i:i+2])
	}
	return strings.Join(parts, sep)
}

func reversed(hex string) string {
	var b strings.Builder
	for i := len(hex) - 2; i >= 0; i -= 2 {
		b.WriteString(hex[i : i+2])
	}
	return b.String()
}

// dumpDatabase returns every row of every table as text.
func dumpDatabase(t *testing.T, db *database.DB) string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`
	if db.Dialect == database.Postgres {
		q = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`
	}
	var tables []string
	if err := db.Raw(q).Scan(&tables).Error; err != nil {
		t.Fatal(err)
	}
	sqlDB, err := db.DB.DB()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, table := range tables {
		fmt.Fprintf(&b, "TABLE %s\n", table)
		rows, err := sqlDB.QueryContext(t.Context(), `SELECT * FROM "`+table+`"`)
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		text, n := testenv.DumpRows(t, rows)
		fmt.Fprintf(&b, "%srows %d\n", text, n)
	}
	return b.String()
}

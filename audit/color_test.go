package audit

import (
	"context"
	"testing"

	"github.com/printgate/printgate/internal/database"
)

func TestColorRule(t *testing.T) {
	cases := []struct {
		name  string
		facts ColorFacts
		want  Color
	}{
		{"nothing asked", ColorFacts{}, ColorUnknown},
		{"auto", ColorFacts{Requested: "auto"}, ColorUnknown},
		{"a keyword of no known meaning", ColorFacts{Requested: "sepia"}, ColorUnknown},
		{"color asked", ColorFacts{Requested: "color"}, ColorColor},
		{"highlight asked", ColorFacts{Requested: "highlight"}, ColorColor},
		{"monochrome asked", ColorFacts{Requested: "monochrome"}, ColorMono},
		{"auto-monochrome asked", ColorFacts{Requested: "auto-monochrome"}, ColorMono},
		{"bi-level asked", ColorFacts{Requested: "process-bi-level"}, ColorMono},
		{"content over the request", ColorFacts{Content: ColorMono, Requested: "color"}, ColorMono},
		{"content when nothing asked", ColorFacts{Content: ColorColor}, ColorColor},
		{"content unknown leaves the request", ColorFacts{Content: ColorUnknown, Requested: "monochrome"}, ColorMono},
		{"printer over content and request", ColorFacts{PrinterColor: 1, PrinterMono: 9, Content: ColorMono, Requested: "monochrome"}, ColorColor},
		{"printer printed only mono", ColorFacts{PrinterMono: 4, Content: ColorColor, Requested: "color"}, ColorMono},
		{"printer reported nothing", ColorFacts{Requested: "auto"}, ColorUnknown},
	}
	for _, c := range cases {
		if got := c.facts.Color(); got != c.want {
			t.Errorf("%s: %+v is %q, want %q", c.name, c.facts, got, c.want)
		}
	}
}

// TestColorSQLAgrees: the totals the database counts classify every mode
// as the views do.
func TestColorSQLAgrees(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		modes := []string{"", "auto", "sepia", "it's"}
		for m := range colorModes {
			modes = append(modes, m)
		}
		for _, m := range modes {
			var got string
			err := db.DB.Raw(`SELECT `+colorClassSQL()+` FROM (SELECT ? AS color_mode) AS t`, m).Row().Scan(&got)
			if err != nil {
				t.Fatal(err)
			}
			if want := ColorOfMode(m); Color(got) != want {
				t.Errorf("mode %q: the database says %q, ColorOfMode %q", m, got, want)
			}
		}
	})
}

// TestColorMigration: a record an earlier version counted as colour
// because its job asked for no mode is of unknown colour after the
// migration, and still matches its events.
func TestColorMigration(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := newLog(db, newClock(t0, 1))
		ev := submitted(1, "alice", "a.pdf")
		ev.Job.ColorMode = ""
		appendTx(t, l, db, ev)
		// As the earlier version wrote it.
		if err := db.DB.Exec(`UPDATE audit_jobs SET color = TRUE`).Error; err != nil {
			t.Fatal(err)
		}
		if problem, err := l.CheckJob(ctx, 1); err != nil || problem == "" {
			t.Fatalf("the old record passes as the new one: %q, %v", problem, err)
		}
		if err := colorByRule(db.DB, db.Dialect); err != nil {
			t.Fatal(err)
		}
		if problem, err := l.CheckJob(ctx, 1); err != nil || problem != "" {
			t.Errorf("after the migration: %q, %v", problem, err)
		}
		tot, err := l.Totals(ctx, TotalsQuery{})
		if err != nil || len(tot) != 1 || tot[0].ColorJobs != 0 || tot[0].UnknownColorImpressions != 6 {
			t.Errorf("totals %+v, %v; want the 6 impressions of unknown colour", tot, err)
		}
	})
}

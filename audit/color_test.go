package audit

import (
	"context"
	"strings"
	"testing"
	"time"

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
		{"printer over content and request", ColorFacts{Printer: PrinterColorOf(1, 9), Content: ColorMono, Requested: "monochrome"}, ColorColor},
		{"printer printed only mono", ColorFacts{Printer: PrinterColorOf(0, 4), Content: ColorColor, Requested: "color"}, ColorMono},
		{"printer counted neither", ColorFacts{Printer: PrinterColorOf(0, 0), Content: ColorMono}, ColorMono},
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
		facts := []Color{"", ColorColor, ColorMono, ColorUnknown}
		for _, m := range modes {
			for _, printer := range facts {
				for _, content := range facts {
					f := ColorFacts{Printer: printer, Content: content, Requested: m}
					var got string
					err := db.DB.Raw(`SELECT `+colorClassSQL()+
						` FROM (SELECT ? AS printer_color, ? AS content_color, ? AS color_mode) AS t`,
						string(printer), string(content), m).Row().Scan(&got)
					if err != nil {
						t.Fatal(err)
					}
					if want := f.Color(); Color(got) != want {
						t.Errorf("%+v: the database says %q, ColorFacts %q", f, got, want)
					}
				}
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

// TestColorFactsInRecord: a job that asked for no mode is of unknown
// colour until its search says what the document holds, and then what
// its printer reported printing decides; totals, the job's record and
// Verify agree at each step, and a record edited to another colour is
// named.
func TestColorFactsInRecord(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := newLog(db, newClock(t0, time.Second))
		sub := submitted(1, "alice", "photo.pdf")
		sub.Job.ColorMode = ""
		appendTx(t, l, db, sub)
		step := func(want Color, ev *Event) {
			t.Helper()
			if ev != nil {
				appendTx(t, l, db, *ev)
			}
			job, err := l.Job(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			totals, err := l.Totals(ctx, TotalsQuery{})
			if err != nil || len(totals) != 1 {
				t.Fatalf("totals %+v, %v", totals, err)
			}
			byClass := map[Color]int64{ColorColor: totals[0].ColorImpressions, ColorMono: totals[0].MonoImpressions,
				ColorUnknown: totals[0].UnknownColorImpressions}
			if job.Color() != want || byClass[want] != job.Impressions {
				t.Errorf("after %v: the record says %q, totals %+v; want %q", ev, job.Color(), totals[0], want)
			}
			if problem, err := l.CheckJob(ctx, 1); err != nil || problem != "" {
				t.Errorf("after %v: the record does not match its events: %q, %v", ev, problem, err)
			}
		}
		step(ColorUnknown, nil)
		step(ColorMono, &Event{Type: EventSensitiveContentAbsent, JobID: 1, Actor: ActorSystem,
			Details: map[string]string{DetailContentColor: string(ColorMono), DetailDocumentName: "photo.pdf"}})
		step(ColorColor, &Event{Type: EventDeviceJobMatched, JobID: 1, Actor: ActorSystem, Device: "mfp-3f",
			Printer: "ipp://mfp-3f/ipp/print", Outcome: "printed",
			Details: map[string]string{"source": SourcePrinterLog, "pages": "3",
				DetailPrinterColorPages: "1", DetailPrinterMonoPages: "2"}})
		mustExec(t, db, `UPDATE audit_jobs SET printer_color = 'monochrome', color = FALSE WHERE job_id = 1`)
		if problem, err := l.CheckJob(ctx, 1); err != nil || !strings.Contains(problem, "printer colour") {
			t.Errorf("an edited printer colour passes: %q, %v", problem, err)
		}
	})
}

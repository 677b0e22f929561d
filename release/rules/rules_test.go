package rules

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, c Config, scope string) Rules {
	t.Helper()
	r, err := c.Parse(scope, tokyo(t))
	if err != nil {
		t.Fatalf("Parse(%+v): %v", c, err)
	}
	return r
}

func TestParseRefusesBadRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
		want string
	}{
		{"negative pages", Config{MaxPages: -1}, "max_pages"},
		{"format not a MIME type", Config{Formats: []string{"pdf"}}, "formats"},
		{"format with parameters", Config{Formats: []string{"text/plain; charset=utf-8"}}, "formats"},
		{"hours without a dash", Config{Hours: "08:00"}, "hours"},
		{"hours past 24", Config{Hours: "08:00-25:00"}, "hours"},
		{"minutes past 59", Config{Hours: "08:60-20:00"}, "hours"},
		{"hours not zero-padded", Config{Hours: "8:00-20:00"}, "hours"},
		{"empty window", Config{Hours: "09:00-09:00"}, "hours"},
		{"window from 24:00", Config{Hours: "24:00-08:00"}, "hours"},
		{"unknown weekday", Config{Weekdays: []string{"monday"}}, "weekdays"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.Parse("", nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%+v) = %v, want an error naming %s", tc.c, err, tc.want)
			}
		})
	}
	for _, ok := range []Config{
		{},
		{MaxPages: 50, Formats: []string{"application/pdf", "image/pwg-raster"}, Hours: "08:00-20:00",
			Weekdays: []string{"mon", "TUE", "sun"}, ForceMonochrome: true, ForceTwoSided: true},
		{Hours: "22:00-06:00"},
		{Hours: "00:00-24:00"},
	} {
		if _, err := ok.Parse("", nil); err != nil {
			t.Errorf("Parse(%+v): %v", ok, err)
		}
	}
}

func tokyo(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestCheck(t *testing.T) {
	// 2026-03-02 is a Monday.
	monNoon := time.Date(2026, 3, 2, 12, 0, 0, 0, tokyo(t))
	queue := mustParse(t, Config{MaxPages: 50, Formats: []string{"application/pdf"}, Hours: "08:00-20:00",
		Weekdays: []string{"mon", "tue", "wed", "thu", "fri"}}, "")
	interns := mustParse(t, Config{MaxPages: 10}, "cn=interns,ou=groups,dc=example,dc=com")
	night := mustParse(t, Config{Hours: "22:00-06:00"}, "")
	mono := mustParse(t, Config{ForceMonochrome: true}, "")
	duplexGroup := mustParse(t, Config{ForceTwoSided: true}, "cn=g")
	pdf := func(pages, copies int, at time.Time) Job {
		return Job{Format: "application/pdf", Pages: pages, PagesKnown: true, Copies: copies, At: at}
	}
	for _, tc := range []struct {
		name string
		set  Set
		job  Job
		// rule is the rule that refuses the job, "" if none does; msg a
		// part of its message.
		rule, msg string
	}{
		{"within every rule", Set{queue}, pdf(50, 1, monNoon), "", ""},
		{"no rules", nil, Job{Format: "image/jpeg", At: monNoon}, "", ""},
		{"too many pages", Set{queue}, pdf(51, 1, monNoon), MaxPages,
			"This queue allows at most 50 pages per job; this job has 51 (rule max_pages)."},
		{"copies count", Set{queue}, pdf(26, 2, monNoon), MaxPages, "this job has 52"},
		{"pages unknown", Set{queue}, Job{Format: "application/pdf", At: monNoon}, MaxPages, "could not be counted"},
		{"format not allowed", Set{queue}, Job{Format: "image/jpeg", Pages: 1, PagesKnown: true, At: monNoon}, Formats,
			"This queue accepts only application/pdf documents, not image/jpeg (rule formats)."},
		{"format case", Set{queue}, Job{Format: "Application/PDF", Pages: 1, PagesKnown: true, At: monNoon}, "", ""},
		{"before hours", Set{queue}, pdf(1, 1, monNoon.Add(-4*time.Hour-time.Minute)), Hours,
			"only during 08:00-20:00 (Asia/Tokyo); it is 07:59 now (rule hours)"},
		{"at opening", Set{queue}, pdf(1, 1, monNoon.Add(-4*time.Hour)), "", ""},
		{"at closing", Set{queue}, pdf(1, 1, monNoon.Add(8*time.Hour)), Hours, "it is 20:00 now"},
		{"hours in the rules' zone", Set{queue}, pdf(1, 1, monNoon.UTC()), "", ""},
		{"days in the rules' zone", Set{queue}, pdf(1, 1, monNoon.Add(-12*time.Hour+time.Minute).UTC()), Hours, "it is 00:01 now"},
		{"Format in capitals", Set{mustParse(t, Config{Formats: []string{"Application/PDF"}}, "")},
			Job{Format: "application/pdf", At: monNoon}, "", ""},
		{"saturday", Set{queue}, pdf(1, 1, monNoon.AddDate(0, 0, 5)), Weekdays,
			"only on mon, tue, wed, thu, fri; today is sat (rule weekdays)"},
		{"overnight, late", Set{night}, pdf(1, 1, monNoon.Add(11*time.Hour)), "", ""},
		{"overnight, early", Set{night}, pdf(1, 1, monNoon.Add(-7*time.Hour)), "", ""},
		{"overnight, noon", Set{night}, pdf(1, 1, monNoon), Hours, "22:00-06:00"},
		{"group limit is stricter", Set{queue, interns}, pdf(11, 1, monNoon), MaxPages,
			"Members of group cn=interns,ou=groups,dc=example,dc=com may print at most 10 pages per job; this job has 11 (rule max_pages)."},
		{"queue limit refuses first", Set{queue, interns}, pdf(60, 1, monNoon), MaxPages, "This queue allows"},
		{"monochrome on a format that could undo it", Set{mono}, Job{Format: "application/vnd.hp-pcl", At: monNoon}, ForceMonochrome,
			"The print rule force_monochrome cannot be enforced on application/vnd.hp-pcl documents, whose own settings could undo it: print the document as PDF or PostScript (rule force_monochrome)."},
		{"two-sided of a group", Set{duplexGroup}, Job{Format: "image/pwg-raster", At: monNoon}, ForceTwoSided,
			"The print rule force_two_sided of group cn=g cannot be enforced on image/pwg-raster"},
		{"force rules on a format they hold on", Set{mono, duplexGroup}, Job{Format: "application/pdf", Enforceable: true, At: monNoon}, "", ""},
		{"no force rule", Set{night}, Job{Format: "application/vnd.hp-pcl", At: monNoon.Add(11 * time.Hour)}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.set.Check(tc.job)
			if tc.rule == "" {
				if err != nil {
					t.Fatalf("Check = %v, want allowed", err)
				}
				return
			}
			var v *Violation
			if !errors.As(err, &v) {
				t.Fatalf("Check = %v, want a violation of %s", err, tc.rule)
			}
			if v.Rule != tc.rule || !strings.Contains(v.Message, tc.msg) {
				t.Errorf("violation %s %q, want %s with %q", v.Rule, v.Message, tc.rule, tc.msg)
			}
		})
	}
}

func TestApply(t *testing.T) {
	mono := mustParse(t, Config{ForceMonochrome: true}, "")
	duplex := mustParse(t, Config{ForceTwoSided: true}, "cn=g")
	limit := mustParse(t, Config{MaxPages: 3}, "")
	for _, tc := range []struct {
		name    string
		set     Set
		in, out Options
		applied []string
	}{
		{"none", Set{limit}, Options{Sides: "one-sided", ColorMode: "color"}, Options{Sides: "one-sided", ColorMode: "color"}, nil},
		{"monochrome", Set{mono}, Options{ColorMode: "color"}, Options{ColorMode: "monochrome"}, []string{ForceMonochrome}},
		{"two-sided", Set{duplex}, Options{Sides: "one-sided"}, Options{Sides: "two-sided-long-edge"}, []string{ForceTwoSided}},
		{"short edge kept", Set{duplex}, Options{Sides: "two-sided-short-edge"}, Options{Sides: "two-sided-short-edge"}, []string{ForceTwoSided}},
		{"from queue and group", Set{limit, duplex, mono}, Options{}, Options{Sides: "two-sided-long-edge", ColorMode: "monochrome"},
			[]string{ForceMonochrome, ForceTwoSided}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.in
			applied := tc.set.Apply(&o)
			if o != tc.out || !slices.Equal(applied, tc.applied) {
				t.Errorf("Apply(%+v) = %+v %v, want %+v %v", tc.in, o, applied, tc.out, tc.applied)
			}
		})
	}
}

// FuzzParse feeds the parser of configured rules anything: it never
// panics, and what it accepts it accepts again the same.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"08:00-20:00", "22:00-06:00", "00:00-24:00", "8-20", "", "99:99-00:00", "08:00 - 20:00"} {
		f.Add(s, "mon", "application/pdf", -1)
	}
	f.Fuzz(func(t *testing.T, hours, day, format string, pages int) {
		c := Config{Hours: hours, Weekdays: []string{day}, Formats: []string{format}, MaxPages: pages}
		r, err := c.Parse("", nil)
		if err != nil {
			return
		}
		if hours != "" && (r.from < 0 || r.from >= 24*60 || r.to < 0 || r.to > 24*60 || r.from == r.to) {
			t.Fatalf("window %q parsed to %d-%d", hours, r.from, r.to)
		}
		r.check(Job{Format: format, At: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)})
	})
}

// Package rules holds printgate's print rules (プリント制御): what a queue,
// or a directory group, allows and forces. Rules checked when a job
// arrives (most pages, allowed formats, allowed hours and weekdays)
// refuse it with a Violation that names the rule; rules applied when a
// job is sent to a printer (force monochrome, force two-sided) change its
// options. A job is under every rule of its queue and of each group its
// owner belongs to, so the strictest of them wins.
package rules

import (
	"errors"
	"fmt"
	"mime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Rule names, as the configuration spells them; a Violation and the audit
// trail name a rule with them.
const (
	ForceMonochrome = "force_monochrome"
	ForceTwoSided   = "force_two_sided"
	MaxPages        = "max_pages"
	Formats         = "formats"
	Hours           = "hours"
	Weekdays        = "weekdays"
)

// Config is one set of rules as the configuration file writes it, under
// queues[].rules or rules_by_group[]. Zero values impose nothing.
type Config struct {
	// ForceMonochrome prints every job in monochrome.
	ForceMonochrome bool `yaml:"force_monochrome,omitempty"`
	// ForceTwoSided prints every job on both sides (long edge, unless the
	// job asked for short edge).
	ForceTwoSided bool `yaml:"force_two_sided,omitempty"`
	// MaxPages refuses a job of more pages, copies included (0: no limit).
	MaxPages int `yaml:"max_pages,omitempty"`
	// Formats are the document formats (MIME types) accepted; empty
	// accepts every format of the queue.
	Formats []string `yaml:"formats,omitempty"`
	// Hours is when jobs are accepted, "HH:MM-HH:MM" in audit.time_zone;
	// a window that ends before it starts runs past midnight.
	Hours string `yaml:"hours,omitempty"`
	// Weekdays are the days jobs are accepted (mon … sun); empty: every day.
	Weekdays []string `yaml:"weekdays,omitempty"`
}

// GroupConfig is the rules of the members of one directory group.
type GroupConfig struct {
	// Group names the group as the directory does (an LDAP group DN).
	Group  string `yaml:"group"`
	Config `yaml:",inline"`
}

// Rules is one parsed set of rules.
type Rules struct {
	// Scope says whose rules these are, for messages: "" for a queue's,
	// else the group's name.
	Scope           string
	ForceMonochrome bool
	ForceTwoSided   bool
	MaxPages        int
	Formats         []string
	// Hours is "" or the window as configured; from and to are its ends
	// in minutes after midnight.
	Hours    string
	from, to int
	// days holds bit d for each allowed time.Weekday d; 0 allows all.
	days uint8
	// loc is the time zone of Hours and Weekdays.
	loc *time.Location
}

// Parse checks c and returns its rules, with scope (see Rules.Scope),
// whose hours and weekdays are in time zone loc (nil: UTC). An error
// names the rule that is wrong.
func (c Config) Parse(scope string, loc *time.Location) (Rules, error) {
	r := Rules{Scope: scope, ForceMonochrome: c.ForceMonochrome, ForceTwoSided: c.ForceTwoSided,
		MaxPages: c.MaxPages, Hours: c.Hours, loc: loc}
	if r.loc == nil {
		r.loc = time.UTC
	}
	var errs []error
	if c.MaxPages < 0 {
		errs = append(errs, fmt.Errorf("%s: %d must not be negative (0: no limit)", MaxPages, c.MaxPages))
	}
	for _, f := range c.Formats {
		mt, params, err := mime.ParseMediaType(f)
		if err != nil || len(params) > 0 || !strings.Contains(mt, "/") {
			errs = append(errs, fmt.Errorf("%s: %q is not a document format such as application/pdf", Formats, f))
			continue
		}
		r.Formats = append(r.Formats, mt)
	}
	if c.Hours != "" {
		var err error
		if r.from, r.to, err = ParseHours(c.Hours); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", Hours, err))
		}
	}
	for _, d := range c.Weekdays {
		i := slices.Index(weekdayNames[:], strings.ToLower(d))
		if i < 0 {
			errs = append(errs, fmt.Errorf("%s: %q must be one of mon, tue, wed, thu, fri, sat, sun", Weekdays, d))
			continue
		}
		r.days |= 1 << i
	}
	return r, errors.Join(errs...)
}

// weekdayNames are indexed by time.Weekday.
var weekdayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseHours parses a window "HH:MM-HH:MM" into minutes after midnight.
// The end may be 24:00; a window that ends before it starts runs past
// midnight; an empty window (start = end) is refused.
func ParseHours(s string) (from, to int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if ok {
		from, err = parseClock(strings.TrimSpace(a))
	}
	if ok && err == nil {
		to, err = parseClock(strings.TrimSpace(b))
	}
	switch {
	case !ok || err != nil:
		return 0, 0, fmt.Errorf("%q must be a window such as 08:00-20:00", s)
	case from == to || from == 24*60:
		return 0, 0, fmt.Errorf("%q is an empty window", s)
	}
	return from, to, nil
}

// parseClock parses "HH:MM" (00:00 to 24:00) into minutes after midnight.
func parseClock(s string) (int, error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, errors.New("not HH:MM")
	}
	digits := func(s string) (int, bool) {
		if s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
			return 0, false
		}
		return int(s[0]-'0')*10 + int(s[1]-'0'), true
	}
	h, ok1 := digits(s[:2])
	m, ok2 := digits(s[3:])
	if !ok1 || !ok2 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, errors.New("not HH:MM")
	}
	return h*60 + m, nil
}

// Set is the rules a job is under: its queue's, then those of each group
// its owner belongs to.
type Set []Rules

// Job is what the rules checked at submission look at.
type Job struct {
	// Format is the document's format (MIME type).
	Format string
	// Pages is the page count of one copy when PagesKnown.
	Pages      int
	PagesKnown bool
	Copies     int
	// At is when the job arrived.
	At time.Time
	// Enforceable says the force rules can be made to hold on the
	// document whatever it says itself: its format carries no print
	// settings of its own, or printgate rewrites it without them. Which
	// formats are is the printing side's to say (release); a job that
	// does not say is refused by a force rule.
	Enforceable bool
}

// Violation is a job refused by a rule. Message is written for the person
// who printed, and names the rule.
type Violation struct {
	// Rule is the rule's name (MaxPages …); Scope as in Rules.
	Rule, Scope string
	Message     string
}

func (v *Violation) Error() string { return "rules: " + v.Message }

// Check returns a *Violation for the first rule of s that refuses j, or
// nil when every rule allows it. A job whose pages are unknown is refused
// by a page limit: it could be any length.
func (s Set) Check(j Job) error {
	for _, r := range s {
		if v := r.check(j); v != nil {
			v.Scope = r.Scope
			return v
		}
	}
	return nil
}

func (r Rules) check(j Job) *Violation {
	if r.loc != nil {
		j.At = j.At.In(r.loc)
	}
	// How the message starts: what the queue does, or what the group's
	// members may do.
	accepts, acceptsJobs, allows := "This queue accepts", "This queue accepts jobs", "This queue allows"
	if r.Scope != "" {
		accepts = "Members of group " + r.Scope + " may print"
		acceptsJobs, allows = accepts, accepts
	}
	if len(r.Formats) > 0 && !slices.Contains(r.Formats, strings.ToLower(j.Format)) {
		return &Violation{Rule: Formats, Message: fmt.Sprintf("%s only %s documents, not %s (rule %s).",
			accepts, strings.Join(r.Formats, ", "), j.Format, Formats)}
	}
	if rule := r.forced(); rule != "" && !j.Enforceable {
		return &Violation{Rule: rule, Message: Unenforceable(rule, r.Scope, j.Format)}
	}
	if r.days != 0 && r.days&(1<<j.At.Weekday()) == 0 {
		return &Violation{Rule: Weekdays, Message: fmt.Sprintf("%s only on %s; today is %s (rule %s).",
			acceptsJobs, r.dayList(), weekdayNames[j.At.Weekday()], Weekdays)}
	}
	if r.Hours != "" && !r.inHours(j.At) {
		return &Violation{Rule: Hours, Message: fmt.Sprintf("%s only during %s (%s); it is %s now (rule %s).",
			acceptsJobs, r.Hours, j.At.Location(), j.At.Format("15:04"), Hours)}
	}
	if r.MaxPages > 0 {
		total := j.Pages * max(j.Copies, 1)
		switch {
		case !j.PagesKnown:
			return &Violation{Rule: MaxPages, Message: fmt.Sprintf(
				"%s at most %s per job, and this document's pages could not be counted (rule %s).",
				allows, pagesWord(r.MaxPages), MaxPages)}
		case total > r.MaxPages:
			return &Violation{Rule: MaxPages, Message: fmt.Sprintf(
				"%s at most %s per job; this job has %d (rule %s).", allows, pagesWord(r.MaxPages), total, MaxPages)}
		}
	}
	return nil
}

// forced returns the first force rule of r, or "".
func (r Rules) forced() string {
	switch {
	case r.ForceMonochrome:
		return ForceMonochrome
	case r.ForceTwoSided:
		return ForceTwoSided
	}
	return ""
}

// Unenforceable says, for the person who printed, that force rule (of
// group scope, "" for the queue's) cannot hold on a document of format.
func Unenforceable(rule, scope, format string) string {
	of := ""
	if scope != "" {
		of = " of group " + scope
	}
	return fmt.Sprintf("The print rule %s%s cannot be enforced on %s documents, whose own settings could undo it: print the document as PDF or PostScript (rule %s).",
		rule, of, format, rule)
}

// pagesWord says n pages.
func pagesWord(n int) string {
	if n == 1 {
		return "1 page"
	}
	return strconv.Itoa(n) + " pages"
}

// inHours reports whether t's clock time is within the window.
func (r Rules) inHours(t time.Time) bool {
	m := t.Hour()*60 + t.Minute()
	if r.from < r.to {
		return m >= r.from && m < r.to
	}
	return m >= r.from || m < r.to
}

// dayList lists the allowed weekdays, Monday first.
func (r Rules) dayList() string {
	var out []string
	for i := range 7 {
		d := (i + 1) % 7
		if r.days&(1<<d) != 0 {
			out = append(out, weekdayNames[d])
		}
	}
	return strings.Join(out, ", ")
}

// Options are the job options the force rules change.
type Options struct {
	// Sides and ColorMode are IPP keywords ("" when the job asked for
	// neither and the printer's default applies).
	Sides, ColorMode string
}

// Apply changes o as the force rules of s say and returns the names of
// the rules in force, in a fixed order, for the audit trail (nil when
// none is).
func (s Set) Apply(o *Options) []string {
	var mono, duplex bool
	for _, r := range s {
		mono = mono || r.ForceMonochrome
		duplex = duplex || r.ForceTwoSided
	}
	var applied []string
	if mono {
		o.ColorMode = "monochrome"
		applied = append(applied, ForceMonochrome)
	}
	if duplex {
		if o.Sides != "two-sided-short-edge" {
			o.Sides = "two-sided-long-edge"
		}
		applied = append(applied, ForceTwoSided)
	}
	return applied
}

// Empty reports whether r imposes nothing.
func (r Rules) Empty() bool {
	return !r.ForceMonochrome && !r.ForceTwoSided && r.MaxPages == 0 && len(r.Formats) == 0 &&
		r.Hours == "" && r.days == 0
}

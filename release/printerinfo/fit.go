package printerinfo

import (
	"fmt"
	"slices"
	"strings"
)

// Action says what a release does with a job option its printer cannot
// honour.
type Action string

// Actions.
const (
	// Print prints with the nearest option the printer has, and the
	// change is recorded.
	Print Action = "print"
	// Refuse fails the release: the job stays held, with the reason.
	Refuse Action = "refuse"
)

// Policy says, per option, what a release does when the printer cannot
// honour it. An empty Action is the DefaultPolicy's.
type Policy struct {
	Copies, Sides, Color, Media, PageRanges Action
}

// DefaultPolicy is what an office expects: a two-sided job on a
// one-sided printer prints one-sided, a colour job on a monochrome
// printer prints in black and white, a job on paper the printer does not
// list prints on the printer's choice, all recorded; fewer copies or more
// pages than asked are refused, since the user would leave with the
// wrong amount of paper.
func DefaultPolicy() Policy {
	return Policy{Copies: Refuse, Sides: Print, Color: Print, Media: Print, PageRanges: Refuse}
}

func (p Policy) orDefault() Policy {
	d := DefaultPolicy()
	return Policy{
		Copies: or(p.Copies, d.Copies), Sides: or(p.Sides, d.Sides), Color: or(p.Color, d.Color),
		Media: or(p.Media, d.Media), PageRanges: or(p.PageRanges, d.PageRanges),
	}
}

func or(a, b Action) Action {
	if a == "" {
		return b
	}
	return a
}

// JobOptions are a job's options as sent to a printer. Zero values are not
// sent: the printer's default applies.
type JobOptions struct {
	Copies int
	// Sides, ColorMode and Media are IPP keywords (sides,
	// print-color-mode, media).
	Sides, ColorMode, Media string
	// PageRanges is page-ranges as "1-3,7", empty for every page.
	PageRanges string
}

// Change is one option the printer gets other than the job asked.
type Change struct {
	// Attr is the IPP attribute: "sides", "print-color-mode", ...
	Attr string
	// From is what the job asked, To what is sent; an empty To means the
	// option is not sent and the printer's default applies.
	From, To string
}

// Unsupported is the error of a job option its printer cannot honour,
// under a policy that refuses.
type Unsupported struct {
	Attr, Value string
	// Supported is what the printer offers instead.
	Supported []string
}

// Reason is the job-state-reasons style keyword of the refusal, such as
// "sides-not-supported".
func (u *Unsupported) Reason() string { return u.Attr + "-not-supported" }

func (u *Unsupported) Error() string {
	return fmt.Sprintf("printerinfo: the printer cannot honour %s %s (it supports %s)",
		u.Attr, u.Value, strings.Join(u.Supported, ", "))
}

// Fit returns the options to send, for a job asking opts, to a printer
// with caps, and the changes it made; or an *Unsupported error where the
// printer cannot honour an option and the policy refuses. A printer whose
// capabilities are unknown gets the options as they are.
func Fit(opts JobOptions, caps Capabilities, p Policy) (JobOptions, []Change, error) {
	if !caps.Known {
		return opts, nil, nil
	}
	p = p.orDefault()
	out := opts
	var changes []Change
	for _, f := range [...]func(*JobOptions, Capabilities, Policy) (*Change, error){
		fitCopies, fitSides, fitColor, fitMedia, fitPageRanges,
	} {
		c, err := f(&out, caps, p)
		if err != nil {
			return opts, nil, err
		}
		if c != nil {
			changes = append(changes, *c)
		}
	}
	return out, changes, nil
}

func fitCopies(o *JobOptions, caps Capabilities, p Policy) (*Change, error) {
	if caps.CopiesMax <= 0 || o.Copies <= caps.CopiesMax {
		return nil, nil
	}
	if p.Copies == Refuse {
		return nil, &Unsupported{Attr: "copies", Value: fmt.Sprint(o.Copies), Supported: []string{fmt.Sprintf("1-%d", caps.CopiesMax)}}
	}
	c := &Change{Attr: "copies", From: fmt.Sprint(o.Copies), To: fmt.Sprint(caps.CopiesMax)}
	o.Copies = caps.CopiesMax
	return c, nil
}

func fitSides(o *JobOptions, caps Capabilities, p Policy) (*Change, error) {
	supported := caps.Sides
	if len(supported) == 0 {
		// A printer that lists no sides prints on one side only.
		supported = []string{"one-sided"}
	}
	if o.Sides == "" || slices.Contains(supported, o.Sides) {
		return nil, nil
	}
	to := ""
	if strings.HasPrefix(o.Sides, "two-sided-") {
		to = first(supported, "two-sided-long-edge", "two-sided-short-edge")
		if to == "" {
			if p.Sides == Refuse {
				return nil, &Unsupported{Attr: "sides", Value: o.Sides, Supported: supported}
			}
			to = first(supported, "one-sided")
		}
	}
	c := &Change{Attr: "sides", From: o.Sides, To: to}
	o.Sides = to
	return c, nil
}

// monoModes are the print-color-mode values that print without colour,
// nearest to "monochrome" first.
var monoModes = []string{"monochrome", "auto-monochrome", "process-monochrome", "bi-level", "process-bi-level"}

func fitColor(o *JobOptions, caps Capabilities, p Policy) (*Change, error) {
	supported := caps.ColorModes
	if len(supported) == 0 {
		supported = []string{"monochrome"}
		if caps.Color {
			supported = append(supported, "color")
		}
	}
	if o.ColorMode == "" || slices.Contains(supported, o.ColorMode) {
		return nil, nil
	}
	to := ""
	switch {
	case o.ColorMode == "color" && p.Color == Refuse:
		return nil, &Unsupported{Attr: "print-color-mode", Value: o.ColorMode, Supported: supported}
	case o.ColorMode == "color" || slices.Contains(monoModes, o.ColorMode):
		to = first(supported, monoModes...)
		if to == "" && p.Color == Refuse {
			// Black and white asked of a printer with no such mode.
			return nil, &Unsupported{Attr: "print-color-mode", Value: o.ColorMode, Supported: supported}
		}
	}
	c := &Change{Attr: "print-color-mode", From: o.ColorMode, To: to}
	o.ColorMode = to
	return c, nil
}

func fitMedia(o *JobOptions, caps Capabilities, p Policy) (*Change, error) {
	if o.Media == "" || len(caps.Media) == 0 || slices.Contains(caps.Media, o.Media) {
		return nil, nil
	}
	if p.Media == Refuse {
		return nil, &Unsupported{Attr: "media", Value: o.Media, Supported: caps.Media}
	}
	c := &Change{Attr: "media", From: o.Media}
	o.Media = ""
	return c, nil
}

func fitPageRanges(o *JobOptions, caps Capabilities, p Policy) (*Change, error) {
	if o.PageRanges == "" || caps.PageRanges {
		return nil, nil
	}
	if p.PageRanges == Refuse {
		return nil, &Unsupported{Attr: "page-ranges", Value: o.PageRanges, Supported: []string{"every page"}}
	}
	c := &Change{Attr: "page-ranges", From: o.PageRanges}
	o.PageRanges = ""
	return c, nil
}

// first returns the first of want that have contains, or "".
func first(have []string, want ...string) string {
	for _, w := range want {
		if slices.Contains(have, w) {
			return w
		}
	}
	return ""
}

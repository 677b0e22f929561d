package release

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release/convert"
	"github.com/printgate/printgate/release/printerinfo"
	"github.com/printgate/printgate/release/rules"
)

// honoured is what a print changed of a job's options to fit its
// printer; its details go into the audit events of the print.
type honoured struct {
	changes []printerinfo.Change
	// notSent are the options an AppSocket printer could not be given.
	notSent []string
	// dropped says options were dropped after the printer refused them,
	// and sent is the request with them dropped.
	dropped bool
	sent    ipp.PrintRequest
	// converted says what the document was converted from and to for
	// the printer ("application/pdf -> image/pwg-raster"), if it was.
	converted string
	// selected are page ranges the printer cannot select itself, left
	// to the converter; pages those the converter selected, and
	// rulesConverted the force rules it rewrote the content for.
	selected, pages string
	rulesConverted  []string
}

// honour fits req's options to what printer supports, as the policy
// says, and returns what it changed; an option the policy will not give
// up fails with a *printerinfo.Unsupported. retry, when it dropped
// options after a refusal, is applied instead.
func (s *Service) honour(ctx context.Context, printer string, req *ipp.PrintRequest, retry honoured, p printerinfo.Policy) (honoured, error) {
	if retry.dropped {
		req.Copies, req.Sides, req.ColorMode, req.Media = retry.sent.Copies, retry.sent.Sides, retry.sent.ColorMode, retry.sent.Media
		req.PageRanges = retry.sent.PageRanges
		return retry, nil
	}
	if printerinfo.Socket(printer) {
		// AppSocket carries the document alone: whatever the job asked
		// is up to the document and the printer's panel, except what
		// must not be left to them (a print rule, a refuse policy).
		if attr := unsendable(*req, p); attr != "" {
			return honoured{}, &heldError{attr + "-not-supported",
				"This printer cannot be told how to print this job (" + attr + "), as a print rule or the settings require. Print it at another printer.",
				fmt.Errorf("release: %s over AppSocket", attr)}
		}
		return honoured{notSent: askedOptions(*req), sent: *req}, nil
	}
	info := s.printers.Check(ctx, printer)
	var selected string
	if req.PageRanges != "" && s.selectsPages(req.DocumentFormat, info.Caps) {
		// The printer would print every page; the converter selects them.
		selected, req.PageRanges = req.PageRanges, ""
	}
	opts, changes, err := printerinfo.Fit(printerinfo.JobOptions{Copies: req.Copies, Sides: req.Sides,
		ColorMode: req.ColorMode, Media: req.Media, PageRanges: req.PageRanges}, info.Caps, p)
	if err != nil {
		return honoured{}, fmt.Errorf("release: print to %s: %w", printer, err)
	}
	req.Copies, req.Sides, req.ColorMode, req.Media = opts.Copies, opts.Sides, opts.ColorMode, opts.Media
	req.PageRanges = opts.PageRanges
	return honoured{changes: changes, sent: *req, selected: selected}, nil
}

// selectsPages reports whether the converter selects the pages of a
// document of format for a printer with caps, which cannot.
func (s *Service) selectsPages(format string, caps printerinfo.Capabilities) bool {
	return caps.Known && !caps.PageRanges && s.converter != nil && convert.Reads(format)
}

// policyFor is the policy for j's options: the configured one, except
// that an option a print rule forced is never given up, since the rule
// is the organisation's own word (rules.go).
func (s *Service) policyFor(j *Job) printerinfo.Policy {
	p := s.unsupported
	for _, r := range strings.Split(j.appliedRules, ",") {
		switch r {
		case rules.ForceTwoSided:
			p.Sides = printerinfo.Refuse
		case rules.ForceMonochrome:
			p.Color = printerinfo.Refuse
		}
	}
	return p
}

// unsendable returns the first option of req that an AppSocket printer
// would ignore and p does not let go: two-sided, monochrome (a rule's)
// or page ranges.
func unsendable(req ipp.PrintRequest, p printerinfo.Policy) string {
	switch {
	case p.Sides == printerinfo.Refuse && strings.HasPrefix(req.Sides, "two-sided"):
		return "sides"
	case p.Color == printerinfo.Refuse && req.ColorMode == "monochrome":
		return "print-color-mode"
	case p.PageRanges == printerinfo.Refuse && req.PageRanges != "":
		return "page-ranges"
	}
	return ""
}

// askedOptions lists the options a request asks for.
func askedOptions(req ipp.PrintRequest) []string {
	var out []string
	for _, o := range [...]struct {
		attr  string
		asked bool
	}{{"copies", req.Copies > 1}, {"sides", req.Sides != ""}, {"print-color-mode", req.ColorMode != ""},
		{"media", req.Media != ""}} {
		if o.asked {
			out = append(out, o.attr)
		}
	}
	return out
}

// dropAllowed returns h with the options the policy lets go dropped, for
// a second try at a printer that refused them; dropped is false when
// there is none to drop.
func (h honoured) dropAllowed(p printerinfo.Policy) honoured {
	def := printerinfo.DefaultPolicy()
	allowed := func(a, d printerinfo.Action) bool { return a == printerinfo.Print || a == "" && d == printerinfo.Print }
	out := h
	out.changes = append([]printerinfo.Change(nil), h.changes...)
	for _, o := range [...]struct {
		attr string
		val  *string
		ok   bool
	}{
		{"sides", &out.sent.Sides, allowed(p.Sides, def.Sides)},
		{"print-color-mode", &out.sent.ColorMode, allowed(p.Color, def.Color)},
		{"media", &out.sent.Media, allowed(p.Media, def.Media)},
	} {
		if *o.val == "" || !o.ok {
			continue
		}
		out.dropped = true
		out.changes = dropped(out.changes, o.attr, *o.val)
		*o.val = ""
	}
	if out.sent.Copies > 1 && allowed(p.Copies, def.Copies) {
		out.dropped = true
		out.changes = dropped(out.changes, "copies", strconv.Itoa(out.sent.Copies))
		out.sent.Copies = 0
	}
	return out
}

// dropped records that attr, sent as val, is no longer sent.
func dropped(changes []printerinfo.Change, attr, val string) []printerinfo.Change {
	for i := range changes {
		if changes[i].Attr == attr {
			changes[i].To = ""
			return changes
		}
	}
	return append(changes, printerinfo.Change{Attr: attr, From: val})
}

// details are the audit event details of what h changed: "downgraded"
// lists the options changed, each with "asked -> sent"; an AppSocket
// print lists in "options_not_sent" what it could not pass on.
func (h honoured) details() map[string]string {
	if len(h.changes) == 0 && len(h.notSent) == 0 && h.converted == "" {
		return nil
	}
	d := make(map[string]string, len(h.changes)+4)
	attrs := make([]string, 0, len(h.changes))
	for _, c := range h.changes {
		attrs = append(attrs, c.Attr)
		to := c.To
		if to == "" {
			to = "printer default"
		}
		d[c.Attr] = c.From + " -> " + to
	}
	if len(attrs) > 0 {
		d["downgraded"] = strings.Join(attrs, ",")
	}
	if len(h.notSent) > 0 {
		d["options_not_sent"] = strings.Join(h.notSent, ",")
	}
	if h.converted != "" {
		d["converted"] = h.converted
	}
	if h.pages != "" {
		// page-ranges printed by sending only those pages.
		d["pages_selected"] = h.pages
	}
	if len(h.rulesConverted) > 0 {
		// The force rules the content was rewritten for (grey, without
		// its own settings), beside "rules", the rules in force.
		d["rules_converted"] = strings.Join(h.rulesConverted, ",")
	}
	return d
}

// unsupportedMessage says for a person at the printer why the job was
// not printed there.
func unsupportedMessage(u *printerinfo.Unsupported) string {
	switch u.Attr {
	case "copies":
		return fmt.Sprintf("This printer prints at most %s copies of a job; the job asks for %s. Print it at another printer, or print fewer copies.",
			strings.TrimPrefix(strings.Join(u.Supported, ""), "1-"), u.Value)
	case "sides":
		return "This printer cannot print on both sides; the job asks for two-sided printing. Print it at another printer."
	case "print-color-mode":
		return "This printer cannot print in colour; the job asks for colour. Print it at another printer."
	case "media":
		return fmt.Sprintf("This printer has no %s paper. Print the job at another printer.", u.Value)
	case "page-ranges":
		return "This printer cannot print only some pages; the job asks for a page range. Print it at another printer."
	}
	return "This printer cannot print the job as it asks. Print it at another printer."
}

package release

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/audit/pages"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release/convert"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/rules"
)

// EventRefusedByRule is the audit event of a job refused at submission by
// a print rule: nothing of the job is stored, so the event has no job ID;
// its Reason names the rule.
const EventRefusedByRule = "refused-by-rule"

// errRulesUnknown is a print that could not learn the rules of its
// owner's groups: the directory did not answer.
var errRulesUnknown = errors.New("release: the print rules of the owner's groups are unknown")

// rulesFor returns the print rules owner's jobs on q are under: the
// queue's, then those of each group that holds owner. A directory that
// cannot answer is an error wrapping ErrUnavailable: a group's rules are
// never skipped for want of an answer.
func (s *Service) rulesFor(ctx context.Context, q Queue, owner string) (rules.Set, error) {
	set := rules.Set{}
	if !q.Rules.Empty() {
		set = append(set, q.Rules)
	}
	if len(s.groupRules) == 0 {
		return set, nil
	}
	gd, _ := s.dir.(directory.GroupDirectory) // New checked it
	groups := make([]string, len(s.groupRules))
	for i, r := range s.groupRules {
		groups[i] = r.Scope
	}
	in, err := gd.InGroups(ctx, owner, groups)
	if errors.Is(err, directory.ErrNotFound) {
		return set, nil
	}
	if err != nil {
		return nil, fmt.Errorf("release: groups of %s: %w: %w: %w", owner, errRulesUnknown, ErrUnavailable, err)
	}
	for _, r := range s.groupRules {
		for _, g := range in {
			if g == r.Scope {
				set = append(set, r)
				break
			}
		}
	}
	return set, nil
}

// checkRules refuses j, whose document has been received on q, when a
// print rule forbids it, with a message naming the rule. The refusal is
// audited; the caller discards the document.
func (s *Service) checkRules(ctx context.Context, q Queue, j *Job) error {
	set, err := s.rulesFor(ctx, q, j.Owner)
	if err != nil {
		return err
	}
	err = set.Check(rules.Job{Format: j.Format, Pages: j.Pages, PagesKnown: j.PagesReason == "",
		Copies: j.Copies, At: s.now(), Enforceable: enforceable(j.Format)})
	var v *rules.Violation
	if !errors.As(err, &v) {
		return err
	}
	details := map[string]string{"rule": v.Rule, "format": j.Format, "copies": strconv.Itoa(j.Copies)}
	if j.PagesReason == "" {
		details["pages"] = strconv.Itoa(j.Pages)
	}
	if v.Scope != "" {
		details["group"] = v.Scope
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, err := s.audit.Append(ctx, tx, audit.Event{Type: EventRefusedByRule, Owner: j.Owner, Actor: j.Owner,
			Queue: q.Name, Outcome: "refused", Reason: v.Rule, Details: details})
		return err
	})
	if err != nil {
		return dbErr("record refusal by rule", err)
	}
	kind := ErrNotPossible
	switch v.Rule {
	case rules.Formats, rules.ForceMonochrome, rules.ForceTwoSided:
		// A force rule refuses a job at submission only for its format.
		kind = ErrFormatNotAllowed
	}
	return refuse(kind, v.Message)
}

// enforceable reports whether the force rules hold on a document of
// format whatever it says itself. PDF and PostScript are rewritten by the
// converter (a PJL header, setpagedevice and colour do not survive it);
// JPEG and PNG carry no print settings. Anything else could undo them:
// PCL and PJL carry their own commands, raster formats their own
// duplex and colour in each page's header, plain text and unknown bytes
// may be taken by a printer for a language of its own. Such documents
// are refused at submission, where the person printing is still at
// their desk and the answer does not depend on the printer; a job held
// before its queue had the rule is held at release (converted).
func enforceable(format string) bool {
	// The converter is asked to read format as it is (converted), so it
	// is judged as it is here too.
	if convert.Reads(format) {
		return true
	}
	f := baseFormat(format)
	return f == pages.FormatJPEG || f == pages.FormatPNG
}

// forcedRules returns the force rules among the names applyRules kept
// (Job.appliedRules): the ones a document's content could undo.
func forcedRules(applied string) []string {
	var out []string
	for _, r := range strings.Split(applied, ",") {
		if r == rules.ForceMonochrome || r == rules.ForceTwoSided {
			out = append(out, r)
		}
	}
	return out
}

// applyRules changes what req asks the printer for as the force rules of
// j's queue and of its owner's groups say (monochrome, two-sided), and
// keeps on j the names of the rules in force for the events of its print.
func (s *Service) applyRules(ctx context.Context, j *Job, req *ipp.PrintRequest) error {
	q, err := s.queue(j.Queue)
	if err != nil {
		return err
	}
	set, err := s.rulesFor(ctx, q, j.Owner)
	if err != nil {
		return err
	}
	o := rules.Options{Sides: req.Sides, ColorMode: req.ColorMode}
	j.appliedRules = strings.Join(set.Apply(&o), ",")
	req.Sides, req.ColorMode = o.Sides, o.ColorMode
	return nil
}

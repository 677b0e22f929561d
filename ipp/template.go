package ipp

import (
	"slices"

	"github.com/OpenPrinting/goipp"
)

// templateCheck validates one job template attribute; ok is false when the
// value is not supported and the attribute goes to the unsupported group.
type templateCheck func(a goipp.Attribute, p Printer) (ok bool)

func oneOf(vals ...string) templateCheck {
	return func(a goipp.Attribute, _ Printer) bool {
		return singleString(a, func(s string) bool { return slices.Contains(vals, s) })
	}
}

func intIn(lo, hi int) templateCheck {
	return func(a goipp.Attribute, _ Printer) bool {
		if len(a.Values) != 1 {
			return false
		}
		i, ok := a.Values[0].V.(goipp.Integer)
		return ok && int(i) >= lo && int(i) <= hi
	}
}

func enumIn(vals ...int) templateCheck {
	return func(a goipp.Attribute, _ Printer) bool {
		for _, v := range a.Values {
			i, ok := v.V.(goipp.Integer)
			if !ok || !slices.Contains(vals, int(i)) {
				return false
			}
		}
		return len(a.Values) > 0
	}
}

func anyValue(goipp.Attribute, Printer) bool { return true }

func singleString(a goipp.Attribute, ok func(string) bool) bool {
	if len(a.Values) != 1 {
		return false
	}
	s, isStr := a.Values[0].V.(goipp.String)
	return isStr && ok(string(s))
}

// jobTemplate lists the job template attributes a job may carry and how
// each is checked.
var jobTemplate = map[string]templateCheck{
	"copies":                     checkCopies,
	"sides":                      checkSides,
	"media":                      checkMedia,
	"page-ranges":                checkPageRangesAttr,
	"media-col":                  anyValue,
	"print-color-mode":           checkColorMode,
	"job-hold-until":             oneOf(holdUntilSupported...),
	"job-priority":               intIn(1, 100),
	"job-sheets":                 oneOf("none"),
	"multiple-document-handling": oneOf("separate-documents-uncollated-copies", "separate-documents-collated-copies"),
	"number-up":                  intIn(1, 1),
	"orientation-requested":      enumIn(3, 4, 5, 6),
	"print-quality":              enumIn(3, 4, 5),
	"printer-resolution":         anyValue,
	"finishings":                 enumIn(3),
	"output-bin":                 oneOf("face-down"),
	"print-scaling":              oneOf("auto", "fit", "fill", "none"),
	"print-content-optimize":     oneOf("auto", "text", "graphic", "photo", "text-and-graphic"),
	"print-rendering-intent":     oneOf("auto"),
	"job-account-id":             anyValue,
	"job-accounting-user-id":     anyValue,
}

func checkColorMode(a goipp.Attribute, p Printer) bool {
	modes := monoModes
	if p.Color {
		modes = colorModes
	}
	return singleString(a, func(s string) bool { return slices.Contains(modes, s) })
}

// legacyMedia maps the RFC 2911 media names clients still send to their
// PWG 5101.1 names.
var legacyMedia = map[string]string{
	"a4": "iso_a4_210x297mm", "iso-a4": "iso_a4_210x297mm",
	"a3": "iso_a3_297x420mm", "iso-a3": "iso_a3_297x420mm",
	"a5": "iso_a5_148x210mm", "iso-a5": "iso_a5_148x210mm",
	"jis-b4": "jis_b4_257x364mm", "jis-b5": "jis_b5_182x257mm",
	"letter": "na_letter_8.5x11in", "na-letter": "na_letter_8.5x11in",
	"legal": "na_legal_8.5x14in", "na-legal": "na_legal_8.5x14in",
}

func checkCopies(a goipp.Attribute, p Printer) bool { return intIn(1, copiesMax(p.Caps))(a, p) }

// checkPageRangesAttr accepts page-ranges where the queue advertises
// them.
func checkPageRangesAttr(a goipp.Attribute, p Printer) bool {
	_, ok := pageRangesOf(a)
	return ok && p.Caps.PageRanges
}

func checkSides(a goipp.Attribute, p Printer) bool {
	return singleString(a, func(s string) bool { return slices.Contains(sides(p.Caps), s) })
}

// checkMedia accepts the media the queue advertises, by PWG name or by
// the RFC 2911 name of one of them.
func checkMedia(a goipp.Attribute, p Printer) bool {
	names := chooseMedia(p.Caps).names
	return singleString(a, func(s string) bool { return slices.Contains(names, normalMedia(s)) })
}

func normalMedia(s string) string {
	if n, ok := legacyMedia[s]; ok {
		return n
	}
	return s
}

// mediaFromCol finds the named medium whose size media-col gives.
func mediaFromCol(a goipp.Attribute, p Printer) string {
	if len(a.Values) != 1 {
		return ""
	}
	col, ok := a.Values[0].V.(goipp.Collection)
	if !ok {
		return ""
	}
	for _, m := range col {
		if m.Name != "media-size" || len(m.Values) != 1 {
			continue
		}
		size, ok := m.Values[0].V.(goipp.Collection)
		if !ok {
			return ""
		}
		dims := index(goipp.Attributes(size))
		x, _ := dims.integer("x-dimension")
		y, _ := dims.integer("y-dimension")
		for _, md := range chooseMedia(p.Caps).sizes {
			if abs(md.x-x) <= 100 && abs(md.y-y) <= 100 {
				return md.name
			}
		}
	}
	return ""
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// jobRequest reads the job template and operation attributes of a job
// creation request. Attributes or values not supported are copied to the
// reply's unsupported group; under ipp-attribute-fidelity they fail the
// request.
func (s *Server) jobRequest(req *request) (JobRequest, goipp.Status, string) {
	jr := JobRequest{
		Queue:       req.printer.Name,
		User:        req.user(),
		ClientAddr:  req.principal.Addr,
		Copies:      1,
		ClaimedUser: "",
	}
	jr.ClaimedUser, _ = req.op.str("requesting-user-name")
	jr.Name, _ = req.op.str("job-name")
	jr.Document.Name, _ = req.op.str("document-name")
	if jr.Name == "" {
		jr.Name = orDefault(jr.Document.Name, "Untitled")
	}
	// Names cut short (shortenAttrs) are already there; fidelity is
	// about the job template attributes.
	unsupported := &req.resp.Unsupported
	before := len(*unsupported)
	for _, a := range req.msg.Job {
		switch a.Name {
		case "job-release-action":
			continue // jobReleaseAction
		case "job-password":
			continue // jobPassword, which never echoes it
		}
		if a.Name == "overrides" {
			// Page overrides (PWG 5100.6) would print some pages other
			// than the job says; no printer path here honours them, and
			// ignoring them would print the job differently from what
			// was asked, so they are refused whatever the fidelity.
			unsupported.Add(a)
			return jr, goipp.StatusErrorAttributesOrValues,
				"Page overrides are not supported: send the pages that need other settings as a separate job."
		}
		check, known := jobTemplate[a.Name]
		if !known || !check(a, req.printer) {
			unsupported.Add(a)
			continue
		}
		applyTemplate(&jr, a, req.printer)
	}
	// ipptool's print-job-hold.test and some drivers send job-hold-until as
	// an operation attribute.
	if a, ok := req.op["job-hold-until"]; ok && jr.HoldUntil == "" {
		if jobTemplate["job-hold-until"](a, req.printer) {
			applyTemplate(&jr, a, req.printer)
		} else {
			unsupported.Add(a)
		}
	}
	if st, msg := s.jobPassword(req, &jr); st != goipp.StatusOk {
		return jr, st, msg
	}
	if st, msg := jobReleaseAction(req, jr); st != goipp.StatusOk {
		return jr, st, msg
	}
	if len(*unsupported) == before {
		return jr, goipp.StatusOk, ""
	}
	if fidelity, _ := req.op.boolean("ipp-attribute-fidelity"); fidelity {
		return jr, goipp.StatusErrorAttributesOrValues, "Some job attributes or values are not supported; see the unsupported attributes."
	}
	return jr, goipp.StatusOkIgnoredOrSubstituted, "Some job attributes or values were ignored."
}

func applyTemplate(jr *JobRequest, a goipp.Attribute, p Printer) {
	v := a.Values[0].V
	switch a.Name {
	case "copies":
		jr.Copies = int(v.(goipp.Integer))
	case "sides":
		jr.Sides = v.String()
	case "media":
		jr.Media = normalMedia(v.String())
	case "media-col":
		if jr.Media == "" {
			jr.Media = mediaFromCol(a, p)
		}
	case "print-color-mode":
		jr.ColorMode = v.String()
	case "page-ranges":
		ranges, _ := pageRangesOf(a)
		jr.PageRanges = FormatPageRanges(ranges)
	case "job-hold-until":
		jr.HoldUntil = v.String()
	}
}

// jobPassword reads job-password (PWG 5100.11). Only clear passwords are
// accepted: printgate hashes them itself. A queue that prints at once
// refuses one, whatever ipp-attribute-fidelity says: the user asked for
// the job to wait for its password at the printer, and ignoring it would
// leave the pages in the tray for anyone.
func (s *Server) jobPassword(req *request, jr *JobRequest) (goipp.Status, string) {
	a, ok := req.op["job-password"]
	if !ok {
		// It belongs with the operation attributes, but a client that
		// sends it with the job's must not have it ignored either.
		if a, ok = req.job["job-password"]; !ok {
			return goipp.StatusOk, ""
		}
	}
	if !req.printer.Hold {
		// Never echo the password back in the unsupported group.
		req.resp.Unsupported.Add(goipp.MakeAttribute("job-password", goipp.TagString, goipp.Binary(nil)))
		return goipp.StatusErrorAttributesOrValues,
			"This queue prints jobs at once and takes no job-password: print to a secure release queue to protect the job."
	}
	if enc, ok := req.op.str("job-password-encryption"); ok && enc != "none" {
		req.resp.Unsupported.Add(req.op["job-password-encryption"])
		return goipp.StatusErrorAttributesOrValues, "Only job-password-encryption 'none' is supported."
	}
	var pw []byte
	if len(a.Values) == 1 {
		switch v := a.Values[0].V.(type) {
		case goipp.Binary:
			pw = []byte(v)
		case goipp.String:
			pw = []byte(v)
		}
	}
	if len(pw) == 0 || len(pw) > maxPassword {
		// Never echo the password back in the unsupported group.
		req.resp.Unsupported.Add(goipp.MakeAttribute("job-password", goipp.TagString, goipp.Binary(nil)))
		return goipp.StatusErrorAttributesOrValues, "The job-password must be 1 to 255 octets."
	}
	jr.Password = pw
	return goipp.StatusOk, ""
}

// releaseActions are the job-release-action values (PWG 5100.11) of a
// hold queue: its jobs are released by their owner signed in at a
// device, and, with a job-password, by that password there too. A direct
// queue releases nothing and advertises none.
var releaseActions = []string{"owner-authorized", "job-password"}

// jobReleaseAction checks job-release-action. How a job is released is
// not an option the queue may substitute, whatever the fidelity: a value
// the queue does not do refuses the job, naming it in the unsupported
// group. A direct queue takes 'none', which is what it does.
func jobReleaseAction(req *request, jr JobRequest) (goipp.Status, string) {
	a, ok := index(req.msg.Job)["job-release-action"]
	if !ok {
		return goipp.StatusOk, ""
	}
	supported := []string{"none"}
	if req.printer.Hold {
		supported = releaseActions
	}
	if !singleString(a, func(s string) bool { return slices.Contains(supported, s) }) {
		req.resp.Unsupported.Add(a)
		if req.printer.Hold {
			return goipp.StatusErrorAttributesOrValues, "This queue's jobs are released by their owner at a printer ('owner-authorized') or with their job-password ('job-password')."
		}
		return goipp.StatusErrorAttributesOrValues, "This queue prints jobs at once; its job-release-action is 'none'."
	}
	if a.Values[0].V.String() == "job-password" && len(jr.Password) == 0 {
		req.resp.Unsupported.Add(a)
		return goipp.StatusErrorAttributesOrValues, "job-release-action 'job-password' needs a job-password."
	}
	return goipp.StatusOk, ""
}

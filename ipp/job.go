package ipp

import (
	"slices"
	"time"

	"github.com/OpenPrinting/goipp"
)

// jobGroups maps requested-attributes group keywords to job attribute
// names (RFC 8011 §4.3.4.1).
var jobGroups = map[string][]string{
	"job-template": {"copies", "finishings", "job-hold-until", "job-priority", "job-sheets",
		"media", "media-col", "multiple-document-handling", "number-up", "orientation-requested",
		"page-ranges", "print-color-mode", "print-quality", "printer-resolution", "sides"},
	"job-description": {"job-id", "job-uri", "job-uuid", "job-printer-uri", "job-more-info",
		"job-name", "job-originating-user-name", "job-state", "job-state-reasons",
		"job-state-message", "number-of-documents", "time-at-creation", "time-at-processing",
		"time-at-completed", "job-printer-up-time", "date-time-at-creation",
		"date-time-at-processing", "date-time-at-completed", "number-of-intervening-jobs",
		"job-k-octets", "job-impressions", "job-media-sheets", "job-k-octets-processed",
		"job-impressions-completed", "job-media-sheets-completed", "document-format",
		"document-format-detected", "job-password-encryption"},
}

// privateJobAttrs are hidden from everyone but the job's owner: a job name
// such as "2026年11月 給与明細" says too much to the next person in line.
var privateJobAttrs = map[string]bool{
	"job-name": true, "job-originating-user-name": true, "document-name-supplied": true,
	// A held job without a hold of its own (no-hold) on a direct queue is
	// one held for what its document holds: a My Number.
	"job-hold-until": true,
}

// publicReasons are the job-state-reasons (RFC 8011 §5.3.8, PWG 5100.11)
// anyone may see: each says where a job is, nothing of what it holds.
var publicReasons = map[string]bool{
	"none": true, "job-incoming": true, "job-data-insufficient": true, "job-hold-until-specified": true,
	"job-queued": true, "job-printing": true, "job-interpreting": true, "job-transforming": true,
	"job-outgoing": true, "queued-in-device": true, "printer-stopped": true, "printer-stopped-partly": true,
	"job-completed-successfully": true, "job-completed-with-warnings": true, "job-completed-with-errors": true,
	"job-canceled-by-user": true, "job-canceled-by-operator": true, "job-canceled-at-device": true,
	"aborted-by-system": true, "job-password-wait": true,
}

// stateReasons stand in, for others, for a reason not in publicReasons:
// the one a job in that state has when nothing special happened, so
// that a job held because its document holds an individual number
// (release's "my-number-held") looks like every other held job.
var stateReasons = map[JobState]string{
	JobPending: "job-queued", JobHeld: "job-hold-until-specified", JobProcessing: "job-printing",
	JobStopped: "printer-stopped", JobCompleted: "job-completed-successfully",
}

// publicStatus is j as anyone but its owner sees it: its reasons in
// publicReasons, any other replaced by its state's (stateReasons), and no
// job-state-message of its own, which may say why it is held or ended
// ("The job holds an individual number ..."), but its state's. A job's
// name is private for the same reason (privateJobAttrs).
func publicStatus(j Job) Job {
	reasons := make([]string, 0, len(j.Reasons))
	for _, r := range j.Reasons {
		if !publicReasons[r] {
			r = orDefault(stateReasons[j.State], "none")
		}
		if !slices.Contains(reasons, r) {
			reasons = append(reasons, r)
		}
	}
	j.Reasons, j.Message = reasons, ""
	return j
}

// A jobAttr makes one attribute of a job, or a zero Attribute where the
// job has none.
type jobAttr struct {
	name string
	// needs are the fields of Job that make reads.
	needs JobFields
	make  func(s *Server, j Job, loc location) goipp.Attribute
}

// jobAttrs are every attribute a job has, built only when asked for: a
// Get-Jobs of a deep queue asks for a few of them for thousands of jobs.
var jobAttrs = []jobAttr{
	{"job-id", 0, func(_ *Server, j Job, _ location) goipp.Attribute { return ints("job-id", j.ID) }},
	{"job-uri", 0, func(_ *Server, j Job, loc location) goipp.Attribute {
		return uris("job-uri", loc.jobURI(j.Queue, j.ID))
	}},
	{"job-printer-uri", 0, func(_ *Server, j Job, loc location) goipp.Attribute {
		return uris("job-printer-uri", loc.printerURI(j.Queue))
	}},
	{"job-more-info", 0, func(_ *Server, j Job, loc location) goipp.Attribute {
		return uris("job-more-info", loc.moreInfo(j.Queue))
	}},
	{"job-name", FieldName, func(_ *Server, j Job, _ location) goipp.Attribute {
		return nameAttr("job-name", ShortenName(j.Name))
	}},
	{"job-originating-user-name", 0, func(_ *Server, j Job, _ location) goipp.Attribute {
		return nameAttr("job-originating-user-name", j.Owner)
	}},
	{"job-state", FieldState, func(_ *Server, j Job, _ location) goipp.Attribute {
		return enums("job-state", int(j.State))
	}},
	{"job-state-reasons", FieldReasons, func(_ *Server, j Job, _ location) goipp.Attribute {
		if len(j.Reasons) == 0 {
			return keywords("job-state-reasons", "none")
		}
		return keywords("job-state-reasons", j.Reasons...)
	}},
	{"job-state-message", FieldState | FieldReasons | FieldMessage,
		func(_ *Server, j Job, l location) goipp.Attribute {
			return text("job-state-message", jobStateMessage(j, l.lang))
		}},
	{"number-of-documents", FieldState, func(_ *Server, j Job, _ location) goipp.Attribute {
		if j.Incoming {
			return ints("number-of-documents", 0)
		}
		return ints("number-of-documents", 1)
	}},
	{"time-at-creation", FieldCreated, func(_ *Server, j Job, _ location) goipp.Attribute {
		return ints("time-at-creation", epoch(j.Created))
	}},
	{"time-at-processing", FieldProcessed, func(s *Server, j Job, _ location) goipp.Attribute {
		return s.timeAt("time-at-processing", j.Processed)
	}},
	{"time-at-completed", FieldCompleted, func(s *Server, j Job, _ location) goipp.Attribute {
		return s.timeAt("time-at-completed", j.Completed)
	}},
	{"job-printer-up-time", 0, func(s *Server, _ Job, _ location) goipp.Attribute {
		return ints("job-printer-up-time", s.upTime())
	}},
	{"date-time-at-creation", FieldCreated, func(_ *Server, j Job, _ location) goipp.Attribute {
		return dateTime("date-time-at-creation", j.Created)
	}},
	{"date-time-at-processing", FieldProcessed, func(_ *Server, j Job, _ location) goipp.Attribute {
		return dateTime("date-time-at-processing", j.Processed)
	}},
	{"date-time-at-completed", FieldCompleted, func(_ *Server, j Job, _ location) goipp.Attribute {
		return dateTime("date-time-at-completed", j.Completed)
	}},
	{"job-k-octets", FieldSize, func(_ *Server, j Job, _ location) goipp.Attribute {
		return ints("job-k-octets", int((j.Size+1023)/1024))
	}},
	{"copies", FieldCopies, func(_ *Server, j Job, _ location) goipp.Attribute {
		return ints("copies", max(j.Copies, 1))
	}},
	{"job-hold-until", FieldHoldUntil, func(_ *Server, j Job, _ location) goipp.Attribute {
		return keywords("job-hold-until", orDefault(j.HoldUntil, "no-hold"))
	}},
	{"job-priority", 0, func(_ *Server, _ Job, _ location) goipp.Attribute { return ints("job-priority", 50) }},
	{"job-sheets", 0, func(_ *Server, _ Job, _ location) goipp.Attribute {
		return keywords("job-sheets", "none")
	}},
	{"media", FieldMedia, func(_ *Server, j Job, _ location) goipp.Attribute {
		return keywords("media", orDefault(j.Media, defaultMedia[0]))
	}},
	{"page-ranges", FieldPageRanges, func(_ *Server, j Job, _ location) goipp.Attribute {
		ranges, err := ParsePageRanges(j.PageRanges)
		if err != nil || len(ranges) == 0 {
			return goipp.Attribute{}
		}
		return pageRangesAttr(ranges)
	}},
	{"sides", FieldSides, func(_ *Server, j Job, _ location) goipp.Attribute {
		return keywords("sides", orDefault(j.Sides, "one-sided"))
	}},
	{"print-color-mode", FieldColorMode, func(_ *Server, j Job, _ location) goipp.Attribute {
		return keywords("print-color-mode", orDefault(j.ColorMode, "auto"))
	}},
	{"document-format", FieldFormat, func(_ *Server, j Job, _ location) goipp.Attribute {
		if j.Format == "" {
			return goipp.Attribute{}
		}
		return strs("document-format", goipp.TagMimeType, j.Format)
	}},
	{"document-format-detected", FieldFormat, func(_ *Server, j Job, _ location) goipp.Attribute {
		if j.FormatDetected == "" {
			return goipp.Attribute{}
		}
		return strs("document-format-detected", goipp.TagMimeType, j.FormatDetected)
	}},
	{"job-impressions", FieldPages | FieldCopies, func(_ *Server, j Job, _ location) goipp.Attribute {
		if j.Pages <= 0 {
			return goipp.Attribute{}
		}
		return ints("job-impressions", j.Pages*max(j.Copies, 1))
	}},
}

// jobSelection says which of jobAttrs a request asked for, by index.
type jobSelection []bool

// selectJobAttrs resolves requested-attributes, with their group keywords
// (RFC 8011 §4.3.4.1), once for a whole request. No names, or "all",
// select every attribute.
func selectJobAttrs(requested ...string) jobSelection {
	want := make(map[string]bool, len(requested))
	for _, r := range requested {
		if r == "all" {
			want = nil
			break
		}
		if names, ok := jobGroups[r]; ok {
			for _, n := range names {
				want[n] = true
			}
			continue
		}
		want[r] = true
	}
	sel := make(jobSelection, len(jobAttrs))
	for i, a := range jobAttrs {
		sel[i] = len(want) == 0 || want[a.name]
	}
	return sel
}

// fields returns the fields of Job that the attributes sel asks for read.
func (sel jobSelection) fields() JobFields {
	var f JobFields
	for i, on := range sel {
		if on {
			f |= jobAttrs[i].needs
		}
	}
	return f
}

// jobAttributes returns the attributes of j that sel asked for. Attributes
// in privateJobAttrs are left out unless owner is true, and others see
// j's status as publicStatus tells it.
func (s *Server) jobAttributes(j Job, loc location, owner bool, sel jobSelection) goipp.Attributes {
	if !owner {
		j = publicStatus(j)
	}
	var list goipp.Attributes
	for i, ja := range jobAttrs {
		if !sel[i] || (!owner && privateJobAttrs[ja.name]) {
			continue
		}
		if a := ja.make(s, j, loc); a.Name != "" {
			list = append(list, a)
		}
	}
	return list
}

func (s *Server) timeAt(name string, t time.Time) goipp.Attribute {
	if t.IsZero() {
		return goipp.MakeAttribute(name, goipp.TagNoValue, goipp.Void{})
	}
	return ints(name, epoch(t))
}

// epoch gives times as seconds since 1970, as CUPS does, so that
// time-at-* and printer-up-time stay comparable across restarts.
func epoch(t time.Time) int { return int(t.Unix()) }

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

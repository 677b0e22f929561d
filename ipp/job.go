package ipp

import (
	"time"

	"github.com/OpenPrinting/goipp"
)

// jobGroups maps requested-attributes group keywords to job attribute
// names (RFC 8011 §4.3.4.1).
var jobGroups = map[string][]string{
	"job-template": {"copies", "finishings", "job-hold-until", "job-priority", "job-sheets",
		"media", "media-col", "multiple-document-handling", "number-up", "orientation-requested",
		"print-color-mode", "print-quality", "printer-resolution", "sides"},
	"job-description": {"job-id", "job-uri", "job-uuid", "job-printer-uri", "job-more-info",
		"job-name", "job-originating-user-name", "job-state", "job-state-reasons",
		"job-state-message", "number-of-documents", "time-at-creation", "time-at-processing",
		"time-at-completed", "job-printer-up-time", "date-time-at-creation",
		"date-time-at-processing", "date-time-at-completed", "number-of-intervening-jobs",
		"job-k-octets", "job-impressions", "job-media-sheets", "job-k-octets-processed",
		"job-impressions-completed", "job-media-sheets-completed", "document-format",
		"job-password-encryption"},
}

// privateJobAttrs are hidden from everyone but the job's owner: a job name
// such as "2026年11月 給与明細" says too much to the next person in line.
var privateJobAttrs = map[string]bool{
	"job-name": true, "job-originating-user-name": true, "document-name-supplied": true,
}

// jobAttributes returns the attributes of j. Attributes in privateJobAttrs
// are left out unless owner is true.
func (s *Server) jobAttributes(j Job, loc location, owner bool) goipp.Attributes {
	reasons := j.Reasons
	if len(reasons) == 0 {
		reasons = []string{"none"}
	}
	msg := j.Message
	if msg == "" {
		msg = j.State.String()
	}
	docs := 1
	if j.Incoming {
		docs = 0
	}
	hold := j.HoldUntil
	if hold == "" {
		hold = "no-hold"
	}
	media := j.Media
	if media == "" {
		media = mediaNames()[0]
	}
	list := goipp.Attributes{
		ints("job-id", j.ID),
		uris("job-uri", loc.jobURI(j.Queue, j.ID)),
		uris("job-printer-uri", loc.printerURI(j.Queue)),
		uris("job-more-info", loc.moreInfo(j.Queue)),
		nameAttr("job-name", j.Name),
		nameAttr("job-originating-user-name", j.Owner),
		enums("job-state", int(j.State)),
		keywords("job-state-reasons", reasons...),
		text("job-state-message", msg),
		ints("number-of-documents", docs),
		ints("time-at-creation", epoch(j.Created)),
		s.timeAt("time-at-processing", j.Processed),
		s.timeAt("time-at-completed", j.Completed),
		ints("job-printer-up-time", s.upTime()),
		dateTime("date-time-at-creation", j.Created),
		dateTime("date-time-at-processing", j.Processed),
		dateTime("date-time-at-completed", j.Completed),
		ints("job-k-octets", int((j.Size+1023)/1024)),
		ints("copies", max(j.Copies, 1)),
		keywords("job-hold-until", hold),
		ints("job-priority", 50),
		keywords("job-sheets", "none"),
		keywords("media", media),
		keywords("sides", orDefault(j.Sides, "one-sided")),
		keywords("print-color-mode", orDefault(j.ColorMode, "auto")),
	}
	if j.Format != "" {
		list = append(list, strs("document-format", goipp.TagMimeType, j.Format))
	}
	if j.Pages > 0 {
		list = append(list, ints("job-impressions", j.Pages*max(j.Copies, 1)))
	}
	if !owner {
		kept := list[:0]
		for _, a := range list {
			if !privateJobAttrs[a.Name] {
				kept = append(kept, a)
			}
		}
		list = kept
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

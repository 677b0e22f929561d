package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/audit"
)

// historyRows is how many rows the history page shows at a time.
const historyRows = 50

// maxFilterLength bounds each filter field; user, queue and device names
// and document names are all shorter.
const maxFilterLength = 256

// dateLayout is how the filter form's dates are written (what an
// <input type="date"> sends).
const dateLayout = "2006-01-02"

// outcomes are the job outcomes the history filter offers, in the order
// of a job's life.
func outcomes() []string {
	return []string{"submitted", "held", "released", "printed", "print-failed", "canceled", "expired"}
}

// historyFilter is the history page's filter form as typed. The same
// fields, in the same form, select the export, so that an export holds
// exactly the rows the page shows.
type historyFilter struct {
	User, From, To, Queue, Device, Outcome, Name string
	// Sensitive is "my-number" for the jobs found to hold an individual
	// number, or empty.
	Sensitive string
	// Source is sourcePrinterLog for the jobs printed without printgate
	// (found in printers' own logs), audit.SourcePrintgate for those that
	// came through it, or empty for both.
	Source string
}

// sourcePrinterLog is the source filter's value (a URL parameter, so
// without a space) for jobs printed without printgate.
const sourcePrinterLog = "printer-log"

// sources are the values of the source filter and what each selects.
var sources = map[string]string{"": "", audit.SourcePrintgate: audit.SourcePrintgate, sourcePrinterLog: audit.SourcePrinterLog}

// values returns the filter's non-empty fields as URL parameters.
func (f historyFilter) values() url.Values {
	v := url.Values{}
	for _, p := range []struct{ key, val string }{
		{"user", f.User}, {"from", f.From}, {"to", f.To}, {"queue", f.Queue},
		{"device", f.Device}, {"outcome", f.Outcome}, {"name", f.Name}, {"sensitive", f.Sensitive}, {"source", f.Source},
	} {
		if p.val != "" {
			v.Set(p.key, p.val)
		}
	}
	return v
}

// details returns the filter for an export's audit record: what was
// exported, never a secret.
func (f historyFilter) details() map[string]string {
	d := map[string]string{}
	for k, v := range f.values() {
		d[k] = v[0]
	}
	return d
}

// parseHistoryFilter reads the filter from the request's query and turns
// it into a query. Dates are calendar days in the configured time zone,
// both inclusive: "to" 2026-04-01 selects up to the end of that day. A
// filter that cannot be used returns the catalog key of the reason.
func (s *server) parseHistoryFilter(c *gin.Context) (historyFilter, audit.HistoryQuery, string) {
	get := func(key string) string { return strings.TrimSpace(c.Query(key)) }
	f := historyFilter{User: get("user"), From: get("from"), To: get("to"), Queue: get("queue"),
		Device: get("device"), Outcome: get("outcome"), Name: get("name"), Sensitive: get("sensitive"),
		Source: get("source")}
	for _, v := range []string{f.User, f.From, f.To, f.Queue, f.Device, f.Outcome, f.Name} {
		if len(v) > maxFilterLength {
			return f, audit.HistoryQuery{}, "history.too_long"
		}
	}
	q := audit.HistoryQuery{User: f.User, Queue: f.Queue, Device: f.Device, Outcome: f.Outcome, Name: f.Name,
		Sensitive: f.Sensitive}
	source, ok := sources[f.Source]
	if !ok {
		return f, q, "history.bad_source"
	}
	q.Source = source
	if f.Outcome != "" && !slices.Contains(outcomes(), f.Outcome) {
		return f, q, "history.bad_outcome"
	}
	if f.Sensitive != "" && f.Sensitive != "my-number" {
		return f, q, "history.bad_sensitive"
	}
	var err error
	if f.From != "" {
		if q.From, err = time.ParseInLocation(dateLayout, f.From, s.tz); err != nil {
			return f, q, "history.bad_date"
		}
	}
	if f.To != "" {
		day, err := time.ParseInLocation(dateLayout, f.To, s.tz)
		if err != nil {
			return f, q, "history.bad_date"
		}
		q.To = day.AddDate(0, 0, 1)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return f, q, "history.bad_range"
	}
	return f, q, ""
}

// historyData is the history page's data.
type historyData struct {
	Filter   historyFilter
	Outcomes []string
	// State is "ok", "unavailable" (no record wired), "invalid" (the
	// filter cannot be used) or "error".
	State string
	Rows  []audit.JobRecord
	// NextURL is the address of the next page, "" on the last.
	NextURL string
	// First reports whether this is the first page; FirstURL leads
	// there.
	First    bool
	FirstURL string
	// Exports are the export links for the filter, "" when exports are
	// not available.
	ExportCSV, ExportCSVShiftJIS, ExportJSONL string
}

// historyPage shows the print record with filters, a page at a time,
// newest first.
func (s *server) historyPage(c *gin.Context) {
	f, q, bad := s.parseHistoryFilter(c)
	d := historyData{Filter: f, Outcomes: outcomes(), State: "unavailable", First: c.Query("cursor") == "",
		FirstURL: "/admin/history?" + f.values().Encode()}
	v := view{Title: "history.title"}
	status := http.StatusOK
	switch {
	case bad != "":
		d.State, v.Error, status = "invalid", s.locale(c).T(bad), http.StatusBadRequest
	case s.opts.History != nil:
		d.State = "ok"
		q.Limit, q.Cursor = historyRows, c.Query("cursor")
		page, err := s.opts.History.History(c.Request.Context(), q)
		switch {
		case errors.Is(err, audit.ErrBadCursor):
			d.State, v.Error, status = "invalid", s.locale(c).T("history.bad_cursor"), http.StatusBadRequest
		case err != nil:
			s.log.Error("web: history", "err", err)
			d.State = "error"
		}
		d.Rows = page.Jobs
		if page.Next != "" {
			next := f.values()
			next.Set("cursor", page.Next)
			d.NextURL = "/admin/history?" + next.Encode()
		}
	}
	if d.State == "ok" && s.opts.Record != nil {
		link := func(format ExportFormat) string {
			p := f.values()
			p.Set("format", string(format))
			return "/admin/history/export?" + p.Encode()
		}
		d.ExportCSV, d.ExportCSVShiftJIS, d.ExportJSONL = link(ExportCSV), link(ExportCSVShiftJIS), link(ExportJSONL)
	}
	v.Data = d
	s.render(c, status, "history", v)
}

// exportType returns the media type and file extension of an export
// format, how the record writes it, and whether the format is one.
func exportType(f ExportFormat) (ctype, ext string, format audit.Format, ok bool) {
	switch f {
	case ExportCSV:
		return "text/csv; charset=utf-8", "csv", audit.Format{Encoding: audit.CSV, Jobs: true}, true
	case ExportCSVShiftJIS:
		return "text/csv; charset=shift_jis", "csv", audit.Format{Encoding: audit.CSV, ShiftJIS: true, Jobs: true}, true
	case ExportJSONL:
		return "application/x-ndjson", "jsonl", audit.Format{Encoding: audit.JSONL, Jobs: true}, true
	}
	return "", "", audit.Format{}, false
}

// crossSite reports whether a browser says it sent r from another site,
// such as by a link on another site's page. Such a GET passes
// cross-origin protection, which guards only methods that change state.
func crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return true
	}
	return false
}

// mayExport answers and returns false when an export cannot be recorded
// or was started by another site.
func (s *server) mayExport(c *gin.Context) bool {
	if s.opts.Record == nil {
		s.renderError(c, http.StatusNotFound, "common.unavailable")
		return false
	}
	if crossSite(c.Request) {
		s.log.Warn("web: cross-site export refused", "remote", clientIP(c.Request))
		s.renderError(c, http.StatusForbidden, "error.cross_origin")
		return false
	}
	return true
}

// exportHistory streams the job records the history filter selects, as
// a file. The export is an audit event recorded with its filter before
// any row is read, and a link on another site cannot start one.
func (s *server) exportHistory(c *gin.Context) {
	if !s.mayExport(c) {
		return
	}
	f, q, bad := s.parseHistoryFilter(c)
	if bad != "" {
		s.renderError(c, http.StatusBadRequest, bad)
		return
	}
	format := ExportFormat(c.DefaultQuery("format", string(ExportCSV)))
	ctype, ext, enc, ok := exportType(format)
	if !ok {
		s.renderError(c, http.StatusBadRequest, "history.bad_format")
		return
	}
	details := f.details()
	details["format"] = string(format)
	if !s.recordDetails(c, ActionExport, f.User, details) {
		return
	}
	// One streamed query: the filter selects what History pages through
	// for q, all pages together.
	if n, ok := s.streamExport(c, "printgate-history-", ctype, ext, q.Filter(), enc); ok {
		s.log.Info("web: export", "by", currentSession(c).User, "format", format, "rows", n)
	}
}

// streamExport sends the audit rows f selects, encoded by enc, as a file
// download named prefix, the time and ext, and reports how many rows it
// sent and whether it finished.
func (s *server) streamExport(c *gin.Context, prefix, ctype, ext string, f audit.Filter, enc audit.Format) (int64, bool) {
	name := prefix + s.now().In(s.tz).Format("20060102-150405") + "." + ext
	c.Header("Content-Type", ctype)
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	enc.Lang = s.locale(c).lang // the header in the reader's language
	n, err := s.opts.Record.Export(c.Request.Context(), c.Writer, f, enc)
	if err != nil {
		if !c.Writer.Written() {
			s.fail(c, "export", err)
			return n, false
		}
		// Half a file must not pass for a whole one: cut the connection
		// so that the browser reports the download as failed.
		s.log.Error("web: export broke off", "rows", n, "err", err)
		panic(http.ErrAbortHandler)
	}
	if !c.Writer.Written() {
		c.Status(http.StatusOK)
	}
	return n, true
}

package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/release/stamp"
)

// Codes finds the job a forensic stamp's verification code comes from,
// checked against the job's audit record; *stamp.Codes is one.
type Codes interface {
	Lookup(ctx context.Context, rec stamp.AuditRecord, code string) (stamp.Match, error)
}

var _ Codes = (*stamp.Codes)(nil)

// lookupData is the code lookup page's data.
type lookupData struct {
	// State is "ok" or "unavailable" (no codes or record wired).
	State string
	Code  string
}

// lookupPage finds a job by the verification code printed on its pages
// (?code=...) and shows its job page, where the code and the chain's
// check are; without a code, or when none matches, it shows the form.
func (s *server) lookupPage(c *gin.Context) {
	code := strings.TrimSpace(c.Query("code"))
	v := view{Title: "lookup.title"}
	d := lookupData{State: "ok", Code: code}
	status := http.StatusOK
	loc := s.locale(c)
	switch {
	case s.opts.Codes == nil || s.opts.Record == nil:
		d.State = "unavailable"
	case code != "":
		m, err := s.opts.Codes.Lookup(c.Request.Context(), s.opts.Record, code)
		switch {
		case err == nil:
			c.Redirect(http.StatusSeeOther, "/admin/jobs/"+strconv.FormatInt(m.Job.JobID, 10)+
				"?code="+url.QueryEscape(m.Code)+"#stamp")
			return
		case errors.Is(err, stamp.ErrBadCode):
			status, v.Error = http.StatusBadRequest, loc.T("lookup.bad_code", stamp.CodeLen)
		case errors.Is(err, stamp.ErrNotFound):
			status, v.Error = http.StatusNotFound, loc.T("lookup.not_found")
		case errors.Is(err, stamp.ErrUnverified):
			// The index names a job whose record does not vouch for the
			// code: the record was changed, or purged.
			s.log.Warn("web: verification code does not verify", "err", err)
			status, v.Error = http.StatusNotFound, loc.T("lookup.unverified")
		default:
			s.fail(c, "look up code", err)
			return
		}
	}
	v.Data = d
	s.render(c, status, "lookup", v)
}

// stampCodes are the verification codes of a job's stamped events, as
// printed.
func stampCodes(d JobDetail) []string {
	var out []string
	for _, ev := range d.Events {
		if ev.Type == stamp.EventStamped && ev.Details[stamp.DetailCode] != "" {
			out = append(out, ev.Details[stamp.DetailCode])
		}
	}
	return out
}

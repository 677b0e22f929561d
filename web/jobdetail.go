package web

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/audit"
)

// JobDetail is one job's record and the events behind it, as the job
// detail page shows them.
type JobDetail struct {
	audit.JobRecord
	// Events are the job's events in chain order.
	Events []audit.Event
	// RecordProblem says how the job's record (what history, exports and
	// this page show) differs from the record its events make; "" when
	// it does not. A difference means the record was changed outside
	// printgate.
	RecordProblem string
	// StampCodes are the verification codes its forensic stamps printed
	// (release/stamp), one per release.
	StampCodes []string
	// Rules are the print rules (force_monochrome …) that changed what
	// the job's last print sent the printer, from its events.
	Rules []string
}

// jobDetail reads job id's record, its events and the check of one
// against the other; an error wrapping audit.ErrNotFound when the record
// has no such job.
func jobDetail(ctx context.Context, r Record, id int64) (JobDetail, error) {
	var d JobDetail
	var err error
	if d.JobRecord, err = r.Job(ctx, id); err != nil {
		return d, err
	}
	// A record whose events were purged has none.
	if d.Events, err = r.Timeline(ctx, id); err != nil && !errors.Is(err, audit.ErrNotFound) {
		return d, err
	}
	if d.RecordProblem, err = r.CheckJob(ctx, id); err != nil && !errors.Is(err, audit.ErrNotFound) {
		return d, err
	}
	d.StampCodes = stampCodes(d)
	d.Rules = appliedRules(d.Events)
	return d, nil
}

// appliedRules returns the print rules recorded on the last of events
// that records any: release writes them as the "rules" detail of the
// events of a print.
func appliedRules(events []audit.Event) []string {
	for i := len(events) - 1; i >= 0; i-- {
		if v := events[i].Details["rules"]; v != "" {
			return strings.Split(v, ",")
		}
	}
	return nil
}

// chainReason is why a check did not pass: the first bad event's reason,
// or else the first job record that differs from its events.
func chainReason(rep audit.Report) string {
	if rep.FirstBad == 0 && len(rep.BadJobs) > 0 {
		return fmt.Sprintf("job %d: %s", rep.BadJobs[0].JobID, rep.BadJobs[0].Reason)
	}
	return rep.Reason
}

// redactURI masks a password in a printer address.
func redactURI(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}

// jobData is the job detail page's data.
type jobData struct {
	// State is "ok" or "unavailable" (no record wired).
	State string
	Job   JobDetail
	// Chain is the check of the audit chain, ChainState "ok", "error"
	// (the check could not run) or "none" (the job has no events).
	Chain      audit.Report
	ChainState string
	// ChainReason says why Chain did not pass.
	ChainReason string
	// WholeChain reports whether Chain covers the whole chain rather than
	// the job's own stretch of it; WholeChainURL asks for that.
	WholeChain    bool
	WholeChainURL string
}

// jobPage shows one job's record, its events, whether the record matches
// the events, and whether the audit chain verifies over them: by default
// the stretch from the job's first event to its last (the record starts it
// from a point its key vouches for: the keyed event before the stretch,
// never a stored hash it has not checked), with ?chain=all the whole chain.
func (s *server) jobPage(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("job"), 10, 64)
	if err != nil || id <= 0 {
		s.renderError(c, http.StatusNotFound, "jobdetail.not_found")
		return
	}
	self := "/admin/jobs/" + strconv.FormatInt(id, 10)
	v := view{Title: "jobdetail.title", Self: self}
	d := jobData{State: "unavailable", ChainState: "none", WholeChainURL: self + "?chain=all#chain"}
	if s.opts.Record == nil {
		v.Data = d
		s.render(c, http.StatusOK, "job", v)
		return
	}
	ctx := c.Request.Context()
	d.State = "ok"
	d.Job, err = jobDetail(ctx, s.opts.Record, id)
	switch {
	case errors.Is(err, audit.ErrNotFound):
		s.renderError(c, http.StatusNotFound, "jobdetail.not_found")
		return
	case err != nil:
		s.fail(c, "job detail", err)
		return
	}
	d.WholeChain = c.Query("chain") == "all"
	if d.WholeChain {
		if !s.verifyWholeChain(c, &d) {
			return
		}
	} else if evs := d.Job.Events; len(evs) > 0 {
		d.ChainState = "ok"
		if d.Chain, err = s.opts.Record.Verify(ctx, evs[0].Seq, evs[len(evs)-1].Seq); err != nil {
			s.log.Error("web: verify chain", "job", id, "err", err)
			d.ChainState = "error"
		}
		d.ChainReason = chainReason(d.Chain)
	}
	v.Data = d
	s.render(c, http.StatusOK, "job", v)
}

// ActionChainVerified is the action of a check of the whole audit chain
// from the console, recorded as the command line's `audit verify` is.
const ActionChainVerified = audit.EventChainVerified

// verifyWholeChain checks the whole chain into d, one check at a time,
// and records it. It reads every event, so a link on another site may not
// start one, nor may a second begin while one runs; then it has answered
// and returns false.
func (s *server) verifyWholeChain(c *gin.Context, d *jobData) bool {
	if crossSite(c.Request) {
		s.log.Warn("web: cross-site check of the whole chain refused", "remote", clientIP(c.Request))
		s.renderError(c, http.StatusForbidden, "error.cross_origin")
		return false
	}
	select {
	case s.verifying <- struct{}{}:
		defer func() { <-s.verifying }()
	default:
		c.Header("Retry-After", "10")
		s.renderError(c, http.StatusTooManyRequests, "jobdetail.chain_busy")
		return false
	}
	ctx := c.Request.Context()
	d.ChainState = "ok"
	var err error
	if d.Chain, err = s.opts.Record.Verify(ctx, 0, 0); err != nil {
		s.log.Error("web: verify the whole chain", "err", err)
		d.ChainState = "error"
	}
	d.ChainReason = chainReason(d.Chain)
	details := map[string]string{"checked": strconv.FormatInt(d.Chain.Checked, 10),
		"last-seq": strconv.FormatInt(d.Chain.LastSeq, 10), "job-records": strconv.FormatInt(d.Chain.Jobs, 10),
		"outcome": d.ChainState}
	if d.ChainReason != "" {
		details["outcome"] = "broken"
	}
	if rec := s.recordIn(c, ActionChainVerified, "", "", details); rec != nil {
		if err := s.opts.DB.WithContext(context.WithoutCancel(ctx)).Transaction(rec); err != nil {
			s.fail(c, "record the chain's check", err)
			return false
		}
	}
	return true
}

// detailPairs returns an event's details sorted by key, for display.
func detailPairs(m map[string]string) [][2]string {
	out := make([][2]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, [2]string{k, m[k]})
	}
	return out
}

package web

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"
)

// jobData is the job detail page's data.
type jobData struct {
	// State is "ok" or "unavailable" (no record wired).
	State string
	Job   JobDetail
	// Chain is the check of the audit chain, ChainState "ok", "error"
	// (the check could not run) or "none" (the job has no events).
	Chain      ChainCheck
	ChainState string
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
	d.Job, err = s.opts.Record.Job(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		s.renderError(c, http.StatusNotFound, "jobdetail.not_found")
		return
	case err != nil:
		s.fail(c, "job detail", err)
		return
	}
	d.WholeChain = c.Query("chain") == "all"
	if evs := d.Job.Events; len(evs) > 0 || d.WholeChain {
		var from, to int64 // the whole chain
		if !d.WholeChain {
			from, to = evs[0].Seq, evs[len(evs)-1].Seq
		}
		d.ChainState = "ok"
		if d.Chain, err = s.opts.Record.VerifyChain(ctx, from, to); err != nil {
			s.log.Error("web: verify chain", "job", id, "err", err)
			d.ChainState = "error"
		}
	}
	v.Data = d
	s.render(c, http.StatusOK, "job", v)
}

// detailPairs returns an event's details sorted by key, for display.
func detailPairs(m map[string]string) [][2]string {
	out := make([][2]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, [2]string{k, m[k]})
	}
	return out
}

package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// maxHeldRows is how many held jobs the held-queue view lists; the
// dashboard counts them all.
const maxHeldRows = 500

// heldData is the held-queue view's data.
type heldData struct {
	// State is "ok", "unavailable" (not wired) or "error".
	State string
	Jobs  []HeldJob
	// Limited reports that there may be more held jobs than listed.
	Limited bool
	Limit   int
}

// heldPage lists every user's held jobs, oldest first: the ones about to
// expire come first.
func (s *server) heldPage(c *gin.Context) {
	s.showHeld(c, http.StatusOK, "")
}

func (s *server) showHeld(c *gin.Context, status int, errText string) {
	d := heldData{State: "unavailable", Limit: maxHeldRows}
	if s.opts.Jobs != nil {
		d.State = "ok"
		jobs, err := s.opts.Jobs.AllHeldJobs(c.Request.Context(), maxHeldRows)
		if err != nil {
			s.log.Error("web: held jobs", "err", err)
			d.State = "error"
		}
		d.Jobs, d.Limited = jobs, len(jobs) >= maxHeldRows
	}
	s.render(c, status, "held", view{Title: "held.title", Error: errText, Data: d})
}

// assignHeldJob gives a held job whose owner is unknown to a directory
// user on an administrator's behalf; the release service records it.
func (s *server) assignHeldJob(c *gin.Context) {
	id, err := strconv.ParseInt(c.PostForm("job"), 10, 64)
	to := strings.TrimSpace(c.PostForm("user"))
	if err != nil || id <= 0 || s.opts.Jobs == nil {
		s.showHeld(c, http.StatusNotFound, s.locale(c).T("held.not_found"))
		return
	}
	if to == "" || len(to) > 256 {
		s.showHeld(c, http.StatusBadRequest, s.locale(c).T("held.no_user"))
		return
	}
	admin := currentSession(c).User
	err = s.opts.Jobs.AssignJob(c.Request.Context(), id, to, admin)
	switch {
	case errors.Is(err, ErrNotFound):
		s.showHeld(c, http.StatusNotFound, s.locale(c).T("held.not_found"))
	case errors.Is(err, ErrNoSuchUser):
		s.showHeld(c, http.StatusBadRequest, s.locale(c).T("held.no_user"))
	case err != nil:
		s.fail(c, "assign held job", err)
	default:
		s.log.Info("web: held job assigned", "admin", admin, "job", id, "to", to)
		c.Redirect(http.StatusSeeOther, "/admin/held?ok=held_assigned")
	}
}

// cancelHeldJob deletes any user's held job on an administrator's
// behalf. The release service records the cancellation, with the
// administrator as its actor, in the same transaction as the change.
func (s *server) cancelHeldJob(c *gin.Context) {
	id, err := strconv.ParseInt(c.PostForm("job"), 10, 64)
	if err != nil || id <= 0 || s.opts.Jobs == nil {
		s.showHeld(c, http.StatusNotFound, s.locale(c).T("held.not_found"))
		return
	}
	admin := currentSession(c).User
	err = s.opts.Jobs.CancelAnyJob(c.Request.Context(), id, admin)
	switch {
	case errors.Is(err, ErrNotFound):
		s.showHeld(c, http.StatusNotFound, s.locale(c).T("held.not_found"))
	case err != nil:
		s.fail(c, "cancel held job", err)
	default:
		s.log.Info("web: held job deleted", "admin", admin, "job", id)
		c.Redirect(http.StatusSeeOther, "/admin/held?ok=held_canceled")
	}
}

// Package releaseapi is the release API that MFP panel apps and
// printgate's kiosk call: a device, identified by its bearer token, signs
// a user in, lists their held jobs and releases them to its printer. The
// contract is public and stable; openapi.json documents it.
package releaseapi

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/release"
)

//go:embed openapi.json
var openAPI []byte

// Prefix is where the API lives.
const Prefix = "/api/v1"

// maxBody bounds request bodies; the largest real one is a few hundred
// bytes.
const maxBody = 16 << 10

// Service is what the API needs of release: the verbs of a release at a
// device.
type Service interface {
	OpenSession(ctx context.Context, deviceToken string, l release.Login) (release.Session, string, error)
	Session(ctx context.Context, deviceToken, token string) (release.Session, release.Device, error)
	Authorize(ctx context.Context, deviceToken, token string) (release.Session, release.Device, error)
	Touch(ctx context.Context, sess release.Session) error
	SessionExpires(sess release.Session) time.Time
	// EndSession signs a session out without asking the directory.
	EndSession(ctx context.Context, deviceToken, token string) error
	Jobs(ctx context.Context, sess release.Session, dev release.Device) ([]release.Job, error)
	Job(ctx context.Context, sess release.Session, dev release.Device, id int64) (release.Job, error)
	Cancel(ctx context.Context, sess release.Session, dev release.Device, id int64) error
	Release(ctx context.Context, sess release.Session, dev release.Device, req release.ReleaseRequest) ([]release.Released, error)
	KioskQR(ctx context.Context, deviceToken string) (release.Device, release.QRLink, error)
}

var _ Service = (*release.DeviceRelease)(nil)

// API serves the release API from a release.DeviceRelease.
type API struct {
	svc Service
	log *slog.Logger
	// Secure says that devices reach the API through a TLS-terminating
	// proxy: the links it makes for phones say https.
	Secure bool
}

// New returns the API over svc.
func New(svc Service, log *slog.Logger) *API {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &API{svc: svc, log: log}
}

// Route is one route of the API, for the console's route table.
type Route struct {
	Method, Path string
	Handler      gin.HandlerFunc
	// Secrets marks the route that takes PINs and passwords.
	Secrets bool
}

// Routes lists every route of the API. All but the OpenAPI document need
// a device token, which the handlers check themselves.
func (a *API) Routes() []Route {
	s := Prefix + "/release/sessions"
	return []Route{
		{http.MethodGet, Prefix + "/openapi.json", a.openAPI, false},
		{http.MethodGet, Prefix + "/release/device", a.device, false},
		{http.MethodPost, s, a.openSession, true},
		{http.MethodDelete, s + "/:session", a.closeSession, false},
		{http.MethodGet, s + "/:session/jobs", a.listJobs, false},
		{http.MethodGet, s + "/:session/jobs/:id", a.getJob, false},
		{http.MethodDelete, s + "/:session/jobs/:id", a.deleteJob, false},
		{http.MethodPost, s + "/:session/release", a.release, true}, // job PINs
	}
}

// Register adds every route to r.
func (a *API) Register(r gin.IRoutes) {
	for _, rt := range a.Routes() {
		r.Handle(rt.Method, rt.Path, rt.Handler)
	}
}

func (a *API) openAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", openAPI)
}

// deviceToken returns the bearer token of the request.
func deviceToken(c *gin.Context) string {
	h := c.GetHeader("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(tok)
	}
	return ""
}

type loginBody struct {
	Card     string `json:"card"`
	User     string `json:"user"`
	PIN      string `json:"pin"`
	Password string `json:"password"`
}

type sessionReply struct {
	Session     string `json:"session"`
	User        string `json:"user"`
	DisplayName string `json:"display_name"`
	ExpiresAt   string `json:"expires_at"`
}

func (a *API) openSession(c *gin.Context) {
	var b loginBody
	if !decode(c, &b) {
		return
	}
	login := release.Login{Card: b.Card, User: b.User, PIN: b.PIN, Password: b.Password, Addr: peerAddr(c.Request)}
	sess, token, err := a.svc.OpenSession(c.Request.Context(), deviceToken(c), login)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, sessionReply{
		Session: token, User: sess.UserName, DisplayName: sess.DisplayName,
		ExpiresAt: a.svc.SessionExpires(sess).Format(time.RFC3339),
	})
}

// session resolves the session in the path for the calling device.
func (a *API) session(c *gin.Context) (release.Session, release.Device, bool) {
	sess, dev, err := a.svc.Session(c.Request.Context(), deviceToken(c), c.Param("session"))
	if err != nil {
		a.fail(c, err)
		return release.Session{}, release.Device{}, false
	}
	return sess, dev, true
}

func (a *API) closeSession(c *gin.Context) {
	if err := a.svc.EndSession(c.Request.Context(), deviceToken(c), c.Param("session")); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// jobJSON is a job as the panel shows it.
type jobJSON struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Queue  string `json:"queue"`
	Pages  int    `json:"pages"`
	Copies int    `json:"copies"`
	// Color is true only for a job in colour; ColorMode says which of
	// "color", "monochrome" or "unknown" (audit.Color) the job is, so
	// that a job that asked for no colour mode is not shown as black
	// and white.
	Color       bool   `json:"color"`
	ColorMode   string `json:"color_mode"`
	SubmittedAt string `json:"submitted_at"`
	NeedsPIN    bool   `json:"needs_pin"`
	// MyNumber marks a job whose document holds an individual number
	// (個人番号を含む).
	MyNumber    bool   `json:"my_number,omitempty"`
	State       string `json:"state,omitempty"`
	StateReason string `json:"state_reason,omitempty"`
	Message     string `json:"message,omitempty"`
}

func toJSON(j release.Job, withState bool) jobJSON {
	color := j.Color()
	out := jobJSON{
		ID: j.ID, Name: j.Name, Queue: j.Queue, Pages: j.Pages, Copies: max(j.Copies, 1),
		Color: color == audit.ColorColor, ColorMode: string(color), SubmittedAt: j.CreatedAt.Format(time.RFC3339), NeedsPIN: j.PasswordHash != "",
		MyNumber: j.Sensitive == release.SensitiveMyNumber,
	}
	if withState {
		out.State, out.StateReason, out.Message = string(j.State), j.Reason, j.Message
	}
	return out
}

func (a *API) listJobs(c *gin.Context) {
	sess, dev, ok := a.session(c)
	if !ok {
		return
	}
	jobs, err := a.svc.Jobs(c.Request.Context(), sess, dev)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := make([]jobJSON, len(jobs))
	for i, j := range jobs {
		out[i] = toJSON(j, false)
	}
	c.JSON(http.StatusOK, gin.H{"jobs": out})
}

// sessionJob resolves the session and the job id in the path; a
// malformed id is as missing as any other.
func (a *API) sessionJob(c *gin.Context) (release.Session, release.Device, int64, bool) {
	sess, dev, ok := a.session(c)
	if !ok {
		return sess, dev, 0, false
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		a.fail(c, release.ErrNotFound)
		return sess, dev, 0, false
	}
	return sess, dev, id, true
}

func (a *API) getJob(c *gin.Context) {
	sess, dev, id, ok := a.sessionJob(c)
	if !ok {
		return
	}
	j, err := a.svc.Job(c.Request.Context(), sess, dev, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := toJSON(j, true)
	out.Message = jobMessage(lang(c), j)
	c.JSON(http.StatusOK, out)
}

func (a *API) deleteJob(c *gin.Context) {
	sess, dev, id, ok := a.sessionJob(c)
	if !ok {
		return
	}
	if err := a.svc.Cancel(c.Request.Context(), sess, dev, id); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type releaseBody struct {
	Jobs    []int64           `json:"jobs"`
	All     bool              `json:"all"`
	JobPINs map[string]string `json:"job_pins"`
	// ConfirmReprint names jobs that may have printed already, released
	// again all the same on the user's word.
	ConfirmReprint []int64 `json:"confirm_reprint"`
}

type releasedJSON struct {
	ID      int64  `json:"id"`
	State   string `json:"state"`
	Problem string `json:"problem,omitempty"`
}

func (a *API) release(c *gin.Context) {
	// The session is touched after the release, not before: the touch is
	// a write, and its sync would delay the first byte at the printer.
	sess, dev, err := a.svc.Authorize(c.Request.Context(), deviceToken(c), c.Param("session"))
	if err != nil {
		a.fail(c, err)
		return
	}
	defer func() {
		if err := a.svc.Touch(context.WithoutCancel(c.Request.Context()), sess); err != nil {
			a.log.Warn("release api: touch session", "err", err)
		}
	}()
	var b releaseBody
	if !decode(c, &b) {
		return
	}
	if !b.All && len(b.Jobs) == 0 {
		answer(c, http.StatusBadRequest, codeNoJobs)
		return
	}
	req := release.ReleaseRequest{IDs: b.Jobs, All: b.All, PINs: map[int64]string{}, ConfirmReprint: b.ConfirmReprint}
	for k, v := range b.JobPINs {
		id, err := strconv.ParseInt(k, 10, 64)
		if err != nil {
			answer(c, http.StatusBadRequest, codeBadJobPINs)
			return
		}
		req.PINs[id] = v
	}
	res, err := a.svc.Release(c.Request.Context(), sess, dev, req)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := make([]releasedJSON, len(res))
	for i, r := range res {
		out[i] = releasedJSON{ID: r.ID, State: string(r.State), Problem: r.Problem}
	}
	c.JSON(http.StatusAccepted, gin.H{"jobs": out})
}

// decode reads a small JSON body strictly; on failure it answers 400.
func decode(c *gin.Context, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		code := codeBadJSON
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			code = codeBodyTooLarge
		} else if errors.Is(err, io.EOF) {
			code = codeBodyEmpty
		}
		answer(c, http.StatusBadRequest, code)
		return false
	}
	return true
}

// peerAddr is the TCP peer of r: not a forwarded-for header, which the
// client writes.
func peerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

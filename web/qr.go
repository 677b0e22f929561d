package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/printgate/printgate/release"
)

// qrData is the phone's page after a device's QR code: a sign-in form,
// or the user's jobs that may print at the device.
type qrData struct {
	Device string
	// Path is the link's own path, where its forms go.
	Path string
	// Name is the user name typed into a refused sign-in.
	Name string
	Jobs []release.Job
	// Results say what became of each job of the last release, by name.
	Results []qrResult
}

// qrResult is one job of a release from the phone.
type qrResult struct {
	Name    string
	Printed bool
	Problem string
}

// qrDevice checks the link of the request's path and returns its device;
// on failure it has answered and returns false. An expired link and a
// link that is not genuine (altered, another device's, revoked) are told
// apart, so that the person knows to scan the code again; a genuine link
// of a device that does not allow QR release says to sign in at the
// device, where scanning again would not help.
func (s *server) qrDevice(c *gin.Context) (release.Device, bool) {
	dev, err := s.opts.Remote.LinkDevice(c.Request.Context(), c.Param("device"), c.Param("token"))
	switch {
	case err == nil:
		return dev, true
	case errors.Is(err, release.ErrLinkExpired):
		s.renderError(c, http.StatusGone, "qr.expired")
	case errors.Is(err, release.ErrQRNotAllowed):
		s.log.Info("web: QR link of a device without QR release", "device", c.Param("device"), "remote", clientIP(c.Request))
		s.renderError(c, http.StatusForbidden, "qr.not_allowed")
	case errors.Is(err, release.ErrUnauthorized), errors.Is(err, release.ErrForbidden):
		s.log.Warn("web: QR link refused", "device", c.Param("device"), "remote", clientIP(c.Request))
		s.renderError(c, http.StatusForbidden, "qr.invalid")
	case errors.Is(err, release.ErrNoQR):
		s.renderError(c, http.StatusNotFound, "error.not_found")
	default:
		s.fail(c, "QR link", err)
	}
	return release.Device{}, false
}

// qrPath is the path of the request's link.
func qrPath(c *gin.Context) string { return release.QRPath(c.Param("device"), c.Param("token")) }

// qrPage shows the phone a sign-in form, or the signed-in user's jobs
// that may print at the link's device.
func (s *server) qrPage(c *gin.Context) {
	dev, ok := s.qrDevice(c)
	if !ok {
		return
	}
	s.showQR(c, http.StatusOK, dev, "", nil)
}

// showQR renders the phone's page for dev with an optional error and the
// results of a release.
func (s *server) showQR(c *gin.Context, status int, dev release.Device, errText string, results []qrResult) {
	d := qrData{Device: dev.Name, Path: qrPath(c), Results: results}
	if sess := currentSession(c); sess != nil {
		jobs, err := s.opts.Remote.Jobs(c.Request.Context(), sess.User, release.MethodQR, dev)
		if st, msg := s.remoteError(c, err); st != 0 {
			status, errText = st, msg
		}
		d.Jobs = jobs
	}
	s.render(c, status, "qr", view{Title: "qr.title", Self: d.Path, Error: errText, Data: d})
}

// qrSignin signs the phone's user in to the console, under the limits of
// every sign-in, and shows the link's page again. The link is checked
// first: no password is checked for a link that is not valid.
func (s *server) qrSignin(c *gin.Context) {
	dev, ok := s.qrDevice(c)
	if !ok {
		return
	}
	name := strings.TrimSpace(c.PostForm("name"))
	password := c.PostForm("password")
	again := func(status int, key string, args ...any) {
		s.render(c, status, "qr", view{Title: "qr.title", Self: qrPath(c), Error: s.locale(c).T(key, args...),
			Data: qrData{Device: dev.Name, Path: qrPath(c), Name: name}})
	}
	id, ok := s.checkPassword(c, name, password, release.MethodQR, again)
	if !ok {
		return
	}
	// Recorded as every console sign-in is, with the device whose label
	// led there.
	rec := s.record(c, Action{Name: ActionSignIn, Actor: id.Name, Role: id.Role(), Target: id.Name,
		Method: release.MethodQR, Details: map[string]string{"device": dev.Name}})
	token, err := s.sessions.createRecorded(c.Request.Context(), id, s.sessionToken(c.Request), rec)
	if err != nil {
		s.fail(c, "QR sign-in", err)
		return
	}
	s.setSessionCookie(c.Writer, c.Request, token)
	s.log.Info("web: signed in by QR link", "user", id.Name, "device", dev.Name, "remote", clientIP(c.Request))
	c.Redirect(http.StatusSeeOther, qrPath(c))
}

// maxQRJobs bounds the jobs one release from the phone names.
const maxQRJobs = 100

// qrRelease releases the jobs chosen on the phone to the link's device.
// The link is checked again: one that expired while the page was open
// releases nothing.
func (s *server) qrRelease(c *gin.Context) {
	dev, ok := s.qrDevice(c)
	if !ok {
		return
	}
	user := currentSession(c).User
	ids := c.PostFormArray("job")
	if len(ids) == 0 || len(ids) > maxQRJobs {
		s.showQR(c, http.StatusBadRequest, dev, s.locale(c).T("qr.choose"), nil)
		return
	}
	req := release.ReleaseRequest{PINs: map[int64]string{}}
	for _, v := range ids {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			s.showQR(c, http.StatusNotFound, dev, s.locale(c).T("job.not_found"), nil)
			return
		}
		req.IDs = append(req.IDs, id)
		if pin := c.PostForm("pin-" + v); pin != "" {
			req.PINs[id] = pin
		}
	}
	jobs, err := s.opts.Remote.Jobs(c.Request.Context(), user, release.MethodQR, dev)
	if status, msg := s.remoteError(c, err); status != 0 {
		s.showQR(c, status, dev, msg, nil)
		return
	}
	res, err := s.opts.Remote.Release(c.Request.Context(), user, release.MethodQR, dev, req)
	if status, msg := s.remoteError(c, err); status != 0 {
		s.showQR(c, status, dev, msg, nil)
		return
	}
	names := make(map[int64]string, len(jobs))
	for _, j := range jobs {
		names[j.ID] = j.Name
	}
	results := make([]qrResult, len(res))
	for i, r := range res {
		results[i] = qrResult{Name: names[r.ID], Printed: r.Problem == ""}
		if r.Problem != "" {
			results[i].Problem = problemText(s.locale(c), r.Problem)
		}
	}
	s.log.Info("web: jobs released by QR link", "user", user, "device", dev.Name, "jobs", len(req.IDs))
	s.showQR(c, http.StatusOK, dev, "", results)
}

// qrLabelData is the printable label of a device's QR code.
type qrLabelData struct {
	Device  string
	URL     string
	Image   string
	Expires string
}

// qrLabelPage shows a device's QR code as a label to print and stick on
// it, valid for the label lifetime.
func (s *server) qrLabelPage(c *gin.Context) {
	// Each view issues a label and records it: a link on another site
	// must not make an administrator's browser do that.
	if crossSite(c.Request) {
		s.log.Warn("web: cross-site QR label refused", "remote", clientIP(c.Request))
		s.renderError(c, http.StatusForbidden, "error.cross_origin")
		return
	}
	ttl := s.opts.QRLabelLifetime
	if ttl <= 0 {
		ttl = release.DefaultQRLabelLifetime
	}
	link, err := s.opts.Remote.QRLink(c.Request.Context(), c.Param("device"), ttl, currentSession(c).User)
	switch {
	case errors.Is(err, release.ErrNotFound), errors.Is(err, release.ErrNoQR):
		s.renderError(c, http.StatusNotFound, "error.not_found")
		return
	case errors.Is(err, release.ErrQRNotAllowed):
		s.renderError(c, http.StatusConflict, "qr.label_not_allowed")
		return
	case errors.Is(err, release.ErrForbidden):
		s.renderError(c, http.StatusConflict, "qr.device_disabled")
		return
	case err != nil:
		s.fail(c, "QR label", err)
		return
	}
	token := strings.TrimPrefix(link.Path, release.QRPath(link.Device, ""))
	d := qrLabelData{Device: link.Device, URL: s.origin(c.Request) + link.Path,
		Image: "/admin/devices/" + link.Device + "/qr/" + token, Expires: s.locale(c).Date(link.Expires)}
	s.render(c, http.StatusOK, "qrlabel", view{Title: "qr.label_title", Self: "/admin/devices/" + link.Device + "/qr", Data: d})
}

// qrLabelImage is the PNG of a label's QR code. It draws only genuine
// links, so that it cannot be made to draw anything else.
func (s *server) qrLabelImage(c *gin.Context) {
	if _, ok := s.qrDevice(c); !ok {
		return
	}
	png, err := qrcode.Encode(s.origin(c.Request)+qrPath(c), qrcode.Medium, 512)
	if err != nil {
		s.fail(c, "QR label image", err)
		return
	}
	c.Data(http.StatusOK, "image/png", png)
}

// origin is the scheme and host the request came to: a phone reaches the
// server the way the browser that shows the code did. Behind a
// TLS-terminating proxy (Options.Secure) that is https.
func (s *server) origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || s.opts.Secure {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

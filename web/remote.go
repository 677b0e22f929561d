package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/release"
)

// RemoteRelease releases a signed-in user's held jobs to a device from
// elsewhere than the device (release.RemoteRelease): from their phone,
// having opened the device's signed QR link, or from My page.
type RemoteRelease interface {
	// QRLink signs a link to release at device name, valid for ttl,
	// issued by the administrator by (recorded).
	QRLink(ctx context.Context, name string, ttl time.Duration, by string) (release.QRLink, error)
	// LinkDevice checks a QR link's token for device name: an error
	// wrapping release.ErrLinkExpired for a genuine one past its time,
	// release.ErrUnauthorized for any other that is not genuine.
	LinkDevice(ctx context.Context, name, token string) (release.Device, error)
	// WebDevices lists the devices that release jobs from My page;
	// WebQueues the queues that allow it; WebDevice loads one device.
	WebDevices(ctx context.Context) ([]release.Device, error)
	WebQueues() []string
	WebDevice(ctx context.Context, name string) (release.Device, error)
	// Jobs lists user's held jobs that method (release.MethodQR or
	// MethodWeb) may release at dev; Release releases some of them.
	Jobs(ctx context.Context, user, method string, dev release.Device) ([]release.Job, error)
	Release(ctx context.Context, user, method string, dev release.Device, req release.ReleaseRequest) ([]release.Released, error)
}

var _ RemoteRelease = (*release.RemoteRelease)(nil)

// remoteRoutes are the routes of release from elsewhere, when wired.
func (s *server) remoteRoutes() []route {
	if s.opts.Remote == nil {
		return nil
	}
	get, post := http.MethodGet, http.MethodPost
	return []route{
		{get, "/qr/:device/:token", accessPublic, kindPage, s.qrPage},
		{post, "/qr/:device/:token", accessPublic, kindPage, s.refusePlainText(s.qrSignin)},
		{post, "/qr/:device/:token/release", accessUser, kindPage, s.refusePlainText(s.qrRelease)},
		{get, "/admin/devices/:device/qr", accessAdmin, kindPage, s.qrLabelPage},
		{get, "/admin/devices/:device/qr/:token", accessAdmin, kindPage, s.qrLabelImage},
		{post, "/my/jobs/release", accessUser, kindPage, s.refusePlainText(s.releaseMyJob)},
	}
}

// myRelease is what My page needs to offer release to a chosen device:
// the devices, and the queues whose jobs may go there.
type myRelease struct {
	Devices []release.Device
	Queues  []string
}

// Offers reports whether a job of queue may be released from My page.
func (m *myRelease) Offers(queue string) bool {
	return m != nil && len(m.Devices) > 0 && slices.Contains(m.Queues, queue)
}

// myReleaseRow is one job's release form on My page.
type myReleaseRow struct {
	Release *myRelease
	Job     HeldJob
}

// For is job's release form.
func (m *myRelease) For(job HeldJob) myReleaseRow { return myReleaseRow{Release: m, Job: job} }

// myReleaseData loads what My page offers; nil when nothing.
func (s *server) myReleaseData(ctx context.Context) *myRelease {
	if s.opts.Remote == nil || len(s.opts.Remote.WebQueues()) == 0 {
		return nil
	}
	devs, err := s.opts.Remote.WebDevices(ctx)
	if err != nil {
		s.log.Error("web: my page: devices", "err", err)
		return nil
	}
	return &myRelease{Devices: devs, Queues: s.opts.Remote.WebQueues()}
}

// releaseMyJob releases one of the signed-in user's held jobs from My
// page to the device they chose; only jobs of queues with
// release_from_web may go, and the release service says which.
func (s *server) releaseMyJob(c *gin.Context) {
	ctx, user, loc := c.Request.Context(), currentSession(c).User, s.locale(c)
	id, err := strconv.ParseInt(c.PostForm("job"), 10, 64)
	if err != nil || id <= 0 {
		s.showMy(c, http.StatusNotFound, loc.T("job.not_found"))
		return
	}
	dev, err := s.opts.Remote.WebDevice(ctx, strings.TrimSpace(c.PostForm("device")))
	if errors.Is(err, release.ErrNotFound) || errors.Is(err, release.ErrForbidden) {
		s.showMy(c, http.StatusBadRequest, loc.T("myrelease.no_device"))
		return
	}
	if err != nil {
		s.fail(c, "release from my page", err)
		return
	}
	req := release.ReleaseRequest{IDs: []int64{id}, PINs: map[int64]string{}}
	if pin := c.PostForm("pin"); pin != "" {
		req.PINs[id] = pin
	}
	res, err := s.opts.Remote.Release(ctx, user, release.MethodWeb, dev, req)
	if status, msg := s.remoteError(c, err); status != 0 {
		s.showMy(c, status, msg)
		return
	}
	if len(res) == 1 && res[0].Problem != "" {
		s.showMy(c, http.StatusConflict, problemText(loc, res[0].Problem))
		return
	}
	s.log.Info("web: job released from my page", "user", user, "job", id, "device", dev.Name)
	c.Redirect(http.StatusSeeOther, "/my?ok=job_released")
}

// remoteError translates a release error to a status and message for
// the person who asked; status 0 when err is nil. An error that is none
// of release's words is logged and shown as an internal error.
func (s *server) remoteError(c *gin.Context, err error) (int, string) {
	loc := s.locale(c)
	var pu *release.PrinterUnavailable
	switch {
	case err == nil:
		return 0, ""
	case errors.As(err, &pu):
		return http.StatusConflict, loc.T("remote.printer_unavailable")
	case errors.Is(err, release.ErrNotFound):
		return http.StatusNotFound, loc.T("job.not_found")
	case errors.Is(err, release.ErrNeedsTLS):
		return http.StatusForbidden, loc.T("remote.needs_tls")
	case errors.Is(err, release.ErrUnauthorized), errors.Is(err, release.ErrForbidden):
		return http.StatusForbidden, loc.T("remote.forbidden")
	case errors.Is(err, release.ErrUnavailable), errors.Is(err, release.ErrBusy):
		return http.StatusServiceUnavailable, loc.T("remote.unavailable")
	}
	s.log.Error("web: remote release", "route", routeOf(c), "err", err)
	return http.StatusInternalServerError, loc.T("error.internal")
}

// problemText says why one job was not released, in the page's words.
func problemText(loc *locale, problem string) string {
	if key := "kiosk.js.problem_" + problem; loc.has(key) {
		return loc.T(key)
	}
	return loc.T("remote.not_released", problem)
}

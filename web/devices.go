package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/release"
)

// loginMethods are the sign-in methods a device may allow.
func loginMethods() []string {
	return []string{release.MethodCard, release.MethodIDPIN, release.MethodCardPIN, release.MethodQR}
}

// devicesData is the devices page's data.
type devicesData struct {
	// State is "ok", "unavailable" (not wired) or "error".
	State   string
	Devices []Device
	// Queues and Methods are the choices of the add form; Form is what
	// was typed into it, kept when it is refused.
	Queues  []string
	Methods []string
	Form    release.DeviceSpec
}

// tokenData is the page that shows a device token, once.
type tokenData struct {
	Device string
	Token  string
	// Rotated says whether the token replaces an old one.
	Rotated bool
}

func (s *server) devicesPage(c *gin.Context) {
	// What a device allowed before devices named qr, as the command
	// line's default.
	s.showDevices(c, http.StatusOK, "", release.DeviceSpec{Methods: []string{release.MethodCard, release.MethodIDPIN, release.MethodQR}})
}

// showDevices renders the devices page with an optional error message and
// the add form filled with form.
func (s *server) showDevices(c *gin.Context, status int, errText string, form release.DeviceSpec) {
	d := devicesData{State: "unavailable", Methods: loginMethods(), Form: form}
	if s.opts.Devices != nil {
		d.State, d.Queues = "ok", s.opts.Devices.Queues()
		devs, err := s.opts.Devices.Devices(c.Request.Context())
		if err != nil {
			s.log.Error("web: devices", "err", err)
			d.State = "error"
		}
		d.Devices = devs
	}
	s.render(c, status, "devices", view{Title: "devices.title", Error: errText, Data: d})
}

// addDevice registers a device and shows its token, the one time it is
// ever shown: only its hash is stored. The release service records the
// registration in the audit trail.
func (s *server) addDevice(c *gin.Context) {
	if s.opts.Devices == nil {
		s.renderError(c, http.StatusNotFound, "common.unavailable")
		return
	}
	spec := release.DeviceSpec{
		Name:       strings.TrimSpace(c.PostForm("name")),
		Printer:    strings.TrimSpace(c.PostForm("printer")),
		Queues:     c.PostFormArray("queue"),
		Methods:    c.PostFormArray("method"),
		SelfEnroll: c.PostForm("self_enroll") == "on",
		// PINs and passwords from this device over plain HTTP; see
		// markPlainText.
		AllowPlainCredentials: c.PostForm("allow_plain_credentials") == "on",
	}
	if bad := s.checkDeviceSpec(c.Request.Context(), spec); bad != "" {
		status := http.StatusBadRequest
		if bad == "devices.exists" {
			status = http.StatusConflict
		}
		s.showDevices(c, status, s.locale(c).T(bad), spec)
		return
	}
	admin := currentSession(c).User
	token, err := s.opts.Devices.AddDevice(c.Request.Context(), spec, admin)
	if err != nil {
		s.fail(c, "add device", err)
		return
	}
	s.log.Info("web: device added", "admin", admin, "device", spec.Name)
	s.showToken(c, tokenData{Device: spec.Name, Token: token})
}

// checkDeviceSpec returns the catalog key of what is wrong with spec, or
// "". It checks what the release service checks, to say it in the
// page's language.
func (s *server) checkDeviceSpec(ctx context.Context, spec release.DeviceSpec) string {
	if !validDeviceName(spec.Name) {
		return "devices.bad_name"
	}
	if release.CheckPrinterURI(spec.Printer) != nil || len(spec.Printer) > maxFilterLength {
		return "devices.bad_printer"
	}
	known := s.opts.Devices.Queues()
	if len(spec.Queues) == 0 || slices.ContainsFunc(spec.Queues, func(q string) bool { return !slices.Contains(known, q) }) {
		return "devices.bad_queues"
	}
	methods := loginMethods()
	if len(spec.Methods) == 0 || slices.ContainsFunc(spec.Methods, func(m string) bool { return !slices.Contains(methods, m) }) {
		return "devices.bad_methods"
	}
	devs, err := s.opts.Devices.Devices(ctx)
	if err == nil && slices.ContainsFunc(devs, func(d Device) bool { return d.Name == spec.Name }) {
		return "devices.exists"
	}
	return ""
}

// validDeviceName reports whether s is 1 to 63 ASCII letters, digits,
// '.', '_' or '-', as the release service requires.
func validDeviceName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// rotateToken gives a device a new token, shown once; the old one stops
// working at once.
func (s *server) rotateToken(c *gin.Context) {
	name := strings.TrimSpace(c.PostForm("name"))
	if s.opts.Devices == nil || !validDeviceName(name) {
		s.showDevices(c, http.StatusNotFound, s.locale(c).T("devices.not_found"), release.DeviceSpec{})
		return
	}
	admin := currentSession(c).User
	token, err := s.opts.Devices.RotateToken(c.Request.Context(), name, admin)
	switch {
	case errors.Is(err, ErrNotFound):
		s.showDevices(c, http.StatusNotFound, s.locale(c).T("devices.not_found"), release.DeviceSpec{})
	case err != nil:
		s.fail(c, "rotate device token", err)
	default:
		s.log.Info("web: device token rotated", "admin", admin, "device", name)
		s.showToken(c, tokenData{Device: name, Token: token, Rotated: true})
	}
}

// showToken renders the token page. The reply is never cached (every
// console page is no-store), the token is in no address, log or flash
// message, and nothing can show it again.
func (s *server) showToken(c *gin.Context, d tokenData) {
	s.render(c, http.StatusOK, "token", view{Title: "token.title", Data: d})
}

// setDeviceEnabled enables or disables a device.
func (s *server) setDeviceEnabled(c *gin.Context) {
	name := strings.TrimSpace(c.PostForm("name"))
	enabled := c.PostForm("enabled") == "true"
	if s.opts.Devices == nil || !validDeviceName(name) || (!enabled && c.PostForm("enabled") != "false") {
		s.showDevices(c, http.StatusNotFound, s.locale(c).T("devices.not_found"), release.DeviceSpec{})
		return
	}
	admin := currentSession(c).User
	err := s.opts.Devices.SetDeviceEnabled(c.Request.Context(), name, enabled, admin)
	switch {
	case errors.Is(err, ErrNotFound):
		s.showDevices(c, http.StatusNotFound, s.locale(c).T("devices.not_found"), release.DeviceSpec{})
	case err != nil:
		s.fail(c, "enable device", err)
	default:
		s.log.Info("web: device enabled changed", "admin", admin, "device", name, "enabled", enabled)
		dest := "/admin/devices?ok=device_disabled"
		if enabled {
			dest = "/admin/devices?ok=device_enabled"
		}
		c.Redirect(http.StatusSeeOther, dest)
	}
}

// clearDeviceThrottle lets a device throttled after failed sign-ins sign
// users in again at once; the release service records it.
func (s *server) clearDeviceThrottle(c *gin.Context) {
	name := strings.TrimSpace(c.PostForm("name"))
	if s.opts.Devices == nil || !validDeviceName(name) {
		s.showDevices(c, http.StatusNotFound, s.locale(c).T("devices.not_found"), release.DeviceSpec{})
		return
	}
	admin := currentSession(c).User
	err := s.opts.Devices.ClearThrottle(c.Request.Context(), name, admin)
	switch {
	case errors.Is(err, ErrNotFound):
		s.showDevices(c, http.StatusNotFound, s.locale(c).T("devices.not_found"), release.DeviceSpec{})
	case err != nil:
		s.fail(c, "clear device throttle", err)
	default:
		s.log.Info("web: device throttle cleared", "admin", admin, "device", name)
		c.Redirect(http.StatusSeeOther, "/admin/devices?ok=device_throttle_cleared")
	}
}

package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/release"
)

// kioskDevice asks the release API what the kiosk of the device with
// token shows, as the kiosk's script does.
func kioskDevice(t *testing.T, k *kioskEnv, token string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/api/v1/release/device", nil)
	r.RemoteAddr = "192.0.2.1:40000"
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	k.h.ServeHTTP(w, r)
	var out map[string]any
	if w.Code == http.StatusOK {
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("GET /release/device: %v in %s", err, w.Body)
		}
	}
	return w.Code, out
}

// TestQRNeedsDeviceMethod: at a device whose methods do not name qr (here
// payroll, card+pin only) the kiosk is served without a QR code, the
// console issues no label and says why, and a genuine link printed
// before qr was taken away says on the phone that this printer takes no
// phones: no sign-in form, no sign-in, no jobs, no release. The device
// that allows qr still shows its code.
func TestQRNeedsDeviceMethod(t *testing.T) {
	k := newKioskEnv(t)
	id := k.submit(t, "payslip.pdf", testdocs.PDF(1, "payslip", testdocs.A4))
	token := k.addDevice(t, release.DeviceSpec{Name: "payroll", Queues: []string{"secure"},
		Methods: []string{release.MethodCardPIN, release.MethodQR}})
	label, err := k.svc.RemoteRelease().QRLink(t.Context(), "payroll", release.DefaultQRLabelLifetime, adminName)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.svc.Admin().SetDeviceMethods(t.Context(), "payroll", []string{release.MethodCardPIN}, adminName); err != nil {
		t.Fatal(err)
	}

	t.Run("kiosk", func(t *testing.T) {
		code, dev := kioskDevice(t, k, token)
		if _, shown := dev["qr"]; code != http.StatusOK || dev["device"] != "payroll" || shown {
			t.Errorf("payroll's kiosk: %d %v; want 200, the device and no QR code", code, dev)
		}
		code, dev = kioskDevice(t, k, k.token)
		if _, shown := dev["qr"]; code != http.StatusOK || !shown {
			t.Errorf("mfp-2f's kiosk (qr allowed): %d %v; want its QR code", code, dev)
		}
	})

	t.Run("label", func(t *testing.T) {
		admin := k.signIn(t, adminName)
		w := k.do(t, request{method: http.MethodGet, path: "/admin/devices/payroll/qr", cookie: admin,
			header: map[string]string{"Sec-Fetch-Site": "same-origin", "Accept-Language": "en"}})
		body := w.Body.String()
		if w.Code != http.StatusConflict || !strings.Contains(body, "does not allow QR release") ||
			strings.Contains(body, "/qr/payroll/") {
			t.Errorf("label page of payroll: %d; want 409 saying why, no link\n%.3000s", w.Code, body)
		}
	})

	t.Run("link", func(t *testing.T) {
		const refusal = "does not take print requests from phones"
		en := map[string]string{"Accept-Language": "en", "Sec-Fetch-Site": "same-origin"}
		w := k.do(t, request{method: http.MethodGet, path: label.Path, header: en})
		if body := w.Body.String(); w.Code != http.StatusForbidden || !strings.Contains(body, refusal) ||
			strings.Contains(body, `id="qr-signin"`) {
			t.Errorf("GET the link: %d; want 403 saying so, no sign-in form\n%.3000s", w.Code, body)
		}
		w = k.do(t, request{method: http.MethodPost, path: label.Path, header: en,
			form: url.Values{"name": {userName}, "password": {testPassword}}})
		if w.Code != http.StatusForbidden || sessionCookie(w) != nil || !strings.Contains(w.Body.String(), refusal) {
			t.Errorf("sign in by the link: %d; want 403 and no session", w.Code)
		}
		user := k.signIn(t, userName)
		w = k.do(t, request{method: http.MethodGet, path: label.Path, cookie: user, header: en})
		if body := w.Body.String(); w.Code != http.StatusForbidden || strings.Contains(body, `id="qr-release"`) {
			t.Errorf("GET the link signed in: %d; want 403 and no jobs\n%.3000s", w.Code, body)
		}
		w = k.do(t, request{method: http.MethodPost, path: label.Path + "/release", cookie: user, header: en,
			form: url.Values{"job": {strconv.Itoa(id)}}})
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), refusal) {
			t.Errorf("release by the link: %d; want 403", w.Code)
		}
		if !k.held(t, int64(id)) {
			t.Fatalf("job %d is no longer held after a release by payroll's link", id)
		}
	})
}

// TestDevicesQRLabelLink: the devices page offers a QR label only for a
// device that allows qr, and its add form offers qr, ticked by default.
func TestDevicesQRLabelLink(t *testing.T) {
	devs := newDevices("secure")
	e := newEnv(t, openDB(t, database.SQLite), func(o *Options) { o.Devices = devs })
	for name, methods := range map[string][]string{"lobby": {"card", "qr"}, "payroll": {"card+pin"}} {
		if _, err := devs.AddDevice(t.Context(), release.DeviceSpec{Name: name, Printer: "ipp://" + name + "/ipp/print",
			Queues: []string{"secure"}, Methods: methods}, adminName); err != nil {
			t.Fatal(err)
		}
	}
	body := e.page(t, e.signIn(t, adminName), "/admin/devices")
	if !strings.Contains(body, `href="/admin/devices/lobby/qr"`) || strings.Contains(body, `href="/admin/devices/payroll/qr"`) {
		t.Errorf("QR label links: want lobby's only\n%.5000s", body)
	}
	if !strings.Contains(body, `name="method" value="qr" checked`) {
		t.Errorf("the add form does not offer qr, ticked\n%.5000s", body)
	}
}

package main

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release"
)

// scanQR decodes the QR code in the PNG file with zbarimg, as a phone's
// camera would.
func scanQR(t *testing.T, file string) string {
	t.Helper()
	out, err := exec.Command(testenv.Tool(t, "zbarimg"), "--quiet", "--raw", file).Output()
	if err != nil {
		t.Fatalf("zbarimg found no QR code in %s: %v", file, err)
	}
	return strings.TrimSpace(string(out))
}

var labelImage = regexp.MustCompile(`<img src="(/admin/devices/mfp1/qr/[^"]+)"`)

// TestDeviceQRLabel runs release from a phone on a full server: the label
// that `printgate device qr` writes, and the one the devices page shows,
// carry a link that a phone (a client with its own cookies) opens, signs
// bob in with and releases his job at mfp1 with; the printer gets it and
// the record says qr. Each label issued, by the command or the page, is
// an admin event (qr-label-issued: device, actor, expiry); the kiosk's
// short-lived codes are not. Rotating the device's token revokes the
// label. No label is issued for mfp1 until `device set --auth` adds qr
// to its methods.
func TestDeviceQRLabel(t *testing.T) {
	e := newReleaseEnv(t, "", nil)
	doc := testdocs.PDF(1, "payslip", testdocs.A4)
	id := e.submit("bob", doc)
	base := "http://" + e.srv.Addr

	// mfp1 takes card, id+pin and card+pin, not qr.
	noQR := filepath.Join(t.TempDir(), "refused.png")
	if out, err := tryCLI(t, e.cfg, "", "device", "qr", "mfp1", "--url", base, "--out", noQR); err == nil ||
		!strings.Contains(err.Error(), "not qr") || !strings.Contains(err.Error(), "QR release not allowed") {
		t.Fatalf("device qr of a device without qr: %v (output %q); want a refusal saying why", err, out)
	}
	if _, err := os.Stat(noQR); err == nil {
		t.Fatal("device qr of a device without qr wrote a label")
	}
	if out, err := tryCLI(t, e.cfg, "", "device", "set", "mfp1", "--auth", "card,web"); err == nil {
		t.Fatalf("device set --auth took web (output %q)", out)
	}
	if out := runCLI(t, e.cfg, "", "device", "set", "mfp1", "--auth", "card,id+pin,card+pin,qr"); !strings.Contains(out, "card,id+pin,card+pin,qr") {
		t.Fatalf("device set --auth says %q", out)
	}

	if _, err := tryCLI(t, e.cfg, "", "device", "qr", "mfp1", "--url", "ftp://x", "--out", "x.png"); err == nil {
		t.Error("device qr took an ftp:// address")
	}
	if _, err := tryCLI(t, e.cfg, "", "device", "qr", "mfp1", "--url", base, "--out", "x.png", "--valid", "438000h"); err == nil {
		t.Error("device qr made a label valid for 50 years")
	}
	labels := func() []qrLabelEvent {
		var rows []qrLabelEvent
		openTestDB(t, e.srv).Raw(`SELECT device, actor, details FROM audit_events WHERE type = ? ORDER BY seq`,
			audit.EventQRLabelIssued).Scan(&rows)
		return rows
	}
	if n := len(labels()); n != 0 {
		t.Fatalf("%d qr-label-issued events before any label", n)
	}
	file := filepath.Join(t.TempDir(), "label.png")
	issued := time.Now()
	out := runCLI(t, e.cfg, "", "device", "qr", "mfp1", "--url", base, "--out", file, "--valid", "720h")
	ev := labels()
	if len(ev) != 1 || !ev[0].is(t, "mfp1", "cli:", issued.Add(720*time.Hour)) {
		t.Fatalf("qr-label-issued events after device qr: %+v", ev)
	}
	link := scanQR(t, file)
	if !strings.HasPrefix(link, base+"/qr/mfp1/v1.") || !strings.Contains(out, link) {
		t.Fatalf("label link %q (output %q); want one to release at mfp1 on %s", link, out, base)
	}

	// The devices page shows the same kind of label to an admin.
	admin := signInConsole(t, e.srv, "alice", "alice-secret")
	code, page := admin.get("/admin/devices/mfp1/qr")
	m := labelImage.FindStringSubmatch(page)
	if code != http.StatusOK || m == nil {
		t.Fatalf("label page: %d, no image in\n%s", code, page)
	}
	if ev := labels(); len(ev) != 2 || !ev[1].is(t, "mfp1", "alice", time.Now().Add(release.DefaultQRLabelLifetime)) {
		t.Fatalf("qr-label-issued events after the label page: %+v", ev)
	}
	if code, _ := e.call("mfp1", http.MethodGet, "/release/device", nil); code != http.StatusOK || len(labels()) != 2 {
		t.Fatalf("the kiosk's code: HTTP %d, %d qr-label-issued events; want 200 and none more", code, len(labels()))
	}
	code, png := admin.get(m[1])
	img := filepath.Join(t.TempDir(), "page-label.png")
	if err := os.WriteFile(img, []byte(png), 0o600); err != nil || code != http.StatusOK {
		t.Fatalf("label image: %d %v", code, err)
	}
	if got := scanQR(t, img); !strings.HasPrefix(got, base+"/qr/mfp1/v1.") {
		t.Fatalf("the devices page's label says %q", got)
	}

	jar, _ := cookiejar.New(nil)
	phone := &consoleSession{t: t, base: base, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	path := strings.TrimPrefix(link, base)
	if code, body := phone.get(path); code != http.StatusOK || !strings.Contains(body, `id="qr-signin"`) {
		t.Fatalf("phone opens the label's link: %d\n%s", code, body)
	}
	if code, _ := phone.post(path, url.Values{"name": {"bob"}, "password": {"bob-secret"}}); code != http.StatusSeeOther {
		t.Fatalf("phone signs bob in: %d", code)
	}
	if code, body := phone.get(path); code != http.StatusOK || !strings.Contains(body, `data-id="`+strconv.FormatInt(id, 10)+`"`) {
		t.Fatalf("phone lists bob's job %d: %d\n%s", id, code, body)
	}
	if code, body := phone.post(path+"/release", url.Values{"job": {strconv.FormatInt(id, 10)}}); code != http.StatusOK ||
		!strings.Contains(body, "sent to the printer") {
		t.Fatalf("phone releases job %d: %d\n%s", id, code, body)
	}
	testenv.WaitFor(t, "the printer to receive the job", func() bool { return len(e.printer.Files()) == 1 })
	var method, device string
	db := openTestDB(t, e.srv)
	testenv.WaitFor(t, "the job's record to say how it was released", func() bool {
		db.Raw(`SELECT method, device FROM audit_events WHERE job_id = ? AND method <> '' ORDER BY seq DESC LIMIT 1`, id).
			Row().Scan(&method, &device)
		return method != ""
	})
	if method != "qr" || device != "mfp1" {
		t.Fatalf("job %d released by %q at %q; want qr at mfp1", id, method, device)
	}

	runCLI(t, e.cfg, "", "device", "rotate-token", "mfp1")
	if code, _ := phone.get(path); code != http.StatusForbidden {
		t.Fatalf("label after the device's token was rotated: %d; want 403", code)
	}
}

// qrLabelEvent is a qr-label-issued event as stored.
type qrLabelEvent struct{ Device, Actor, Details string }

// is reports whether ev is a label of device issued by an actor whose
// name starts with actor, expiring about at expires.
func (ev qrLabelEvent) is(t *testing.T, device, actor string, expires time.Time) bool {
	t.Helper()
	var d map[string]string
	if err := json.Unmarshal([]byte(ev.Details), &d); err != nil {
		t.Fatalf("details %q: %v", ev.Details, err)
	}
	at, err := time.Parse(time.RFC3339, d["expires"])
	return err == nil && ev.Device == device && strings.HasPrefix(ev.Actor, actor) &&
		at.Sub(expires).Abs() < time.Minute && !strings.Contains(ev.Details, "/qr/")
}

// TestDeviceAddAuthDefault: a device added without --auth takes what
// every device took before devices named qr, QR release included; one
// added with methods of its own takes those only, and qr alone (a panel
// that shows only its code) is a device too.
func TestDeviceAddAuthDefault(t *testing.T) {
	cfg := newConfig(t, "")
	for _, tc := range []struct {
		name string
		auth []string
		want string
	}{
		{"lobby", nil, "card,id+pin,qr"},
		{"payroll", []string{"--auth", "card+pin"}, "card+pin"},
		{"phones", []string{"--auth", "qr"}, "qr"},
	} {
		args := append([]string{"device", "add", tc.name, "--printer", "ipp://192.0.2.9/ipp/print", "--queue", "secure"}, tc.auth...)
		if out := runCLI(t, cfg, "", args...); !strings.Contains(out, "sign-in "+tc.want+",") {
			t.Errorf("device add %s %v: %q; want sign-in %s", tc.name, tc.auth, out, tc.want)
		}
	}
}

package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/printgate/printgate/release"
)

// TestQRTokenNotLogged: a refused request to a QR link (here a
// cross-site POST, which anyone can make a browser send) is logged by its
// route, never by its path, which holds the link's token.
func TestQRTokenNotLogged(t *testing.T) {
	k := newKioskEnv(t)
	link, err := k.svc.RemoteRelease().QRLink(t.Context(), "mfp-2f", release.DefaultQRLabelLifetime, "admin")
	if err != nil {
		t.Fatal(err)
	}
	token := link.Path[strings.LastIndex(link.Path, "/")+1:]
	w := k.do(t, request{method: http.MethodPost, path: link.Path,
		form: url.Values{"name": {"x"}, "password": {"y"}}, header: map[string]string{"Sec-Fetch-Site": "cross-site"}})
	if w.Code != http.StatusForbidden {
		t.Fatalf("cross-site POST answered %d, want 403", w.Code)
	}
	logs := k.logs.String()
	if !strings.Contains(logs, "/qr/:device/:token") {
		t.Fatalf("the refusal is not logged by its route:\n%s", logs)
	}
	if strings.Contains(logs, token) {
		t.Fatalf("the QR link's token is in the log:\n%s", logs)
	}
}

// TestSelfEnrolLocked: a user locked out by wrong PINs cannot get a
// session, nor a new card, by enrolling one with their password.
func TestSelfEnrolLocked(t *testing.T) {
	k := newKioskEnv(t)
	token := k.addDevice(t, release.DeviceSpec{Name: "lobby", Queues: []string{"secure"},
		Methods: []string{"card", "id+pin"}, SelfEnroll: true})
	for range 6 {
		apiSignIn(t, k, token, fmt.Sprintf(`{"user":%q,"pin":"0000"}`, userName))
	}
	if code := apiSignIn(t, k, token, fmt.Sprintf(`{"user":%q,"pin":"4821"}`, userName)); code != http.StatusLocked {
		t.Fatalf("the right PIN while locked: %d, want 423", code)
	}
	enrol := fmt.Sprintf(`{"card":"04AABBCC","user":%q,"password":%q}`, userName, testPassword)
	if code := apiSignIn(t, k, token, enrol); code != http.StatusLocked {
		t.Fatalf("self-enrolment while locked: %d, want 423", code)
	}
	cards, err := k.creds.Cards(t.Context(), userName)
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != 0 {
		t.Fatalf("a card was bound while the user was locked: %v", cards)
	}
}

// TestQRSignInRecorded: a sign-in through a QR label is a signed-in
// action with the label's device, as every console sign-in is; a label
// page opened by a link on another site issues no label.
func TestQRSignInRecorded(t *testing.T) {
	k := newKioskEnv(t)
	link, err := k.svc.RemoteRelease().QRLink(t.Context(), "mfp-2f", release.DefaultQRLabelLifetime, "admin")
	if err != nil {
		t.Fatal(err)
	}
	w := k.do(t, request{method: http.MethodPost, path: link.Path,
		form: url.Values{"name": {userName}, "password": {testPassword}}, header: map[string]string{"Sec-Fetch-Site": "same-origin"}})
	if w.Code != http.StatusSeeOther || sessionCookie(w) == nil {
		t.Fatalf("QR sign-in: %d; want 303 with a session", w.Code)
	}
	last := k.env.audit.last()
	if last.Name != ActionSignIn || last.Method != release.MethodQR || last.Actor != userName || last.Details["device"] != "mfp-2f" {
		t.Fatalf("recorded %+v; want signed-in by qr at mfp-2f", last)
	}

	admin := k.signIn(t, adminName)
	w = k.do(t, request{method: http.MethodGet, path: "/admin/devices/mfp-2f/qr", cookie: admin,
		header: map[string]string{"Sec-Fetch-Site": "cross-site"}})
	if w.Code != http.StatusForbidden || strings.Contains(w.Body.String(), "/qr/mfp-2f/") {
		t.Fatalf("cross-site label page: %d; want 403, no link", w.Code)
	}
}

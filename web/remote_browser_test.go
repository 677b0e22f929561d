package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/throttle"
)

// logBuffer collects what a test's servers log, to check that no secret
// reaches it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Logger is a text logger into l.
func (l *logBuffer) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// releaseJobs shows My page the held jobs of the real release service,
// as serve's adapter does; the admin's verbs are not wired.
type releaseJobs struct{ svc *release.Service }

var _ Jobs = releaseJobs{}

func (r releaseJobs) HeldJobs(ctx context.Context, user string) ([]HeldJob, error) {
	jobs, err := r.svc.MyJobs().Held(ctx, user)
	out := make([]HeldJob, len(jobs))
	for i, j := range jobs {
		out[i] = HeldJob{ID: j.ID, Owner: j.Owner, Name: j.Name, Queue: j.Queue, Pages: j.Pages, Copies: max(j.Copies, 1),
			NeedsPIN: j.PasswordHash != "", SubmittedAt: j.CreatedAt, ExpiresAt: r.svc.ExpiresAt(j)}
	}
	return out, err
}

func (r releaseJobs) CancelJob(ctx context.Context, user string, id int64) error {
	return r.svc.MyJobs().Cancel(ctx, user, id)
}

func (releaseJobs) AllHeldJobs(context.Context, int) ([]HeldJob, error) { return nil, nil }
func (releaseJobs) CancelAnyJob(context.Context, int64, string) error   { return ErrNotFound }
func (releaseJobs) AssignJob(context.Context, int64, string, string) error {
	return ErrNotFound
}

// skewClock is the wall clock moved on by what the test adds: the
// printer's and the database's own times go on as usual, and a QR link
// can still be made to expire.
type skewClock struct{ skew atomic.Int64 }

func (c *skewClock) Now() time.Time           { return time.Now().Add(time.Duration(c.skew.Load())) }
func (c *skewClock) Advance(d time.Duration)  { c.skew.Add(int64(d)) }
func (c *skewClock) tweak(o *release.Options) { o.Now = c.Now }
func withQueues(qs ...release.Queue) func(*release.Options) {
	return func(o *release.Options) { o.Queues = append(o.Queues, qs...) }
}

// submitTo holds a document for alice on queue and returns its job ID.
func (k *kioskEnv) submitTo(t *testing.T, queue, name string, doc []byte) int64 {
	t.Helper()
	j, err := k.svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: queue, User: userName, ClaimedUser: userName,
		ClientAddr: "127.0.0.1", Name: name, Copies: 1, Document: ipp.DocumentInfo{Format: "application/pdf"}},
		bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("submit %s: %v", name, err)
	}
	return int64(j.ID)
}

// addDevice registers a device at the test printer and returns its token.
func (k *kioskEnv) addDevice(t *testing.T, spec release.DeviceSpec) string {
	t.Helper()
	spec.Printer = k.printer.URI
	if spec.Methods == nil {
		spec.Methods = []string{"card", "id+pin"}
	}
	_, token, err := k.svc.Admin().AddDevice(t.Context(), spec, adminName)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// printed waits until the printer has exactly the documents want, in
// any order.
func (k *kioskEnv) printed(t *testing.T, want ...[]byte) {
	t.Helper()
	testenv.WaitFor(t, "the printer to receive the released documents", func() bool {
		return len(k.printer.Files()) >= len(want)
	})
	files := k.printer.Files()
	if len(files) != len(want) {
		t.Fatalf("the printer received %d documents; want %d", len(files), len(want))
	}
	got := map[[32]byte]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got[sha256.Sum256(b)] = true
	}
	for _, w := range want {
		if !got[sha256.Sum256(w)] {
			t.Fatal("the printer received another document than the one released")
		}
	}
}

// releasedBy waits for job id's record to say it was released at device
// by method.
func (k *kioskEnv) releasedBy(t *testing.T, id int64, device, method string) {
	t.Helper()
	var rec audit.JobRecord
	testenv.WaitFor(t, "the job's record to show its release", func() bool {
		var err error
		rec, err = k.audit.Job(t.Context(), id)
		return err == nil && rec.Method != ""
	})
	if rec.Device != device || rec.Method != method || rec.Owner != userName {
		t.Fatalf("job %d recorded as released at %q by %q for %q; want %s by %s for %s",
			id, rec.Device, rec.Method, rec.Owner, device, method, userName)
	}
}

// held reports whether job id still waits for release.
func (k *kioskEnv) held(t *testing.T, id int64) bool {
	t.Helper()
	jobs, err := k.svc.Admin().HeldJobs(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(jobs, func(j release.Job) bool { return j.ID == id })
}

// kioskSetUp opens the kiosk in English and saves the device token.
func kioskSetUp(base, token string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(base+"/kiosk?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`#setup-form`)),
		chromedp.SendKeys(chromedp.CSS(`#setup-token`), token),
		chromedp.Click(chromedp.CSS(`#setup-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#card-form`)),
	)
}

// TestBrowserKioskSelfEnrol presents an unknown card at a kiosk whose
// device enrols cards: the kiosk asks for the directory password, a wrong
// one binds nothing, the right one binds the card (audited) and signs
// alice in; the card alone signs her in from then on. At a device that
// does not enrol cards the same unknown card is merely refused. The
// password never reaches a log.
func TestBrowserKioskSelfEnrol(t *testing.T) {
	k := newKioskEnv(t)
	enrolToken := k.addDevice(t, release.DeviceSpec{Name: "lobby", Queues: []string{"secure"},
		Methods: []string{"card"}, SelfEnroll: true})
	id := k.submit(t, "memo.pdf", testdocs.PDF(1, "memo", testdocs.A4))
	const card = "04A1B2C3"
	ctx := browser(t)
	base := serve(t, k.h)
	job := fmt.Sprintf(`#job-list li[data-id="%d"]`, id)

	// A device without self-enrolment: refused, no form.
	err := chromedp.Do(ctx, kioskSetUp(base, k.token),
		chromedp.SendKeys(chromedp.CSS(`#card`), card+kb.Enter),
		waitText(`#message`, "not recognised"))
	if err != nil {
		t.Fatalf("unknown card at a device that does not enrol: %v", err)
	}
	if hidden, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("enrol").hidden`)); !hidden {
		t.Fatal("a device that does not enrol cards offered to enrol one")
	}

	// The device of the kiosk changes: the setup form again.
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/kiosk?lang=en&setup=1"),
		chromedp.WaitVisible(chromedp.CSS(`#setup-form`)),
		chromedp.SendKeys(chromedp.CSS(`#setup-token`), enrolToken),
		chromedp.Click(chromedp.CSS(`#setup-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#card-form`)),
		chromedp.SendKeys(chromedp.CSS(`#card`), card+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#enrol-form`)),
		waitText(`#message`, "not registered"),
	)
	screenshot(t, ctx, "kiosk-enrol-form")
	if err != nil {
		t.Fatalf("unknown card at a device that enrols: %v", err)
	}
	// A wrong password binds nothing and keeps the form.
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#enrol-user`), userName),
		chromedp.SendKeys(chromedp.CSS(`#enrol-password`), "not her password"),
		chromedp.Click(chromedp.CSS(`#enrol-form button[type="submit"]`)),
		waitText(`#message`, "password is wrong"),
	)
	if err != nil {
		t.Fatalf("wrong password: %v", err)
	}
	if owner, err := k.creds.LookupCard(t.Context(), card); err == nil {
		t.Fatalf("a wrong password bound the card to %s", owner)
	}
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#enrol-user`), userName),
		chromedp.SendKeys(chromedp.CSS(`#enrol-password`), testPassword),
		chromedp.Click(chromedp.CSS(`#enrol-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(job)),
		waitText(`#message`, "card is registered"),
		waitText(`#hello`, "Alice Example"),
	)
	screenshot(t, ctx, "kiosk-enrolled")
	if err != nil {
		t.Fatalf("enrol with the right password: %v", err)
	}
	if owner, err := k.creds.LookupCard(t.Context(), card); err != nil || owner != userName {
		t.Fatalf("card bound to %q (%v); want %s", owner, err, userName)
	}
	var enrolled []audit.Event
	for ev, err := range k.audit.Events(t.Context(), audit.Filter{Type: audit.EventCardAdded}) {
		if err != nil {
			t.Fatal(err)
		}
		enrolled = append(enrolled, ev)
	}
	if len(enrolled) != 1 || enrolled[0].Owner != userName || enrolled[0].Device != "lobby" ||
		enrolled[0].Details["how"] != "self-enrolment" {
		t.Fatalf("card-added events %+v; want one, alice's, self-enrolment at lobby", enrolled)
	}

	// From now on the card alone signs her in.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#logout`)),
		chromedp.WaitVisible(chromedp.CSS(`#card-form`)),
		chromedp.SendKeys(chromedp.CSS(`#card`), card+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(job)),
	)
	if err != nil {
		t.Fatalf("the enrolled card does not sign in: %v", err)
	}
	for _, secret := range []string{testPassword, "not her password", card} {
		if strings.Contains(k.logs.String(), secret) {
			t.Errorf("the log holds the secret %q", secret)
		}
	}
}

// TestSelfEnrolThrottled: self-enrolment checks passwords under the same
// account limit as every sign-in: past it, even the right password is
// refused unchecked (429) and no card is bound.
func TestSelfEnrolThrottled(t *testing.T) {
	k := newKioskEnv(t)
	token := k.addDevice(t, release.DeviceSpec{Name: "lobby", Queues: []string{"secure"},
		Methods: []string{"card"}, SelfEnroll: true})
	enrol := func(card, password string) int {
		return apiSignIn(t, k, token, fmt.Sprintf(`{"card":%q,"user":%q,"password":%q}`, card, userName, password))
	}
	max := signinRules[throttle.Account].Max
	for i := range max {
		if got := enrol(fmt.Sprintf("04A1B2%02X", i), "wrong password"); got != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: status %d; want 401", i+1, got)
		}
	}
	if got := enrol("04FFFFFF", testPassword); got != http.StatusTooManyRequests {
		t.Fatalf("right password past the limit: status %d; want 429", got)
	}
	if owner, err := k.creds.LookupCard(t.Context(), "04FFFFFF"); err == nil {
		t.Fatalf("a throttled enrolment bound the card to %s", owner)
	}
}

// apiSignIn sends a sign-in body to the release API as the device of
// token and returns the status.
func apiSignIn(t *testing.T, k *kioskEnv, token, body string) int {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/api/v1/release/sessions", strings.NewReader(body))
	r.RemoteAddr = "192.0.2.1:40000"
	r.Header.Set("Authorization", "Bearer "+token)
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	k.h.ServeHTTP(w, r)
	return w.Code
}

// scanQR decodes the QR code in a PNG with zbarimg, as a phone's camera
// would.
func scanQR(t *testing.T, png []byte) string {
	t.Helper()
	zbar := testenv.Tool(t, "zbarimg")
	file := filepath.Join(t.TempDir(), "qr.png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(zbar, "--quiet", "--raw", file).Output()
	if err != nil {
		t.Fatalf("zbarimg found no QR code: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// phone opens a second browser context beside ctx's: its own cookies
// and storage, as another device would have.
func phone(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	p, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	return p
}

// TestBrowserQRRelease: the kiosk shows a QR code; a phone, a second
// browser context, scans it, signs alice in, sees her job and prints it
// at that device. The printer receives the very document, and the record
// says it was released there by qr. The kiosk itself never signed anyone
// in.
func TestBrowserQRRelease(t *testing.T) {
	var clock skewClock
	k := newKioskEnv(t, clock.tweak)
	payslip := testdocs.PDF(2, "payslip", testdocs.A4)
	id := int64(k.submit(t, "payslip.pdf", payslip))
	ctx := browser(t)
	base := serve(t, k.h)

	var png []byte
	err := chromedp.Do(ctx, kioskSetUp(base, k.token),
		chromedp.WaitVisible(chromedp.CSS(`#qr-canvas`)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			var err error
			png, err = chromedp.Screenshot(chromedp.CSS(`#qr-canvas`))(ctx, tg)
			return err
		}))
	screenshot(t, ctx, "kiosk-qr")
	if err != nil {
		t.Fatalf("kiosk QR code: %v", err)
	}
	link := scanQR(t, png)
	if !strings.HasPrefix(link, base+"/qr/mfp-2f/") {
		t.Fatalf("the QR code says %q; want a link to release at mfp-2f on %s", link, base)
	}

	p := phone(t, ctx)
	err = chromedp.Do(p,
		chromedp.Navigate(link+"?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`#qr-signin`)),
		chromedp.SendKeys(chromedp.CSS(`#qr-signin input[name="name"]`), userName),
		chromedp.SendKeys(chromedp.CSS(`#qr-signin input[name="password"]`), testPassword),
		chromedp.Submit(chromedp.CSS(`#qr-signin`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#qr-release li[data-id="%d"]`, id))),
	)
	screenshot(t, p, "phone-jobs")
	if err != nil {
		t.Fatalf("phone: sign in after the QR code: %v", err)
	}
	err = chromedp.Do(p,
		chromedp.Click(chromedp.CSS(`#qr-release button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#qr-results`)),
		waitText(`#qr-results`, "sent to the printer"),
	)
	screenshot(t, p, "phone-released")
	if err != nil {
		t.Fatalf("phone: release: %v", err)
	}
	k.printed(t, payslip)
	k.releasedBy(t, id, "mfp-2f", release.MethodQR)

	// The kiosk's own page signed nobody in: it still waits for a card.
	if hidden, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("jobs").hidden`)); !hidden {
		t.Fatal("the kiosk shows a signed-in user")
	}
	if strings.Contains(k.logs.String(), testPassword) {
		t.Error("the log holds alice's password")
	}
}

// TestBrowserQRRefused: a phone signed in by a genuine link is refused a
// link whose device was changed to another device, and one past its
// time; a release sent after the link expired prints nothing. Each
// refusal says what to do.
func TestBrowserQRRefused(t *testing.T) {
	var clock skewClock
	k := newKioskEnv(t, clock.tweak)
	k.addDevice(t, release.DeviceSpec{Name: "mfp-3f", Queues: []string{"secure"}})
	id := int64(k.submit(t, "memo.pdf", testdocs.PDF(1, "memo", testdocs.A4)))
	link, err := k.svc.RemoteRelease().QRLink(t.Context(), "mfp-2f", 0, "admin")
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, k.h)
	other := strings.Replace(link.Path, "/qr/mfp-2f/", "/qr/mfp-3f/", 1)

	ctx := browser(t)
	p := phone(t, ctx)
	err = chromedp.Do(p,
		chromedp.Navigate(base+link.Path+"?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`#qr-signin`)),
		chromedp.SendKeys(chromedp.CSS(`#qr-signin input[name="name"]`), userName),
		chromedp.SendKeys(chromedp.CSS(`#qr-signin input[name="password"]`), testPassword),
		chromedp.Submit(chromedp.CSS(`#qr-signin`)),
		chromedp.WaitVisible(chromedp.CSS(`#qr-release`)),
		// mfp-2f's link with mfp-3f's name in it.
		chromedp.Navigate(base+other+"?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`p.flash.error`)),
		waitText(`p.flash.error`, "not valid for this printer"),
	)
	screenshot(t, p, "phone-other-device")
	if err != nil {
		t.Fatalf("another device's link: %v", err)
	}
	if n, _ := chromedp.Run(p, chromedp.Evaluate[int](`document.querySelectorAll("#qr-release").length`)); n != 0 {
		t.Fatal("another device's link lists jobs")
	}

	// The page is open; the link expires; the release prints nothing.
	err = chromedp.Do(p,
		chromedp.Navigate(base+link.Path+"?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`#qr-release`)),
		chromedp.Func(func(context.Context, *chromedp.Target) error { clock.Advance(release.DefaultQRLifetime); return nil }),
		chromedp.Click(chromedp.CSS(`#qr-release button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash.error`)),
		waitText(`p.flash.error`, "expired"),
	)
	screenshot(t, p, "phone-expired")
	if err != nil {
		t.Fatalf("expired link: %v", err)
	}
	if !k.held(t, id) {
		t.Fatalf("job %d is no longer held after a release by an expired link", id)
	}
	if n := len(k.printer.Files()); n != 0 {
		t.Fatalf("the printer received %d documents from an expired link", n)
	}

	// The statuses say so too, to anything that is not a browser.
	tampered := []byte(link.Path)
	if i := len(tampered) - 5; tampered[i] == 'A' { // another letter of base64url in the MAC
		tampered[i] = 'B'
	} else {
		tampered[i] = 'A'
	}
	for path, want := range map[string]int{link.Path: http.StatusGone, other: http.StatusForbidden,
		string(tampered): http.StatusForbidden} {
		if got := k.do(t, request{method: http.MethodGet, path: path}).Code; got != want {
			t.Errorf("GET %s: status %d; want %d", path, got, want)
		}
	}
}

// TestBrowserReleaseFromWeb: My page offers to print at a chosen device
// only the jobs of a queue with release_from_web; alice prints one there
// from the browser, the printer gets it and the record says web. A
// forged release of a job of a queue without it is refused and the job
// stays held.
func TestBrowserReleaseFromWeb(t *testing.T) {
	desk := release.Queue{Name: "desk", Mode: release.Hold, Formats: []string{"application/pdf"}, MaxSize: 1 << 20,
		ReleaseFromWeb: true}
	k := newKioskEnv(t, withQueues(desk))
	k.addDevice(t, release.DeviceSpec{Name: "mfp-desk", Queues: []string{"secure", "desk"}})
	report := testdocs.PDF(3, "report", testdocs.A4)
	onWeb := k.submitTo(t, "desk", "report.pdf", report)
	offWeb := k.submitTo(t, "secure", "payslip.pdf", testdocs.PDF(1, "payslip", testdocs.A4))

	ctx := browser(t)
	base := serve(t, k.h)
	row := func(id int64) string { return fmt.Sprintf(`tr[data-job="%d"]`, id) }
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/signin?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`#signin`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), userName),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), testPassword),
		chromedp.Submit(chromedp.CSS(`#signin`)),
		chromedp.WaitVisible(chromedp.CSS(row(onWeb)+` form.release-web`)),
	)
	screenshot(t, ctx, "my-release-form")
	if err != nil {
		t.Fatalf("My page: %v", err)
	}
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll('%s form.release-web').length`, row(offWeb))))
	if err != nil || n != 0 {
		t.Fatalf("a job of a queue without release_from_web offers release from My page (%d forms, %v)", n, err)
	}
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(row(onWeb)+` select[name="device"]`), "mfp-desk"),
		chromedp.Click(chromedp.CSS(row(onWeb)+` form.release-web button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash.ok`)),
		waitText(`p.flash.ok`, "sent to the printer"),
	)
	screenshot(t, ctx, "my-released")
	if err != nil {
		t.Fatalf("release from My page: %v", err)
	}
	k.printed(t, report)
	k.releasedBy(t, onWeb, "mfp-desk", release.MethodWeb)

	cookie := k.signIn(t, userName)
	w := k.do(t, request{method: http.MethodPost, path: "/my/jobs/release", cookie: cookie,
		form: url.Values{"job": {fmt.Sprint(offWeb)}, "device": {"mfp-desk"}}})
	if w.Code != http.StatusNotFound {
		t.Fatalf("forged release of a job without release_from_web: status %d; want 404", w.Code)
	}
	if !k.held(t, offWeb) {
		t.Fatalf("job %d is no longer held after a refused release", offWeb)
	}
}

package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/spool"
	"github.com/printgate/printgate/release/throttle"
	"github.com/printgate/printgate/web/releaseapi"
)

// kioskEnv is the console with the real release service and release API
// behind it, a device whose printer is a real ippeveprinter, and alice
// with PIN 4821.
type kioskEnv struct {
	*env
	svc     *release.Service
	printer *testenv.Printer
	token   string
	// audit is the release service's record; logs what both the
	// console and the release service logged.
	audit *audit.Log
	logs  *logBuffer
}

func newKioskEnv(t *testing.T, tweak ...func(*release.Options)) *kioskEnv {
	t.Helper()
	printer := testenv.IPPEvePrinter(t)
	ctx := t.Context()
	db := openDB(t, database.SQLite)
	for _, migrate := range []func(context.Context, *database.DB) error{release.Migrate, audit.Migrate} {
		if err := migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	key, err := spool.LoadOrCreateKey(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(filepath.Join(dir, "spool"), key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	k := &kioskEnv{printer: printer, audit: audit.New(db, audit.Options{Key: testKey}), logs: &logBuffer{}}
	k.env = newEnv(t, db, func(o *Options) {
		o.Log = k.logs.Logger()
		// Self-enrolment checks passwords under the console's limits,
		// as serve wires it.
		passwords, _ := o.Passwords.(*throttle.Passwords)
		opts := release.Options{
			DB: db, Spool: sp, Client: &ipp.Client{}, Directory: o.Directory, Credentials: o.Credentials,
			Audit: k.audit, Passwords: passwords, Log: k.logs.Logger(), QRKey: testKey,
			Queues:   []release.Queue{{Name: "secure", Mode: release.Hold, Formats: []string{"application/pdf"}, MaxSize: 1 << 20}},
			Instance: "kiosk-test",
		}
		for _, f := range tweak {
			f(&opts)
		}
		k.svc, err = release.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		o.Remote, o.Jobs = k.svc.RemoteRelease(), releaseJobs{k.svc}
		for _, r := range releaseapi.New(k.svc.DeviceRelease(), nil).Routes() {
			o.API = append(o.API, APIRoute(r))
		}
	})
	runCtx, cancel := context.WithCancel(context.Background())
	if err := k.svc.Start(runCtx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); k.svc.Close() })
	_, k.token, err = k.svc.Admin().AddDevice(ctx, release.DeviceSpec{Name: "mfp-2f", Printer: printer.URI,
		Queues: []string{"secure"}, Methods: []string{"card", "id+pin", "card+pin", "qr"}}, adminName)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.creds.SetPIN(ctx, userName, "4821", nil); err != nil {
		t.Fatal(err)
	}
	return k
}

// submit holds a document for alice and returns its job ID.
func (k *kioskEnv) submit(t *testing.T, name string, doc []byte) int {
	t.Helper()
	j, err := k.svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: "secure", User: userName, ClaimedUser: userName,
		ClientAddr: "127.0.0.1", Name: name, Copies: 1, Document: ipp.DocumentInfo{Format: "application/pdf"}},
		bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("submit %s: %v", name, err)
	}
	return j.ID
}

// padPIN types pin on the sign-in PIN pad.
func padPIN(pin string) chromedp.Action[chromedp.Void] {
	var steps []chromedp.Action[chromedp.Void]
	steps = append(steps, chromedp.Click(chromedp.CSS(`#pin`)))
	for _, d := range pin {
		steps = append(steps, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#pin-form .pad button[data-key="%c"]`, d))))
	}
	return chromedp.Steps(steps...)
}

// waitText waits until the element sel shows text containing want.
func waitText(sel, want string) chromedp.Action[chromedp.Void] {
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && !e.hidden && e.textContent.includes(%q); })()`, sel, want)
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](js, chromedp.WithPollingTimeout(30*time.Second))(ctx, t)
		if err != nil {
			return fmt.Errorf("waiting for %q in %s: %w", want, sel, err)
		}
		return nil
	})
}

// TestBrowserKiosk releases a job at the kiosk with ID and PIN on the
// pad, checks that the printer got the very document, then locks the user
// out with wrong PINs.
func TestBrowserKiosk(t *testing.T) {
	k := newKioskEnv(t)
	ctx := browser(t)
	base := serve(t, k.h)
	payslip := testdocs.PDF(2, "payslip April", testdocs.A4)
	id := k.submit(t, "payslip-april.pdf", payslip)
	k.submit(t, "memo.pdf", testdocs.PDF(1, "memo", testdocs.A4))

	job := fmt.Sprintf(`#job-list li[data-id="%d"]`, id)
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/kiosk?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`#setup-form`)),
		chromedp.SendKeys(chromedp.CSS(`#setup-token`), k.token),
		chromedp.Click(chromedp.CSS(`#setup-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#card-form`)),
		chromedp.Click(chromedp.CSS(`#user`)),
		chromedp.SendKeys(chromedp.CSS(`#user`), userName),
		padPIN("4821"),
		chromedp.Click(chromedp.CSS(`#pin-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(job)),
		waitText(`#hello`, "Alice Example"),
	)
	screenshot(t, ctx, "kiosk-jobs")
	if err != nil {
		t.Fatalf("sign in at the kiosk: %v", err)
	}
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#job-list li").length`))
	if err != nil || n != 2 {
		t.Fatalf("%d jobs listed (%v); want 2", n, err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(job+` .job-check`)),
		chromedp.Click(chromedp.CSS(`#release-selected`)),
		waitText(job+` .job-state`, "printed"),
	)
	screenshot(t, ctx, "kiosk-released")
	if err != nil {
		t.Fatalf("release at the kiosk: %v", err)
	}
	files := k.printer.Files()
	if len(files) != 1 {
		t.Fatalf("the printer received %d documents; want 1", len(files))
	}
	got, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(payslip) {
		t.Fatal("the printer received another document than the one submitted")
	}

	// After the release the kiosk signs out by itself.
	if err := chromedp.Do(ctx, waitText(`#message`, "Signed out")); err != nil {
		t.Fatalf("no automatic sign-out: %v", err)
	}

	// A wrong PIN five times locks alice, and the fifth attempt says so.
	// The kiosk keeps the ID after a failure, so only the PIN is typed
	// again.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#user`)), chromedp.SendKeys(chromedp.CSS(`#user`), userName)); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		err := chromedp.Do(ctx,
			padPIN("9731"),
			chromedp.Click(chromedp.CSS(`#pin-form button[type="submit"]`)),
			waitText(`#message`, map[bool]string{false: "wrong", true: "Locked"}[i == 4]),
		)
		if err != nil {
			screenshot(t, ctx, "kiosk-wrong-pin")
			t.Fatalf("wrong PIN %d: %v", i+1, err)
		}
	}
	screenshot(t, ctx, "kiosk-locked")
	msg, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#message`)))
	if !strings.Contains(msg, "administrator") {
		t.Errorf("locked message %q does not say what to do", msg)
	}
}

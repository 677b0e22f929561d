package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

// browser starts a headless Debian Chromium with a fresh profile and
// returns a context for chromedp actions, closed by t.Cleanup.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := testenv.Chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		// The size of a printer panel: every page must work there.
		chromedp.WindowSize(1024, 600),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		testenv.Need(t, "Chromium at "+path, err)
	}
	return ctx
}

// screenshot saves the whole page as NAME.png in the test's temp dir.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 makes a PNG
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	dir := t.TempDir()
	if keep := os.Getenv("PRINTGATE_TEST_SCREENSHOTS"); keep != "" {
		dir = keep // to look at them after the test
	}
	file := filepath.Join(dir, name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	t.Logf("screenshot: %s", file)
}

// serve runs h on a loopback port for the test.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestBrowserSetPIN has a user sign in with a real browser, set a PIN on
// My page and see the success message.
func TestBrowserSetPIN(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t, openDB(t, database.SQLite), nil)
	base := serve(t, e.h)

	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/signin?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`#signin`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), userName),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), testPassword),
		chromedp.Submit(chromedp.CSS(`#signin`)),
		chromedp.WaitVisible(chromedp.CSS(`#pin-form`)),
		chromedp.SendKeys(chromedp.CSS(`#pin-new`), "4821"),
		chromedp.SendKeys(chromedp.CSS(`#pin-again`), "4821"),
		chromedp.Click(chromedp.CSS(`#pin-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash.ok`)),
	)
	screenshot(t, ctx, "my-page-pin-set")
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`p.flash.ok`)))
	if err != nil {
		t.Fatal(err)
	}
	pinState, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#pin p`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(flash, "Your PIN has been set") || !strings.Contains(pinState, "You have a PIN") {
		t.Fatalf("message %q, PIN state %q", flash, pinState)
	}
	if err := e.creds.CheckPIN(t.Context(), userName, "4821", "test"); err != nil {
		t.Fatalf("the PIN set in the browser does not check: %v", err)
	}
}

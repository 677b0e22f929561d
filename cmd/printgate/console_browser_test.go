package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// consoleBrowser starts a headless Debian Chromium the size of a printer
// panel, with a fresh profile, for the test. It is web's browser_test
// harness; the console tests here drive a whole printgate.
func consoleBrowser(t *testing.T) context.Context {
	t.Helper()
	path := testenv.Chromium(t)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1024, 600))
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

// consoleScreenshot saves the page as NAME.png in the test's temp dir
// (or PRINTGATE_TEST_SCREENSHOTS, to look at it afterwards).
func consoleScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	dir := t.TempDir()
	if keep := os.Getenv("PRINTGATE_TEST_SCREENSHOTS"); keep != "" {
		dir = keep
	}
	file := filepath.Join(dir, name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	t.Logf("screenshot: %s", file)
}

// browserSignIn signs user in on the console's sign-in page.
func browserSignIn(base, user, password, landing string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(base+"/signin?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`#signin`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Submit(chromedp.CSS(`#signin`)),
		chromedp.WaitVisible(chromedp.CSS(landing)),
	)
}

// shownRow is a history row as the browser shows it.
type shownRow struct {
	ID   int64
	Name string
}

// TestConsoleBrowserHistoryExport: an administrator signs in with a real
// browser, filters bob's history to ten days, sees exactly bob's jobs of
// those days, downloads the CSV export, and the file holds the very rows
// shown. The export is recorded in the audit trail with its filter.
func TestConsoleBrowserHistoryExport(t *testing.T) {
	ctx := consoleBrowser(t)
	cfg := newConfig(t, "")
	cfg.Log.Level = "info"
	runCLI(t, cfg, "alice-secret\n", "user", "add", "alice", "--role", "admin")
	st, err := openStack(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	jobs := monthOfJobs(t)
	seedRecord(t, st, jobs)
	st.Close()
	srv := startServer(t, cfg)
	base := "http://" + srv.Addr

	// What the filter must show: bob's jobs from 10 to 20 March in
	// Tokyo, both days whole, newest first.
	from, to := jst(t, 2026, 3, 10, 0, 0), jst(t, 2026, 3, 21, 0, 0)
	var period []pastJob
	for _, j := range jobs {
		if j.owner == "bob" && !j.at.Before(from) && j.at.Before(to) {
			period = append(period, j)
		}
	}
	slices.SortFunc(period, func(a, b pastJob) int { return cmp.Or(b.at.Compare(a.at), cmp.Compare(b.id, a.id)) })
	var want []shownRow
	for _, j := range period {
		name := j.name
		if j.hide {
			name = "name hidden"
		}
		want = append(want, shownRow{j.id, name})
	}
	if len(want) < 5 {
		t.Fatalf("the seed gives bob only %d jobs in the period", len(want))
	}

	err = chromedp.Do(ctx,
		browserSignIn(base, "alice", "alice-secret", `#today`),
		chromedp.Navigate(base+"/admin/history"),
		chromedp.WaitVisible(chromedp.CSS(`#history-filter`)),
		chromedp.SendKeys(chromedp.CSS(`#f-user`), "bob"),
		// A date input takes its value in ISO form whatever the locale's display.
		chromedp.SetValue(chromedp.CSS(`#f-from`), "2026-03-10"),
		chromedp.SetValue(chromedp.CSS(`#f-to`), "2026-03-20"),
		chromedp.Click(chromedp.CSS(`#history-filter button[type="submit"]`)),
		// The unfiltered page has rows too: wait for the filtered one,
		// whose form the server filled in.
		chromedp.WaitVisible(chromedp.CSS(`#f-user[value="bob"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#history-rows`)),
	)
	consoleScreenshot(t, ctx, "history-filtered")
	if err != nil {
		t.Fatalf("filter history: %v", err)
	}
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[[]shownRow](`[...document.querySelectorAll("#history-rows tbody tr")].map(
		r => ({ID: Number(r.dataset.job), Name: r.cells[3].textContent.trim()}))`))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(shown, want) {
		t.Fatalf("the page shows %v;\nwant %v", shown, want)
	}

	// Download the CSV with the browser itself, its cookie and all.
	dir := t.TempDir()
	progress := chromedp.Events(ctx, browser.DownloadProgress)
	err = chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			enabled := true
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &enabled})
			return err
		}),
		chromedp.Click(chromedp.CSS(`#export-csv`)),
	)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	var file string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("the download was canceled")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			file = filepath.Join(dir, ev.GUID)
			break
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\uFEFF")))).ReadAll()
	if err != nil {
		t.Fatalf("the downloaded CSV does not parse: %v", err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	var got []shownRow
	for _, r := range slices.Backward(recs[1:]) { // the file is oldest first
		id, _ := strconv.ParseInt(r[col["job_id"]], 10, 64)
		name := r[col["document_name"]]
		if r[col["name_hidden"]] == "1" {
			name = "name hidden"
		}
		if r[col["owner"]] != "bob" {
			t.Errorf("the file holds %s's job %d", r[col["owner"]], id)
		}
		got = append(got, shownRow{id, name})
	}
	if !slices.Equal(got, shown) {
		t.Fatalf("the downloaded file holds %v;\nthe page showed %v", got, shown)
	}

	srv.Stop(t)
	st = openStackT(t, cfg)
	var exports []audit.Event
	for ev, err := range st.audit.Events(t.Context(), audit.Filter{Type: audit.EventExport}) {
		if err != nil {
			t.Fatal(err)
		}
		exports = append(exports, ev)
	}
	if len(exports) != 1 || exports[0].Actor != "alice" || exports[0].Details["user"] != "bob" ||
		exports[0].Details["from"] != "2026-03-10" || exports[0].Details["to"] != "2026-03-20" ||
		exports[0].Details["format"] != "csv" {
		t.Errorf("export events %+v; want alice's of bob, 10-20 March, CSV", exports)
	}
}

// TestConsoleBrowserMyPage: a user signs in with a real browser and sets
// a PIN; a job then printed to printgate over IPP appears on My page, and
// the PIN is the one the release API checks.
func TestConsoleBrowserMyPage(t *testing.T) {
	ctx := consoleBrowser(t)
	cfg := newConfig(t, "")
	runCLI(t, cfg, "bob-secret\n", "user", "add", "bob", "--display-name", "Bob User")
	srv := startServer(t, cfg)
	base := "http://" + srv.Addr

	err := chromedp.Do(ctx,
		browserSignIn(base, "bob", "bob-secret", `#pin-form`),
		chromedp.SendKeys(chromedp.CSS(`#pin-new`), "4821"),
		chromedp.SendKeys(chromedp.CSS(`#pin-again`), "4821"),
		chromedp.Click(chromedp.CSS(`#pin-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash.ok`)),
	)
	consoleScreenshot(t, ctx, "my-page-pin-set")
	if err != nil {
		t.Fatalf("set PIN: %v", err)
	}
	if msg, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#pin p`))); !strings.Contains(msg, "You have a PIN") {
		t.Fatalf("PIN state %q", msg)
	}

	const name = "quarterly-report-browser.pdf"
	id := ippSubmit(t, srv, "bob", name, testdocs.PDF(3, "browser my page", testdocs.A4))
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/my?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`#jobs table`)),
	)
	consoleScreenshot(t, ctx, "my-page-held-job")
	if err != nil {
		t.Fatalf("My page: %v", err)
	}
	held, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#jobs table`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(held, name) || !strings.Contains(held, "3 pages × 1") {
		t.Fatalf("My page's held jobs: %q; want job %d, %s, 3 pages", held, id, name)
	}
	history, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#history table`)))
	if err != nil || !strings.Contains(history, name) {
		t.Fatalf("My page's history: %q, %v", history, err)
	}
	srv.Stop(t)
	st := openStackT(t, cfg)
	if err := st.creds.CheckPIN(t.Context(), "bob", "4821", "test"); err != nil {
		t.Fatalf("the PIN set in the browser does not check: %v", err)
	}
}

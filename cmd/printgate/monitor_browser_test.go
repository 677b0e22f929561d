package main

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/monitor"
)

// printerState is a monitored printer's state as the database holds it.
func printerState(t *testing.T, srv *testServer, name string) string {
	t.Helper()
	var state string
	openTestDB(t, srv).Raw("SELECT state FROM monitor_printers WHERE name = ?", name).Row().Scan(&state)
	return state
}

// TestConsoleBrowserPrinters: the console's printers page, in a real
// browser, shows a device's printer as idle while it answers, and once it
// is switched off flags it as not answering, with the error, while the
// other printer stays as it was, its supplies and levels shown.
func TestConsoleBrowserPrinters(t *testing.T) {
	ctx := consoleBrowser(t)
	printer := testenv.IPPEvePrinter(t)
	other := testenv.IPPEvePrinter(t)
	cfg := newConfig(t, "")
	withMonitoring(&cfg)
	runCLI(t, cfg, "alice-secret\n", "user", "add", "alice", "--role", "admin")
	runCLI(t, cfg, "", "device", "add", "mfp1", "--printer", printer.URI, "--queue", "secure")
	runCLI(t, cfg, "", "printer", "add", "lobby", "--uri", other.URI)
	srv := startServer(t, cfg)
	base := "http://" + srv.Addr
	testenv.WaitFor(t, "both printers polled", func() bool {
		return printerState(t, srv, "mfp1") == "idle" && printerState(t, srv, "lobby") == "idle"
	})

	err := chromedp.Do(ctx,
		browserSignIn(base, "alice", "alice-secret", `#today`),
		chromedp.Navigate(base+"/admin/printers?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`#printer-list`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	flagged, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#printer-list tr.flagged").length`))
	if err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`tr[data-printer="mfp1"]`)))
	if err != nil {
		t.Fatal(err)
	}
	if flagged != 0 || !strings.Contains(text, "idle") {
		t.Fatalf("answering printers: %d flagged, mfp1 shows %q, want none flagged and idle", flagged, text)
	}

	printer.Stop()
	testenv.WaitFor(t, "the switched-off printer marked unreachable", func() bool {
		return printerState(t, srv, "mfp1") == "unreachable"
	})
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/printers?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-printer="mfp1"].flagged .printer-stopped`)),
	)
	consoleScreenshot(t, ctx, "printers-stopped")
	if err != nil {
		t.Fatal(err)
	}
	shown := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return s
	}
	stopped := shown(`tr[data-printer="mfp1"] .printer-stopped`)
	errText := shown(`tr[data-printer="mfp1"] .last-error`)
	lobby := shown(`tr[data-printer="lobby"]`)
	if flagged, err = chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#printer-list tr.flagged").length`)); err != nil {
		t.Fatal(err)
	}
	// ippeveprinter's supplies, with their levels from printer-supply.
	if stopped != "not answering" || errText == "" || flagged != 1 || !strings.Contains(lobby, "idle") ||
		!strings.Contains(lobby, "Black Toner 75%") {
		t.Errorf("after mfp1 was switched off: it shows %q (error %q), %d rows flagged, lobby shows %q",
			stopped, errText, flagged, lobby)
	}
}

// TestConsoleBrowserPrinterLog: with a real ippeveprinter behind a
// device, a job printed straight to it as mallory and one released
// through printgate, the console shows, in a real browser, mallory's job
// as a history row with the source "printer log" when the filter asks
// for jobs printed without printgate (and only it), the released job with
// the printer's own count in the history and on its page, and the charts
// of the printer log with mallory's pages; the history export of the
// filter holds mallory's row.
func TestConsoleBrowserPrinterLog(t *testing.T) {
	ctx := consoleBrowser(t)
	printer := countingPrinter(t)
	e := newReleaseEnvAt(t, "", printer, withMonitoring)
	base := "http://" + e.srv.Addr
	if out, err := testenv.RunIpptool(t, mustAbs(t, "../../testdata/ipptool"), "-t", "-d", "requester=mallory", "-f",
		"document-a4.pdf", printer.URI, mustAbs(t, "testdata/monitor/print-as.test")); err != nil {
		t.Fatalf("ipptool: %v\n%s", err, out)
	}
	id := e.submit("bob", testdocs.PDF(3, "payslip", testdocs.A4))
	e.releaseBy("04A1B2C3", id, "completed")
	testenv.WaitFor(t, "both jobs in the printer's log recorded", func() bool {
		return len(exported(t, e.cfg, "--jobs", "--printed-without-printgate")) == 1 &&
			len(exported(t, e.cfg, "--type", monitor.EventDeviceJobMatched)) == 1
	})

	shown := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return s
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	err := chromedp.Do(ctx,
		browserSignIn(base, "alice", "alice-secret", `#today`),
		chromedp.Navigate(base+"/admin/history?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`#history-rows`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	countSel := fmt.Sprintf(`tr[data-job="%d"] .printer-count`, id)
	if count(countSel) != 1 {
		t.Fatalf("bob's job %d shows no printer's count in the history", id)
	}
	if n, pages := count(`#history-rows tr.observed`), shown(countSel); n != 1 || pages != "printer: 3" {
		t.Errorf("all jobs: %d rows from the printer log, bob's job shows %q; want mallory's row and the printer's 3", n, pages)
	}
	// The filter, as an administrator sets it.
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#f-source`), "printer-log"),
		chromedp.Submit(chromedp.CSS(`#history-filter`)),
		chromedp.WaitVisible(chromedp.CSS(`#history-rows tr.observed`)),
	)
	consoleScreenshot(t, ctx, "history-printer-log")
	if err != nil {
		t.Fatal(err)
	}
	row := shown(`#history-rows tr.observed`)
	if n := count(`#history-rows tr[data-job]`); n != 0 || count(`#history-rows tr.observed`) != 1 ||
		!strings.Contains(row, "printer log") || !strings.Contains(row, "mallory") ||
		!strings.Contains(row, "salaries-2026.pdf") || !strings.Contains(row, "printer: 2") {
		t.Errorf("printed without printgate: %d printgate rows, the row shows %q", n, row)
	}
	export, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`#export-csv`), "href"))
	if err != nil || !export.Exists {
		t.Fatalf("export link: %+v, %v", export, err)
	}

	err = chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/admin/jobs/%d?lang=en", base, id)),
		chromedp.WaitVisible(chromedp.CSS(`#job-printer-count`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if s := shown(`#job-printer-count dd`); s != "3" && !strings.HasPrefix(s, "3 impressions") {
		t.Errorf("job page: the printer's count shows %q, want 3", s)
	}

	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/charts?lang=en&source=printer-log"),
		chromedp.WaitVisible(chromedp.CSS(`#chart-users`)),
	)
	consoleScreenshot(t, ctx, "charts-printer-log")
	if err != nil {
		t.Fatal(err)
	}
	if users, tile := shown(`#chart-users`), shown(`#observed-pages dd`); !strings.Contains(users, "mallory") ||
		strings.Contains(users, "bob") || tile != "2 pages in 1 jobs" {
		t.Errorf("charts of the printer log: users %q, tile %q", users, tile)
	}

	admin := signInConsole(t, e.srv, "alice", "alice-secret")
	code, body := admin.get(strings.TrimPrefix(export.Value, base))
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\uFEFF"))).ReadAll()
	if code != http.StatusOK || err != nil || len(rows) != 2 || !slices.Contains(rows[1], "mallory") ||
		!slices.Contains(rows[1], monitor.SourcePrinterLog) {
		t.Errorf("export %s: HTTP %d, %v, rows %q; want mallory's row only", export.Value, code, err, rows)
	}
}

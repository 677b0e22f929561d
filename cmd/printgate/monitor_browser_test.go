package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/printgate/printgate/internal/testenv"
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

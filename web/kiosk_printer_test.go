package web

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/printerinfo"
)

// latin finds English that leaked into Japanese text.
var latin = regexp.MustCompile(`[A-Za-z]{2,}`)

// TestBrowserKioskPrinterUnavailable: at the Japanese kiosk, releasing to
// a printer that is switched off, then to a CUPS queue an operator
// stopped, says so in Japanese with no English in the message, and the
// job stays listed and held.
func TestBrowserKioskPrinterUnavailable(t *testing.T) {
	k := newKioskEnv(t, func(o *release.Options) {
		// Every release asks: the start-up answer must not decide.
		o.Printers = printerinfo.New(printerinfo.Options{Fresh: time.Millisecond})
	})
	cups := testenv.CUPS(t)
	if out, err := cups.Run(t, "lpadmin", "-p", "front", "-E", "-v", k.printer.URI, "-m", "everywhere"); err != nil {
		t.Fatalf("lpadmin: %v\n%s", err, out)
	}
	front := "ipp://" + cups.Server + "/printers/front"
	// cupsd sets a driverless queue up in the background and starts it
	// when done: stop it only after that, as an operator would.
	var ask ipp.Client
	testenv.WaitFor(t, "cupsd to set the queue up", func() bool {
		attrs, err := ask.PrinterAttributes(t.Context(), front, "printer-make-and-model")
		return err == nil && len(attrs) > 0 && attrs[0].Values[0].V.String() != "Local Raw Printer"
	})
	if out, err := cups.Run(t, "cupsdisable", "front"); err != nil {
		t.Fatalf("cupsdisable: %v\n%s", err, out)
	}
	stopped := printerinfo.New(printerinfo.Options{Fresh: time.Millisecond})
	testenv.WaitFor(t, "cupsd to show the queue stopped", func() bool {
		return stopped.Check(t.Context(), front).State == printerinfo.Stopped
	})
	_, cupsToken, err := k.svc.Admin().AddDevice(t.Context(), release.DeviceSpec{Name: "cups-front", Printer: front,
		Queues: []string{"secure"}, Methods: []string{"id+pin"}}, adminName)
	if err != nil {
		t.Fatal(err)
	}
	id := k.submit(t, "給与明細.pdf", testdocs.PDF(1, "payslip", testdocs.A4))
	k.printer.Stop()

	ctx := browser(t)
	base := serve(t, k.h)
	job := fmt.Sprintf(`#job-list li[data-id="%d"]`, id)
	for _, tc := range []struct {
		name, token, cause string
	}{
		{"switched off", k.token, "プリンターに接続できません"},
		{"stopped queue", cupsToken, "プリンターが停止しています"},
	} {
		err := chromedp.Do(ctx,
			chromedp.Navigate(base+"/kiosk?lang=ja&setup=1"),
			chromedp.WaitVisible(chromedp.CSS(`#setup-form`)),
			chromedp.SendKeys(chromedp.CSS(`#setup-token`), tc.token),
			chromedp.Click(chromedp.CSS(`#setup-form button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#card-form`)),
			chromedp.Click(chromedp.CSS(`#user`)),
			chromedp.SendKeys(chromedp.CSS(`#user`), userName),
			padPIN("4821"),
			chromedp.Click(chromedp.CSS(`#pin-form button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(job)),
			chromedp.Click(chromedp.CSS(job+` .job-check`)),
			chromedp.Click(chromedp.CSS(`#release-selected`)),
			waitText(`#message`, "ジョブは保持されています"),
		)
		screenshot(t, ctx, "kiosk-printer-unavailable-"+strings.ReplaceAll(tc.name, " ", "-"))
		if err != nil {
			t.Fatalf("%s: release at the kiosk: %v", tc.name, err)
		}
		msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#message`)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(msg, tc.cause) || !strings.Contains(msg, "このプリンターは現在印刷できません") {
			t.Errorf("%s: message %q does not say why in Japanese (%s)", tc.name, msg, tc.cause)
		}
		if en := latin.FindString(msg); en != "" {
			t.Errorf("%s: English %q in the Japanese message %q", tc.name, en, msg)
		}
		var state string
		k.db.Raw("SELECT state FROM jobs WHERE id = ?", id).Scan(&state)
		if state != string(release.StateHeld) {
			t.Errorf("%s: job is %s after the refused release, want held", tc.name, state)
		}
		listed, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`!!document.querySelector(%q)`, job)))
		if err != nil || !listed {
			t.Errorf("%s: the job is no longer listed (%v)", tc.name, err)
		}
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#logout`)), chromedp.WaitVisible(chromedp.CSS(`#card-form`))); err != nil {
			t.Fatal(err)
		}
	}
}

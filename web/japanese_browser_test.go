package web

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/monitor"
	"github.com/printgate/printgate/release"
)

// screen is a browser window size the pages must work at.
type screen struct {
	name   string
	width  int64
	height int64
}

var (
	desktop = screen{"1280x800", 1280, 800}
	panel   = screen{"800x480", 800, 480}
)

// allowedASCII are words in Latin letters that rightly stand on a
// Japanese page: names of the product, of standards and of things a
// Japanese reader calls by their English letters; and the test's own
// data (user, queue and device names).
var allowedASCII = []string{"printgate", "pin", "ic", "id", "pdf", "csv", "json", "lines", "shift", "jis", "jis",
	"sha", "ipp", "ok", "url", "qr", "uri", "snmp", "oidc", "sso", "jst", "mb", "kb", "mm",
	// the test's data
	"adam", "alice", "audrey", "admin", "example", "auditor", "secure", "mfp", "print", "memo", "black"}

// shownText is what a page shows a reader, measured in the browser: its
// visible text, the elements wider than the window, and the words of the
// catalog that a line break splits.
type shownText struct {
	Text string
	// Page is the document's width, View the window's.
	Page, View int
	// Wide are elements that reach past the window's right edge.
	Wide []string
	// Broken are catalog words whose characters stand on two lines.
	Broken []string
}

// measureShown takes the catalog's Japanese texts as its argument
// (catalog) and returns a shownText.
const measureShown = `((catalog) => {
	const seg = new Intl.Segmenter("ja", {granularity: "word"});
	const words = new Set();
	for (const text of catalog) {
		for (const s of seg.segment(text)) {
			// A word of two characters or more can be split by a break.
			if (s.isWordLike && [...s.segment].length > 1) words.add(s.segment);
		}
	}
	const view = document.documentElement.clientWidth;
	const visible = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
	// Elements inside a box that scrolls or clips sideways may be wider:
	// the box is what must fit.
	const clipped = (e) => {
		for (let p = e.parentElement; p; p = p.parentElement) {
			const o = getComputedStyle(p).overflowX;
			if (o === "auto" || o === "scroll" || o === "hidden" || o === "clip") return true;
		}
		return false;
	};
	const wide = [];
	for (const e of document.body.querySelectorAll("*")) {
		if (!visible(e) || clipped(e)) continue;
		const r = e.getBoundingClientRect();
		if (r.right > view + 1) wide.push(e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
			(e.className && typeof e.className === "string" ? "." + e.className.split(" ").join(".") : "") + " to " + Math.round(r.right));
	}
	const broken = [];
	const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	for (let n = walk.nextNode(); n; n = walk.nextNode()) {
		if (!n.parentElement || !visible(n.parentElement)) continue;
		for (const s of seg.segment(n.data)) {
			if (!words.has(s.segment)) continue;
			const r = document.createRange();
			r.setStart(n, s.index);
			r.setEnd(n, s.index + s.segment.length);
			const tops = new Set([...r.getClientRects()].filter(c => c.width > 0).map(c => Math.round(c.top)));
			if (tops.size > 1) broken.push(s.segment);
		}
	}
	// Codes (tokens, hashes) are machine data in letters of their own.
	let text = document.body.innerText;
	for (const c of document.querySelectorAll("code")) text = text.split(c.innerText).join(" ");
	return {Text: text, Page: document.documentElement.scrollWidth, View: view, Wide: wide, Broken: broken};
})`

// rawKeyword matches IPP keywords as a page must not show them: hyphenated
// keywords (job-completed-successfully, one-sided, media-jam-error), PWG
// media names (iso_a4_210x297mm) and MIME types.
var rawKeyword = regexp.MustCompile(`\b[a-z]+(?:-[a-z]+)+\b|\b(?:iso|na|jis|jpn|oe|om|prc|roc)_[a-z0-9._]+|\b(?:application|image|text)/[a-z0-9.+-]+`)

// englishWords returns the words of the English catalog that the
// Japanese catalog does not use itself, minus allowedASCII.
func englishWords(t *testing.T) map[string]bool {
	t.Helper()
	locs, err := loadLocales(time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	word := regexp.MustCompile(`[A-Za-z][A-Za-z']+`)
	inJa := map[string]bool{}
	for _, v := range locs[langJa].msgs {
		for _, w := range word.FindAllString(v, -1) {
			inJa[strings.ToLower(w)] = true
		}
	}
	out := map[string]bool{}
	for _, v := range locs[langEn].msgs {
		for _, w := range word.FindAllString(v, -1) {
			w = strings.ToLower(w)
			if !inJa[w] && !slices.Contains(allowedASCII, w) {
				out[w] = true
			}
		}
	}
	return out
}

// japaneseTexts returns the Japanese catalog's texts, for the browser to
// find its words in a page.
func japaneseTexts(t *testing.T) string {
	t.Helper()
	locs, err := loadLocales(time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, v := range locs[langJa].msgs {
		texts = append(texts, v)
	}
	data, err := json.Marshal(texts)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// checkJapanese measures the page in ctx and fails t on English catalog
// words, raw IPP keywords, anything wider than the window and catalog
// words broken across lines. It saves a screenshot as name.
func checkJapanese(t *testing.T, ctx context.Context, name string, english map[string]bool, catalog string) {
	t.Helper()
	screenshot(t, ctx, name)
	s, err := chromedp.Run(ctx, chromedp.Evaluate[shownText](measureShown+"("+catalog+")"))
	if err != nil {
		t.Fatalf("measure %s: %v", name, err)
	}
	if s.Page > s.View {
		t.Errorf("the page is %d px wide in a window of %d", s.Page, s.View)
	}
	if len(s.Wide) > 0 {
		t.Errorf("elements past the window's edge (%d px): %q", s.View, s.Wide[:min(len(s.Wide), 8)])
	}
	if len(s.Broken) > 0 {
		t.Errorf("catalog words broken across lines: %q", s.Broken)
	}
	if kws := rawKeyword.FindAllString(s.Text, -1); len(kws) > 0 {
		t.Errorf("raw keywords shown: %q", kws)
	}
	var leaks []string
	for _, w := range regexp.MustCompile(`[A-Za-z][A-Za-z']+`).FindAllString(s.Text, -1) {
		if english[strings.ToLower(w)] && !slices.Contains(leaks, w) {
			leaks = append(leaks, w)
		}
	}
	if len(leaks) > 0 {
		t.Errorf("English words shown: %q", leaks)
	}
}

// TestBrowserJapaneseConsole renders every console page in Japanese in a
// real Chromium at 1280×800, with a job whose name runs to 1,000
// characters and one that ended for a reason printgate has no words for,
// and fails on English, raw IPP keywords, anything wider than the
// window, and a catalog word split across two lines.
func TestBrowserJapaneseConsole(t *testing.T) {
	ctx := browser(t)
	english, catalog := englishWords(t), japaneseTexts(t)
	long := strings.Repeat("A", 400) + strings.Repeat("給", 600)
	start := time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)
	rows := []audit.JobRecord{
		{JobID: 7, JobInfo: audit.JobInfo{Owner: adminName, DocumentName: long, Pages: 4, Copies: 1, Submitted: start,
			Format: "application/pdf", Size: 2048, PagesKnown: true, Sides: "two-sided-long-edge", Media: "iso_a4_210x297mm"},
			Outcome: "print-failed", Reason: "firmware-quirk-42", Device: "mfp-2f", Method: "card+pin", Impressions: 4, Sheets: 2},
		{JobID: 8, JobInfo: audit.JobInfo{Owner: adminName, DocumentName: "議事録.pdf", Pages: 1, Copies: 2, Submitted: start.Add(time.Minute),
			Format: "application/octet-stream", Sides: "one-sided", Media: "jpn_kaku2_240x332mm"},
			Outcome: "printed", Reason: "job-completed-successfully", Device: "mfp-2f"},
		{JobID: 9, JobInfo: audit.JobInfo{Owner: userName, DocumentName: "見積書.pdf", Submitted: start.Add(2 * time.Minute)},
			Outcome: "canceled", Reason: "document-missing"},
	}
	events := []audit.Event{
		{Seq: 1, At: start, Type: audit.EventSubmitted, JobID: 7, Actor: adminName, Queue: "secure",
			Details: map[string]string{"format-supplied": "application/octet-stream"}, Hash: make([]byte, 32)},
		{Seq: 2, At: start, Type: audit.EventReleaseAttempt, JobID: 7, Actor: adminName, Method: "card", Outcome: "success", Hash: make([]byte, 32)},
		{Seq: 3, At: start, Type: audit.EventPrintFailed, JobID: 7, Actor: audit.ActorSystem, Device: "mfp-2f",
			Outcome: "failure", Reason: "firmware-quirk-42", Hash: make([]byte, 32)},
	}
	rec := &record{rows: rows,
		details: map[int64]JobDetail{7: {JobRecord: rows[0], Events: events}},
		summary: Summary{Jobs: 3, Pages: 9, HeldNow: 2},
		chain:   audit.Report{Checked: 3, LastSeq: 3},
		totals: map[audit.GroupBy][]audit.Total{
			"":             {{Jobs: 3, Impressions: 9, ColorImpressions: 4, MonoImpressions: 5}},
			audit.ByDay:    {{Key: "2026-11-30", Impressions: 9}},
			audit.ByUser:   {{Key: adminName, Impressions: 9}},
			audit.ByDevice: {{Key: "mfp-2f", Impressions: 9}},
		}}
	held := &heldJobs{jobs: map[string][]HeldJob{adminName: {
		{ID: 7, Name: long, Queue: "secure", Pages: 2, Copies: 1, SubmittedAt: start, ExpiresAt: start.Add(24 * time.Hour), NeedsPIN: true},
		{ID: 10, Name: "memo.pdf", Queue: "secure", Pages: 1, Copies: 1, Color: audit.ColorColor, SubmittedAt: start, ExpiresAt: start.Add(24 * time.Hour)},
	}}}
	prn := &printers{list: []monitor.Printer{
		{Name: "mfp-2f", URI: "ipp://192.0.2.20/ipp/print", Source: monitor.SourceDevice, State: "stopped",
			Reasons: "media-jam-error,firmware-quirk-42", LastPoll: start, Supplies: "Black 80%"},
		{Name: "mfp-3f", URI: "ipp://192.0.2.30/ipp/print", Source: monitor.SourceMonitor, State: monitor.StateUnreachable,
			LastError: "dial tcp 192.0.2.30:631: connection refused"},
	}}
	e := newEnv(t, openDB(t, database.SQLite), func(o *Options) {
		o.History, o.Record, o.Jobs, o.Printers = rec, rec, held, prn
		o.Devices = newDevices("secure")
		o.Devices.AddDevice(t.Context(), release.DeviceSpec{Name: "mfp-2f", Printer: "ipp://192.0.2.20/ipp/print",
			Queues: []string{"secure"}, Methods: []string{"card", "id+pin", "card+pin", "qr"}, SelfEnroll: true}, adminName)
	})
	if err := e.creds.SetPIN(t.Context(), adminName, "4821", nil); err != nil {
		t.Fatal(err)
	}
	base := serve(t, e.h)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(desktop.width, desktop.height),
		chromedp.Navigate(base+"/signin?lang=ja"), chromedp.WaitVisible(chromedp.CSS(`#signin`))); err != nil {
		t.Fatal(err)
	}
	checkJapanese(t, ctx, "ja-signin", english, catalog)
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), adminName),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "wrong password"),
		chromedp.Submit(chromedp.CSS(`#signin`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash.error`)),
	); err != nil {
		t.Fatalf("sign in with a wrong password: %v", err)
	}
	checkJapanese(t, ctx, "ja-signin-refused", english, catalog)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/signin"), chromedp.WaitVisible(chromedp.CSS(`#signin`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), adminName),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), testPassword),
		chromedp.Submit(chromedp.CSS(`#signin`)),
		chromedp.WaitVisible(chromedp.CSS(`#today`)),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	pages := []struct{ name, path, ready string }{
		{"dashboard", "/admin", "#today"},
		{"my", "/my", "#pin-form"},
		{"history", "/admin/history", "#history-rows"},
		{"job", "/admin/jobs/7", "#job"},
		{"job-not-found", "/admin/jobs/99", "main"},
		{"lookup", "/admin/lookup", "main"},
		{"charts", "/admin/charts", "main"},
		{"held", "/admin/held", "#held-jobs"},
		{"devices", "/admin/devices", "#device-list"},
		{"qr-label", "/admin/devices/mfp-2f/qr", "main"},
		{"printers", "/admin/printers", "#printer-list"},
		{"users", "/admin/users?user=adam", "main"},
		{"not-found", "/nowhere", "main"},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			if err := chromedp.Do(ctx, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready))); err != nil {
				screenshot(t, ctx, "ja-"+p.name)
				t.Fatalf("open %s: %v", p.path, err)
			}
			checkJapanese(t, ctx, "ja-"+p.name, english, catalog)
		})
	}
	t.Run("token", func(t *testing.T) {
		check := func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`(() => { for (const e of document.querySelectorAll(
				'form[action="/admin/devices/add"] input[name="queue"], form[action="/admin/devices/add"] input[name="method"][value="card"]')) e.checked = true; return true; })()`)(ctx, tg)
			return err
		}
		err := chromedp.Do(ctx,
			chromedp.Navigate(base+"/admin/devices"),
			chromedp.WaitVisible(chromedp.CSS(`#device-list`)),
			chromedp.SendKeys(chromedp.CSS(`form[action="/admin/devices/add"] input[name="name"]`), "mfp-4f"),
			chromedp.SendKeys(chromedp.CSS(`form[action="/admin/devices/add"] input[name="printer"]`), "ipp://192.0.2.40/ipp/print"),
			chromedp.Func(check),
			chromedp.Submit(chromedp.CSS(`form[action="/admin/devices/add"]`)),
			chromedp.WaitVisible(chromedp.CSS(`code.token`)),
		)
		if err != nil {
			screenshot(t, ctx, "ja-token")
			t.Fatalf("add a device: %v", err)
		}
		checkJapanese(t, ctx, "ja-token", english, catalog)
	})
}

// TestBrowserJapaneseKiosk signs in at the kiosk in Japanese, at 1280×800
// and on an 800×480 panel, with a held job whose name runs to 1,000
// characters, after a wrong PIN: the same checks as the console's.
func TestBrowserJapaneseKiosk(t *testing.T) {
	k := newKioskEnv(t)
	english, catalog := englishWords(t), japaneseTexts(t)
	id := k.submit(t, strings.Repeat("B", 400)+strings.Repeat("明", 600), testdocs.PDF(1, "long", testdocs.A4))
	k.submit(t, "会議資料.pdf", testdocs.PDF(2, "short", testdocs.A4))
	base := serve(t, k.h)
	for _, sc := range []screen{desktop, panel} {
		t.Run(sc.name, func(t *testing.T) {
			ctx := browser(t)
			name := func(s string) string { return "ja-kiosk-" + s + "-" + sc.name }
			err := chromedp.Do(ctx, chromedp.EmulateViewport(sc.width, sc.height),
				chromedp.Navigate(base+"/kiosk?lang=ja"),
				chromedp.WaitVisible(chromedp.CSS(`#setup-form`)))
			if err != nil {
				t.Fatal(err)
			}
			checkJapanese(t, ctx, name("setup"), english, catalog)
			err = chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.CSS(`#setup-token`), k.token),
				chromedp.Click(chromedp.CSS(`#setup-form button[type="submit"]`)),
				chromedp.WaitVisible(chromedp.CSS(`#card-form`)),
			)
			if err != nil {
				t.Fatal(err)
			}
			checkJapanese(t, ctx, name("login"), english, catalog)
			checkQRPages(t, ctx, sc, id, name, english, catalog)
			err = chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(`#user`)),
				chromedp.SendKeys(chromedp.CSS(`#user`), userName),
				padPIN("1111"),
				chromedp.Click(chromedp.CSS(`#pin-form button[type="submit"]`)),
				waitText(`#message`, "PIN"),
			)
			if err != nil {
				screenshot(t, ctx, name("wrong-pin"))
				t.Fatal(err)
			}
			checkJapanese(t, ctx, name("wrong-pin"), english, catalog)
			err = chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(`#pin-form .pad button[data-key="clear"]`)),
				padPIN("4821"),
				chromedp.Click(chromedp.CSS(`#pin-form button[type="submit"]`)),
				chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#job-list li[data-id="%d"]`, id))),
			)
			if err != nil {
				screenshot(t, ctx, name("jobs"))
				t.Fatal(err)
			}
			checkJapanese(t, ctx, name("jobs"), english, catalog)
		})
	}
}

// checkQRPages scans the kiosk's QR code in ctx and opens its link on a
// phone of the size sc: its sign-in page, then the list of alice's jobs
// with the one of id.
func checkQRPages(t *testing.T, ctx context.Context, sc screen, id int, name func(string) string, english map[string]bool, catalog string) {
	t.Helper()
	var png []byte
	err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#qr-canvas`)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			var err error
			png, err = chromedp.Screenshot(chromedp.CSS(`#qr-canvas`))(ctx, tg)
			return err
		}))
	if err != nil {
		t.Fatalf("kiosk QR code: %v", err)
	}
	p := phone(t, ctx)
	err = chromedp.Do(p, chromedp.EmulateViewport(sc.width, sc.height),
		chromedp.Navigate(scanQR(t, png)+"?lang=ja"),
		chromedp.WaitVisible(chromedp.CSS(`#qr-signin`)))
	if err != nil {
		t.Fatalf("open the QR link: %v", err)
	}
	checkJapanese(t, p, name("qr-signin"), english, catalog)
	err = chromedp.Do(p,
		chromedp.SendKeys(chromedp.CSS(`#qr-signin input[name="name"]`), userName),
		chromedp.SendKeys(chromedp.CSS(`#qr-signin input[name="password"]`), testPassword),
		chromedp.Submit(chromedp.CSS(`#qr-signin`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#qr-release li[data-id="%d"]`, id))))
	if err != nil {
		screenshot(t, p, name("qr-jobs"))
		t.Fatalf("sign in on the phone: %v", err)
	}
	checkJapanese(t, p, name("qr-jobs"), english, catalog)
}

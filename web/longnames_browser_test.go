package web

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
)

// layout is what the browser measures of a page.
type layout struct {
	// Page is the width of the whole document, View the viewport's.
	Page, View int
	// Columns are the widths of the columns of the page's first table
	// (its header cells), Name that of the longest name in it.
	Columns []int
	Name    int
	// Title is the longest name's title attribute: the whole name.
	Title string
	// Broken are the words of the table that break across lines: a
	// column squeezed narrower than its words.
	Broken []string
}

const measureLayout = `(() => {
	const table = document.querySelector("table.list");
	const names = [...document.querySelectorAll("table.list .name")];
	const name = names.sort((a, b) => b.title.length - a.title.length)[0];
	return {
		Page: document.documentElement.scrollWidth,
		View: document.documentElement.clientWidth,
		Columns: table ? [...table.querySelectorAll("thead th")].map(th => Math.round(th.getBoundingClientRect().width)) : [],
		Name: name ? Math.round(name.getBoundingClientRect().width) : 0,
		Title: name ? name.title : "",
		Broken: table ? [...table.querySelectorAll("tbody td")].flatMap(td => {
			const walk = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
			const broken = [];
			for (let n = walk.nextNode(); n; n = walk.nextNode()) {
				// A word, where a line may not break: no space, no hyphen.
				const word = n.data.trim();
				if (!word || /[\s-]/.test(word)) continue;
				const r = document.createRange();
				r.selectNodeContents(n);
				const lines = new Set([...r.getClientRects()].map(c => Math.round(c.top)));
				if (lines.size > 1) broken.push(word);
			}
			return broken;
		}) : [],
	};
})()`

// TestBrowserLongNames shows records and held jobs whose names run to
// 1,000 characters without a space (older records kept them whole; names
// of up to 255 octets still come in) in a real Chromium the size of a
// printer panel: no page grows wider than the window, every column of a
// table keeps room for its text, and a name cut short in a table keeps
// its whole text in its title.
func TestBrowserLongNames(t *testing.T) {
	ctx := browser(t)
	long := strings.Repeat("A", 400) + strings.Repeat("給", 600) // 1,000 characters, no space
	start := time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)
	rows := sampleRows(6)
	for i := range rows {
		if i%2 == 0 {
			rows[i].DocumentName = fmt.Sprintf("%d-%s", i, long)
		}
		rows[i].Submitted = start.Add(time.Duration(i) * time.Minute)
	}
	rec := &record{rows: rows, details: map[int64]JobDetail{rows[0].JobID: {JobRecord: rows[0], Events: []audit.Event{
		{Seq: 1, At: start, Type: audit.EventSubmitted, JobID: rows[0].JobID, Actor: rows[0].Owner, Queue: rows[0].Queue,
			Details: map[string]string{"format-supplied": "application/octet-stream"}, Hash: make([]byte, 32)},
	}}}}
	held := &heldJobs{jobs: map[string][]HeldJob{userName: {
		{ID: 1, Name: long, Queue: "secure", Pages: 2, Copies: 1, SubmittedAt: start, ExpiresAt: start.Add(24 * time.Hour)},
		{ID: 2, Name: "short.pdf", Queue: "secure", Pages: 1, Copies: 1, SubmittedAt: start, ExpiresAt: start.Add(24 * time.Hour)},
	}}}
	e := newEnv(t, openDB(t, database.SQLite), func(o *Options) { o.History, o.Record, o.Jobs = rec, rec, held })
	base := serve(t, e.h)

	if err := chromedp.Do(ctx, browserSignIn(base, adminName, "#today")); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	pages := []struct {
		name, path, ready string
		table             bool
	}{
		{"history", "/admin/history?lang=en", "#history-rows", true},
		{"held", "/admin/held?lang=en", "#held-jobs", true},
		{"job", fmt.Sprintf("/admin/jobs/%d?lang=en", rows[0].JobID), "#job", false},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			err := chromedp.Do(ctx, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)))
			screenshot(t, ctx, "long-names-"+p.name)
			if err != nil {
				t.Fatalf("open %s: %v", p.path, err)
			}
			l, err := chromedp.Run(ctx, chromedp.Evaluate[layout](measureLayout))
			if err != nil {
				t.Fatal(err)
			}
			if l.Page > l.View {
				t.Errorf("the page is %d px wide in a window of %d", l.Page, l.View)
			}
			if !p.table {
				return
			}
			for i, w := range l.Columns {
				if w < 40 {
					t.Errorf("column %d is %d px wide (columns %v): its text stands one character a line", i+1, w, l.Columns)
				}
			}
			if len(l.Broken) > 0 {
				t.Errorf("words broken across lines by a squeezed column: %q", l.Broken)
			}
			if l.Name == 0 || l.Name > 400 {
				t.Errorf("the long name takes %d px of its table", l.Name)
			}
			if !strings.HasSuffix(l.Title, long) {
				t.Errorf("the cut name's title is not the whole name (%d characters)", len([]rune(l.Title)))
			}
		})
	}
}

// browserSignIn signs user in with the test password and waits for the
// landing page to show its element landing.
func browserSignIn(base, user, landing string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(base+"/signin?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`#signin`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), testPassword),
		chromedp.Submit(chromedp.CSS(`#signin`)),
		chromedp.WaitVisible(chromedp.CSS(landing)),
	)
}

// TestBrowserKioskLongName lists a job whose name runs to 1,000
// characters without a space at the kiosk, on a printer panel of 1024 px:
// the list wraps the name instead of growing past the panel, and the
// delete button stays on it.
func TestBrowserKioskLongName(t *testing.T) {
	k := newKioskEnv(t)
	ctx := browser(t)
	base := serve(t, k.h)
	id := k.submit(t, strings.Repeat("B", 400)+strings.Repeat("明", 600), testdocs.PDF(1, "long", testdocs.A4))
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
	)
	screenshot(t, ctx, "kiosk-long-name")
	if err != nil {
		t.Fatalf("sign in at the kiosk: %v", err)
	}
	l, err := chromedp.Run(ctx, chromedp.Evaluate[layout](measureLayout))
	if err != nil {
		t.Fatal(err)
	}
	if l.Page > l.View {
		t.Errorf("the kiosk is %d px wide on a panel of %d", l.Page, l.View)
	}
	right, err := chromedp.Run(ctx, chromedp.Evaluate[float64](
		`document.querySelector(`+"`"+job+` button.danger`+"`"+`).getBoundingClientRect().right`))
	if err != nil || right > float64(l.View) {
		t.Errorf("the job's delete button ends at %v px, past the panel's %d (%v)", right, l.View, err)
	}
	lines, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`(() => {
		const n = document.querySelector(`+"`"+job+` .job-name`+"`"+`);
		return n.getBoundingClientRect().height / parseFloat(getComputedStyle(n).lineHeight);
	})()`))
	if err != nil || lines > 3.1 {
		t.Errorf("the name takes %.1f lines of the list, want 3 at most (%v)", lines, err)
	}
}

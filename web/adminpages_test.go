package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release"
)

func TestJobDetail(t *testing.T) {
	at := time.Date(2026, 4, 1, 0, 30, 0, 0, time.UTC)
	rec := &record{details: map[int64]JobDetail{
		42: {JobRecord: audit.JobRecord{JobID: 42, JobInfo: audit.JobInfo{Owner: userName, DocumentName: "<b>payroll</b>.pdf", Queue: "secure", Pages: 3, Copies: 2, Submitted: at, ClaimedUser: "someone", ClientAddr: "192.0.2.7", Format: "application/pdf", Size: 123456, SHA256: []byte{0xab, 0x12, 0xcd}, PagesKnown: true}, Device: "mfp-2f", Outcome: "printed", Impressions: 6, Sheets: 6, Method: "id+pin", Printer: "ipps://admin:hunter2@mfp-2f/ipp/print"}, Events: []audit.Event{
			{Seq: 11, At: at, Type: "submitted", Actor: userName, Hash: []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99}},
			{Seq: 15, At: at.Add(time.Minute), Type: "released", Actor: userName, Device: "mfp-2f", Method: "id+pin", Printer: "ipps://admin:hunter2@mfp-2f/ipp/print", Hash: []byte{0xaa, 0xbb}},
			{Seq: 16, At: at.Add(2 * time.Minute), Type: "printed", Actor: "system", Details: map[string]string{"printer-job-id": "9"}, Hash: []byte{0xcc, 0xdd}},
		}},
		43: {JobRecord: audit.JobRecord{JobID: 43, JobInfo: audit.JobInfo{Owner: userName, DocumentName: "hmac-sha256:beef", HideName: true}}},
	}}
	e := newEnv(t, openDB(t, database.SQLite), func(o *Options) { o.History, o.Record = rec, rec })
	auditor := e.signIn(t, auditorName)

	body := e.page(t, auditor, "/admin/jobs/42")
	for _, want := range []string{"Job 42", "&lt;b&gt;payroll&lt;/b&gt;.pdf", "sent as someone", "192.0.2.7", "123.5 kB",
		"6 impressions on 6 sheets", "ID and PIN", "printer-job-id=9", `id="chain-ok"`,
		"verifies from event 11 to event 16", "2026-04-01 09:30 JST", "001122334455…", "ab12cd", "ipps://admin:xxxxx@mfp-2f/ipp/print"} {
		if !strings.Contains(body, want) {
			t.Errorf("job page lacks %q", want)
		}
	}
	if strings.Contains(body, "hunter2") {
		t.Error("job page shows a printer's password")
	}
	if got := rec.verified; !slices.Equal(got, [][2]int64{{11, 16}}) {
		t.Errorf("verified %v; want the job's own stretch 11-16", got)
	}

	t.Run("whole chain", func(t *testing.T) {
		body := e.page(t, auditor, "/admin/jobs/42?chain=all")
		if !strings.Contains(body, "The whole audit chain verifies") || rec.verified[1] != [2]int64{0, 0} {
			t.Errorf("whole chain: verified %v", rec.verified)
		}
		if last := e.audit.last(); last.Name != ActionChainVerified || last.Actor != auditorName || last.Details["outcome"] != "ok" {
			t.Errorf("the check is not recorded: last action %+v", last)
		}
		n, checks := len(e.audit.since(0)), len(rec.verified)
		w := e.do(t, request{method: http.MethodGet, path: "/admin/jobs/42?chain=all", cookie: auditor,
			header: map[string]string{"Sec-Fetch-Site": "cross-site"}})
		if w.Code != http.StatusForbidden || len(e.audit.since(0)) != n || len(rec.verified) != checks {
			t.Errorf("a link on another site: %d, %d checks; want 403 and none", w.Code, len(rec.verified)-checks)
		}
		e.srv.verifying <- struct{}{}
		w = e.do(t, request{method: http.MethodGet, path: "/admin/jobs/42?chain=all", cookie: auditor})
		<-e.srv.verifying
		if w.Code != http.StatusTooManyRequests || len(rec.verified) != checks {
			t.Errorf("a second check while one runs: %d; want 429 and no check", w.Code)
		}
	})
	t.Run("broken chain", func(t *testing.T) {
		rec.chain = audit.Report{FirstBad: 15, Reason: "event 15 was changed: its hash does not match its content"}
		defer func() { rec.chain = audit.Report{} }()
		body := e.page(t, auditor, "/admin/jobs/42")
		if !strings.Contains(body, `id="chain-bad"`) || !strings.Contains(body, "event 15 was changed") ||
			strings.Contains(body, `id="chain-ok"`) {
			t.Errorf("broken chain not shown: %.3000s", body)
		}
	})
	t.Run("changed records in the whole chain", func(t *testing.T) {
		rec.chain = audit.Report{JobsBad: 2, Reason: `job 7: owner is "mallory", the events say "alice"`}
		defer func() { rec.chain = audit.Report{} }()
		body := e.page(t, auditor, "/admin/jobs/42?chain=all")
		if !strings.Contains(body, `id="chain-bad"`) || !strings.Contains(body, "2 job records do not match") ||
			strings.Contains(body, `id="chain-ok"`) {
			t.Errorf("changed records not shown: %.3000s", body)
		}
	})
	t.Run("changed record", func(t *testing.T) {
		d := rec.details[42]
		d.RecordProblem = `owner is "mallory", the events say "alice"`
		rec.details[42] = d
		defer func() { d.RecordProblem = ""; rec.details[42] = d }()
		body := e.page(t, auditor, "/admin/jobs/42")
		if !strings.Contains(body, `id="record-bad"`) || !strings.Contains(body, "owner is &#34;mallory&#34;") {
			t.Errorf("changed record not shown: %.3000s", body)
		}
	})
	t.Run("hidden name", func(t *testing.T) {
		body := e.page(t, auditor, "/admin/jobs/43")
		if !strings.Contains(body, "name hidden") || !strings.Contains(body, "no events for this job") {
			t.Errorf("job with a hidden name and no events: %.3000s", body)
		}
	})
	for _, p := range []string{"/admin/jobs/44", "/admin/jobs/0", "/admin/jobs/x", "/admin/jobs/99999999999999999999"} {
		if w := e.do(t, request{method: http.MethodGet, path: p, cookie: auditor}); w.Code != http.StatusNotFound {
			t.Errorf("%s: %d; want 404", p, w.Code)
		}
	}
}

func TestCharts(t *testing.T) {
	rec := &record{totals: map[audit.GroupBy][]audit.Total{
		"":          {{Jobs: 12, Impressions: 300, ColorImpressions: 75, MonoImpressions: 225, PagesUnknown: 1}},
		audit.ByDay: {{Key: "2026-03-20", Impressions: 100}, {Key: "2026-04-01", Impressions: 200}},
		audit.ByUser: {{Key: "<script>alert(1)</script>", Impressions: 5}, {Key: userName, Impressions: 200},
			{Key: "bob", Impressions: 95}},
		audit.ByDevice: {{Key: "", Impressions: 20}, {Key: "mfp-2f", Impressions: 280}},
	}}
	e := newEnv(t, openDB(t, database.SQLite), func(o *Options) { o.History, o.Record = rec, rec })
	auditor := e.signIn(t, auditorName)

	body := e.page(t, auditor, "/admin/charts")
	// The clock says 2026-04-01 18:00 JST: the last 30 days.
	if !strings.Contains(body, `value="2026-03-03"`) || !strings.Contains(body, `value="2026-04-01"`) {
		t.Errorf("default period is not the last 30 days")
	}
	if n := strings.Count(body, `<rect class="bar" x=`); n != 30+3+2 {
		t.Errorf("%d bars; want 30 days, 3 users, 2 devices", n)
	}
	for _, want := range []string{"Wed 1 Apr 2026: 200 pages", "Fri 20 Mar 2026: 100 pages", "(not released)",
		"&lt;script&gt;alert(1)&lt;/script&gt;", "25%", "75%", `<svg class="chart"`} {
		if !strings.Contains(body, want) {
			t.Errorf("charts page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "style=") {
		t.Error("the charts page has unescaped text or inline style")
	}
	// The user with the most pages comes first.
	if i, j := strings.Index(body, ">alice<"), strings.Index(body, ">bob<"); i < 0 || j < 0 || i > j {
		t.Errorf("top users out of order: alice at %d, bob at %d", i, j)
	}

	for _, tc := range []struct {
		query  string
		status int
		days   int
	}{
		{"from=2026-03-25&to=2026-03-31", http.StatusOK, 7},
		{"from=2025-04-01&to=2026-03-31", http.StatusOK, 365},
		{"from=2025-01-01&to=2026-03-31", http.StatusBadRequest, 0},
		{"from=2026-04-02&to=2026-04-01", http.StatusBadRequest, 0},
		{"from=April&to=2026-04-01", http.StatusBadRequest, 0},
	} {
		t.Run(tc.query, func(t *testing.T) {
			w := e.do(t, request{method: http.MethodGet, path: "/admin/charts?" + tc.query, cookie: auditor})
			if w.Code != tc.status {
				t.Fatalf("status %d; want %d", w.Code, tc.status)
			}
			if rows := strings.Count(w.Body.String(), "<tr><td>"); rows != tc.days {
				t.Fatalf("%d days drawn; want %d", rows, tc.days)
			}
		})
	}
}

func TestHeldQueue(t *testing.T) {
	submitted := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	jobs := &heldJobs{jobs: map[string][]HeldJob{
		userName: {{ID: 5, Name: "a.pdf", Queue: "secure", SubmittedAt: submitted}},
		"bob":    {{ID: 3, Name: "b.pdf", Queue: "secure", NeedsPIN: true, SubmittedAt: submitted}},
	}}
	e := newEnv(t, openDB(t, database.SQLite), func(o *Options) { o.Jobs = jobs })
	admin, auditor := e.signIn(t, adminName), e.signIn(t, auditorName)

	body := e.page(t, auditor, "/admin/held")
	if i, j := strings.Index(body, `data-job="3"`), strings.Index(body, `data-job="5"`); i < 0 || j < 0 || i > j {
		t.Fatal("held jobs not listed oldest first")
	}
	if strings.Contains(body, `action="/admin/held/cancel"`) {
		t.Error("the auditor's held-queue view has delete forms")
	}
	if w := e.do(t, request{method: http.MethodPost, path: "/admin/held/cancel", cookie: auditor,
		form: url.Values{"job": {"3"}}}); w.Code != http.StatusForbidden {
		t.Fatalf("auditor delete: %d; want 403", w.Code)
	}
	if !strings.Contains(e.page(t, admin, "/admin/held"), `action="/admin/held/cancel"`) {
		t.Error("the admin's view has no delete forms")
	}
	status, loc, _ := e.post(t, admin, "/admin/held/cancel", url.Values{"job": {"3"}})
	if status != http.StatusSeeOther || loc != "/admin/held?ok=held_canceled" || jobs.canceledBy[3] != adminName {
		t.Fatalf("admin delete: %d to %q, canceled by %v", status, loc, jobs.canceledBy)
	}
	if status, _, body := e.post(t, admin, "/admin/held/cancel", url.Values{"job": {"3"}}); status != http.StatusNotFound ||
		!strings.Contains(body, "no longer waiting") {
		t.Fatalf("delete again: %d", status)
	}
	if body := e.page(t, admin, "/admin/held?ok=held_canceled"); strings.Contains(body, `data-job="3"`) ||
		!strings.Contains(body, "document destroyed") {
		t.Error("the deleted job is still listed, or no message")
	}
}

// tokenShown returns the device token a page shows, or "".
func tokenShown(body string) string {
	m := regexp.MustCompile(`<code class="token" id="device-token">([^<]+)</code>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestDevicesMaskPassword holds the devices page to masking a password in
// a printer's address, which the devices port hands over as stored.
func TestDevicesMaskPassword(t *testing.T) {
	devs := newDevices("secure")
	e := newEnv(t, openDB(t, database.SQLite), func(o *Options) { o.Devices = devs })
	admin := e.signIn(t, adminName)
	if _, err := devs.AddDevice(t.Context(), release.DeviceSpec{Name: "mfp-9f", Printer: "ipp://admin:hunter2@mfp-9f/ipp/print"},
		adminName); err != nil {
		t.Fatal(err)
	}
	if body := e.page(t, admin, "/admin/devices"); strings.Contains(body, "hunter2") || !strings.Contains(body, "ipp://admin:xxxxx@mfp-9f") {
		t.Errorf("devices page does not mask a printer's password: %.3000s", body)
	}
}

func TestDevices(t *testing.T) {
	devs := newDevices("secure", "color")
	var logs bytes.Buffer
	e := newEnv(t, openDB(t, database.SQLite), func(o *Options) {
		o.Devices = devs
		o.Log = slog.New(slog.NewTextHandler(&logs, nil))
	})
	admin := e.signIn(t, adminName)
	good := url.Values{"name": {"mfp-2f"}, "printer": {"ipps://mfp-2f.example.jp/ipp/print"}, "queue": {"secure", "color"},
		"method": {"card", "id+pin"}}

	_, _, body := e.post(t, admin, "/admin/devices/add", good)
	token := tokenShown(body)
	if token == "" || token != devs.issued[0] || !strings.Contains(body, "shown only this once") {
		t.Fatalf("the new device's token is not shown: %.2000s", body)
	}
	rotated := ""
	t.Run("shown once", func(t *testing.T) {
		for _, p := range []string{"/admin/devices", "/admin/devices?ok=device_enabled", "/admin"} {
			if strings.Contains(e.page(t, admin, p), token) {
				t.Errorf("%s shows the token again", p)
			}
		}
		_, _, body := e.post(t, admin, "/admin/devices/rotate", url.Values{"name": {"mfp-2f"}})
		rotated = tokenShown(body)
		if rotated == "" || rotated == token || rotated != devs.issued[1] || !strings.Contains(body, "no longer works") {
			t.Fatalf("rotation shows %q (first %q)", rotated, token)
		}
		if strings.Contains(e.page(t, admin, "/admin/devices"), rotated) {
			t.Error("the devices page shows the new token")
		}
	})

	steps := []struct {
		name   string
		path   string
		form   url.Values
		status int
		say    string
	}{
		{"same name again", "/admin/devices/add", good, http.StatusConflict, "already registered"},
		{"bad name", "/admin/devices/add", with(good, "name", "mfp 2f"), http.StatusBadRequest, "1 to 63 letters"},
		{"bad printer", "/admin/devices/add", with(good, "printer", "http://mfp/"), http.StatusBadRequest, "printer address must be"},
		{"unknown queue", "/admin/devices/add", with(with(good, "name", "x"), "queue", "payroll"), http.StatusBadRequest, "at least one queue"},
		{"no method", "/admin/devices/add", with(with(good, "name", "x"), "method", ""), http.StatusBadRequest, "sign-in method"},
		{"rotate nothing", "/admin/devices/rotate", url.Values{"name": {"ghost"}}, http.StatusNotFound, "no such device"},
		{"disable", "/admin/devices/enable", url.Values{"name": {"mfp-2f"}, "enabled": {"false"}}, http.StatusSeeOther, ""},
		{"enable", "/admin/devices/enable", url.Values{"name": {"mfp-2f"}, "enabled": {"true"}}, http.StatusSeeOther, ""},
		{"enable nothing", "/admin/devices/enable", url.Values{"name": {"ghost"}, "enabled": {"true"}}, http.StatusNotFound, "no such device"},
		{"enable garbage", "/admin/devices/enable", url.Values{"name": {"mfp-2f"}, "enabled": {"yes"}}, http.StatusNotFound, ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			status, _, body := e.post(t, admin, st.path, st.form)
			if status != st.status || !strings.Contains(body, st.say) {
				t.Fatalf("status %d; want %d with %q: %.400s", status, st.status, st.say, body)
			}
			if tokenShown(body) != "" {
				t.Fatal("a refused request shows a token")
			}
		})
	}
	// A refused form keeps what was typed.
	if _, _, body := e.post(t, admin, "/admin/devices/add", with(good, "name", "bad name!")); !strings.Contains(body, `value="ipps://mfp-2f.example.jp/ipp/print"`) {
		t.Error("the refused form lost the printer address")
	}
	want := []string{"add mfp-2f by adam", "rotate mfp-2f by adam", "enabled=false mfp-2f by adam", "enabled=true mfp-2f by adam"}
	if !slices.Equal(devs.changes, want) {
		t.Errorf("changes %v; want %v", devs.changes, want)
	}
	for _, tok := range []string{token, rotated} {
		if strings.Contains(logs.String(), tok) {
			t.Errorf("the log holds a device token")
		}
	}
	for _, a := range e.audit.actions {
		if strings.Contains(a.Detail+fmtMap(a.Details), "pgd_") {
			t.Errorf("a console record holds a device token: %+v", a)
		}
	}
}

// with returns a copy of v with key set to val ("" removes it).
func with(v url.Values, key, val string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	if val == "" {
		out.Del(key)
	} else {
		out.Set(key, val)
	}
	return out
}

func fmtMap(m map[string]string) string {
	var b strings.Builder
	for k, v := range m {
		b.WriteString(k + "=" + v + " ")
	}
	return b.String()
}

// TestAuditorCannotChange sends every admin form, well filled in, as an
// auditor: each is refused with 403 and changes nothing.
func TestAuditorCannotChange(t *testing.T) {
	jobs := &heldJobs{jobs: map[string][]HeldJob{userName: {{ID: 3, Name: "a.pdf"}}}}
	devs := newDevices("secure")
	e := newEnv(t, openDB(t, database.SQLite), func(o *Options) { o.Jobs, o.Devices = jobs, devs })
	if _, err := devs.AddDevice(t.Context(), release.DeviceSpec{Name: "mfp-2f"}, adminName); err != nil {
		t.Fatal(err)
	}
	if err := e.creds.SetPIN(t.Context(), userName, "4821", nil); err != nil {
		t.Fatal(err)
	}
	auditor := e.signIn(t, auditorName)
	forms := map[string]url.Values{
		"/admin/held/cancel":            {"job": {"3"}},
		"/admin/held/assign":            {"job": {"3"}, "user": {userName}},
		"/admin/devices/add":            {"name": {"mfp-3f"}, "printer": {"ipp://mfp-3f/ipp/print"}, "queue": {"secure"}, "method": {"card"}},
		"/admin/devices/rotate":         {"name": {"mfp-2f"}},
		"/admin/devices/enable":         {"name": {"mfp-2f"}, "enabled": {"false"}},
		"/admin/devices/clear-throttle": {"name": {"mfp-2f"}},
		"/admin/users/pin/reset":        {"name": {userName}},
		"/admin/users/unlock":           {"name": {userName}},
		"/admin/users/password":         {"name": {userName}, "password": {"a-new-password-1"}, "password2": {"a-new-password-1"}},
		"/admin/users/cards/add":        {"name": {userName}, "uid": {"04A1B2C3"}},
		"/admin/users/cards/remove":     {"name": {userName}, "card": {"x"}},
	}
	for _, r := range e.srv.routes() {
		if r.access != accessAdmin {
			continue
		}
		form, ok := forms[r.path]
		if !ok {
			t.Errorf("%s %s: no form in this test; add one", r.method, r.path)
			continue
		}
		w := e.do(t, request{method: r.method, path: r.path, cookie: auditor, form: form,
			header: map[string]string{"Sec-Fetch-Site": "same-origin"}})
		if w.Code != http.StatusForbidden || tokenShown(w.Body.String()) != "" {
			t.Errorf("%s %s as auditor: %d; want 403", r.method, r.path, w.Code)
		}
	}
	if len(devs.changes) != 1 || len(devs.issued) != 1 || len(jobs.jobs[userName]) != 1 || len(e.audit.actions) != 0 {
		t.Errorf("an auditor changed something: devices %v, jobs %v, records %v", devs.changes, jobs.jobs, e.audit.names())
	}
	if st, _ := e.creds.PINStatus(t.Context(), userName); !st.Set {
		t.Error("an auditor reset a PIN")
	}
}

// TestDeviceThrottleShown: a throttled device shows as such, with a button
// that clears it; the others show neither.
func TestDeviceThrottleShown(t *testing.T) {
	devs := newDevices("secure")
	e := newEnv(t, openDB(t, database.SQLite), func(o *Options) { o.Devices = devs })
	devs.byName["mfp-1f"] = Device{Device: release.Device{Name: "mfp-1f", Enabled: true, Queues: "secure", Methods: "card"},
		ThrottledUntil: e.clock.Now().Add(4 * time.Minute), Refused: 37, Episodes: 3, LastThrottled: e.clock.Now()}
	devs.byName["mfp-2f"] = Device{Device: release.Device{Name: "mfp-2f", Enabled: true, Queues: "secure", Methods: "card"}}
	admin := e.signIn(t, adminName)
	page := e.page(t, admin, "/admin/devices")
	if strings.Count(page, `action="/admin/devices/clear-throttle"`) != 1 || strings.Count(page, "throttled") != 1 ||
		!strings.Contains(page, "37") || strings.Count(page, `class="muted episodes"`) != 1 {
		t.Fatalf("devices page does not show the one throttled device: %.3000s", page)
	}
	if status, _, body := e.post(t, admin, "/admin/devices/clear-throttle", url.Values{"name": {"ghost"}}); status != http.StatusNotFound {
		t.Fatalf("clear an unknown device: %d %.300s", status, body)
	}
	if status, _, _ := e.post(t, admin, "/admin/devices/clear-throttle", url.Values{"name": {"mfp-1f"}}); status != http.StatusSeeOther {
		t.Fatalf("clear: %d", status)
	}
	if !slices.Equal(devs.changes, []string{"clear-throttle mfp-1f by adam"}) {
		t.Errorf("changes %v", devs.changes)
	}
	if strings.Contains(e.page(t, admin, "/admin/devices"), "clear-throttle") {
		t.Error("the device still shows as throttled")
	}
}

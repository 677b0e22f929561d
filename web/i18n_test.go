package web

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/directory"
)

// sameInBothLanguages are keys whose text is rightly the same in Japanese
// and English: names and abbreviations.
var sameInBothLanguages = []string{"app.name", "lang.ja", "lang.en", "users.pin", "kiosk.pin.pin", "kiosk.jobpin.ok",
	"ipp.media_size"}

// sameInBothPrefixes start keys of names that are the same in both
// languages: paper sizes (A4) and document formats (PDF).
var sameInBothPrefixes = []string{"ipp.media.", "ipp.format."}

func sameInBoth(key string) bool {
	return slices.Contains(sameInBothLanguages, key) ||
		slices.ContainsFunc(sameInBothPrefixes, func(p string) bool { return strings.HasPrefix(key, p) })
}

func TestCatalogs(t *testing.T) {
	locs, err := loadLocales(time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	ja, en := locs[langJa], locs[langEn]
	verbs := regexp.MustCompile(`%\[\d+\][a-z]`)
	for key, text := range en.msgs {
		jaText, ok := ja.msgs[key]
		switch {
		case !ok:
			t.Errorf("%s: in en.json, missing from ja.json", key)
		case jaText == text && !sameInBoth(key):
			t.Errorf("%s: ja.json has the English text %q", key, text)
		case !slices.Equal(sortedMatches(verbs, text), sortedMatches(verbs, jaText)):
			t.Errorf("%s: arguments differ: en %q, ja %q", key, text, jaText)
		}
		if strings.Contains(text, "%") && !verbs.MatchString(text) {
			t.Errorf("%s: use indexed verbs (%%[1]d) so that translations may reorder them: %q", key, text)
		}
	}
	for key := range ja.msgs {
		if !en.has(key) {
			t.Errorf("%s: in ja.json, missing from en.json", key)
		}
	}
}

func sortedMatches(re *regexp.Regexp, s string) []string {
	m := re.FindAllString(s, -1)
	slices.Sort(m)
	return m
}

// TestKeysExist finds every message key the templates, the Go code and
// the kiosk script use, and checks that the catalogs hold it.
func TestKeysExist(t *testing.T) {
	locs, err := loadLocales(time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]string{} // key → where
	scan := func(pattern, prefix string, files ...string) {
		re := regexp.MustCompile(pattern)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range re.FindAllStringSubmatch(string(data), -1) {
				used[prefix+m[1]] = f
			}
		}
	}
	templates, _ := filepath.Glob("templates/*.html")
	goFiles, _ := filepath.Glob("*.go")
	goFiles = slices.DeleteFunc(goFiles, func(f string) bool { return strings.HasSuffix(f, "_test.go") })
	scan(`\{\{-?\s*t "([^"]+)"`, "", templates...)
	scan(`\(t "([^"]+)"`, "", templates...)
	scan(`\.T\("([^"]+)"`, "", goFiles...)
	scan(`renderError\(c, [^,]+, "([^"]+)"`, "", goFiles...)
	scan(`Title: "([^"]+)"`, "", goFiles...)
	scan(`\?ok=([a-z_]+)`, "flash.", goFiles...)
	scan(`adminDone\(c, "[^"]*", \w+, "([a-z_]+)"\)`, "flash.", goFiles...)
	scan(`(?:text|say)\("([a-z_]+)"`, "kiosk.js.", "static/kiosk.js")
	// Keys the Go code hands around before translating them.
	scan(`"((?:history|devices|charts|jobdetail|held)\.[a-z_]+)"`, "", goFiles...)
	for _, r := range []directory.Role{directory.RoleAdmin, directory.RoleAuditor, directory.RoleUser} {
		used["role."+string(r)] = "roles"
	}
	if len(used) < 100 {
		t.Fatalf("found only %d keys in use; is the scan broken?", len(used))
	}
	for key, where := range used {
		for lang, loc := range locs {
			if !loc.has(key) {
				t.Errorf("%s uses %q, missing from %s.json", where, key, lang)
			}
		}
	}
}

// TestJapanesePages renders every page in Japanese, with data in every
// section, and fails on any key without a translation or any English
// catalog text in the page.
func TestJapanesePages(t *testing.T) {
	submitted := time.Date(2026, 4, 1, 8, 30, 0, 0, time.UTC)
	e := newEnv(t, openDB(t, database.SQLite), func(o *Options) {
		o.Jobs = &heldJobs{jobs: map[string][]HeldJob{adminName: {
			{ID: 42, Name: "給与明細.pdf", Queue: "secure", Pages: 3, Copies: 1, NeedsPIN: true, Color: audit.ColorColor,
				SubmittedAt: submitted, ExpiresAt: submitted.Add(time.Hour)},
			{ID: 43, Name: "memo.pdf", Queue: "secure", SubmittedAt: submitted},
		}}}
		rec := &record{
			rows: []audit.JobRecord{
				{JobID: 7, JobInfo: audit.JobInfo{Owner: adminName, DocumentName: "議事録.pdf", Pages: 4, Copies: 1, Submitted: submitted}, Outcome: "printed"},
				{JobID: 8, JobInfo: audit.JobInfo{Owner: adminName, DocumentName: "x.pdf", Submitted: submitted}, Outcome: "print-failed", Reason: "printer offline"},
				{JobID: 9, JobInfo: audit.JobInfo{Owner: adminName, DocumentName: "hmac-sha256:00ff", HideName: true, Submitted: submitted}, Outcome: "held"},
			},
			summary: Summary{Jobs: 3, Pages: 9, HeldNow: 2},
			details: map[int64]JobDetail{7: {JobRecord: audit.JobRecord{JobID: 7, JobInfo: audit.JobInfo{Owner: adminName, DocumentName: "議事録.pdf", Pages: 4, Copies: 1, Submitted: submitted, ClaimedUser: "adam2", Format: "application/pdf", Size: 2048, PagesKnown: true, HasJobPIN: true}, Outcome: "printed", Device: "mfp-2f", Impressions: 4, Sheets: 2, Method: "card+pin", ReleasedAt: submitted.Add(time.Minute)}, Events: []audit.Event{
				{Seq: 1, At: submitted, Type: "submitted", Actor: adminName},
				{Seq: 2, At: submitted, Type: "release-attempt", Actor: adminName, Method: "card", Outcome: "success"},
				{Seq: 3, At: submitted, Type: "released", Actor: adminName, Device: "mfp-2f", Method: "card+pin"},
				{Seq: 4, At: submitted, Type: "printed", Actor: "system"},
				{Seq: 5, At: submitted, Type: "document-destroyed", Actor: "system"},
			}}},
			totals: map[audit.GroupBy][]audit.Total{
				"":             {{Jobs: 3, Impressions: 9, ColorImpressions: 4, MonoImpressions: 5}},
				audit.ByDay:    {{Key: "2026-04-01", Impressions: 9}},
				audit.ByUser:   {{Key: adminName, Impressions: 9}},
				audit.ByDevice: {{Key: "", Impressions: 1}, {Key: "mfp-2f", Impressions: 8}},
			},
		}
		o.History, o.Record = rec, rec
		o.Devices = newDevices("secure")
		o.Devices.AddDevice(t.Context(), release.DeviceSpec{Name: "mfp-2f", Printer: "ipp://mfp-2f/ipp/print",
			Queues: []string{"secure"}, Methods: []string{"card", "id+pin", "card+pin"}, SelfEnroll: true}, adminName)
		o.Devices.AddDevice(t.Context(), release.DeviceSpec{Name: "mfp-3f", Printer: "ipp://mfp-3f/ipp/print",
			Queues: []string{"secure"}, Methods: []string{"card"}}, adminName)
		o.Devices.SetDeviceEnabled(t.Context(), "mfp-3f", false, adminName)
	})
	ctx := t.Context()
	if err := e.creds.SetPIN(ctx, adminName, "4821", nil); err != nil {
		t.Fatal(err)
	}
	if err := e.creds.AddCard(ctx, adminName, "04A1B2C3", nil); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		_ = e.creds.CheckPIN(ctx, adminName, "0000", "mfp")
	}
	admin := e.signIn(t, adminName)
	ja := map[string]string{"Accept-Language": "ja,en;q=0.5"}
	pages := []struct {
		name   string
		req    request
		status int
	}{
		{"signin", request{method: http.MethodGet, path: "/signin", header: ja}, http.StatusOK},
		{"signin error", request{method: http.MethodPost, path: "/signin", header: ja,
			form: url.Values{"name": {"x"}, "password": {"wrong password"}}}, http.StatusUnauthorized},
		{"my", request{method: http.MethodGet, path: "/my?ok=pin_set", cookie: admin, header: ja}, http.StatusOK},
		{"my error", request{method: http.MethodPost, path: "/my/pin", cookie: admin, header: ja,
			form: url.Values{"pin": {"1234"}, "pin2": {"1234"}}}, http.StatusBadRequest},
		{"dashboard", request{method: http.MethodGet, path: "/admin", cookie: admin, header: ja}, http.StatusOK},
		{"users", request{method: http.MethodGet, path: "/admin/users?user=adam&ok=card_added", cookie: admin, header: ja}, http.StatusOK},
		{"users not found", request{method: http.MethodGet, path: "/admin/users?user=ghost", cookie: admin, header: ja}, http.StatusOK},
		{"history", request{method: http.MethodGet, path: "/admin/history?user=adam", cookie: admin, header: ja}, http.StatusOK},
		{"history refused", request{method: http.MethodGet, path: "/admin/history?from=x", cookie: admin, header: ja}, http.StatusBadRequest},
		{"history empty", request{method: http.MethodGet, path: "/admin/history?user=nobody&cursor=", cookie: admin, header: ja}, http.StatusOK},
		{"job", request{method: http.MethodGet, path: "/admin/jobs/7", cookie: admin, header: ja}, http.StatusOK},
		{"job whole chain", request{method: http.MethodGet, path: "/admin/jobs/7?chain=all", cookie: admin, header: ja}, http.StatusOK},
		{"job not found", request{method: http.MethodGet, path: "/admin/jobs/8", cookie: admin, header: ja}, http.StatusNotFound},
		{"charts", request{method: http.MethodGet, path: "/admin/charts", cookie: admin, header: ja}, http.StatusOK},
		{"charts refused", request{method: http.MethodGet, path: "/admin/charts?from=2020-01-01", cookie: admin, header: ja}, http.StatusBadRequest},
		{"held", request{method: http.MethodGet, path: "/admin/held?ok=held_canceled", cookie: admin, header: ja}, http.StatusOK},
		{"held refused", request{method: http.MethodPost, path: "/admin/held/cancel", cookie: admin, header: ja,
			form: url.Values{"job": {"999"}}}, http.StatusNotFound},
		{"devices", request{method: http.MethodGet, path: "/admin/devices?ok=device_disabled", cookie: admin, header: ja}, http.StatusOK},
		{"devices refused", request{method: http.MethodPost, path: "/admin/devices/add", cookie: admin, header: ja,
			form: url.Values{"name": {"bad name"}}}, http.StatusBadRequest},
		{"device token", request{method: http.MethodPost, path: "/admin/devices/add", cookie: admin, header: ja,
			form: url.Values{"name": {"mfp-4f"}, "printer": {"ipp://mfp-4f/ipp/print"}, "queue": {"secure"}, "method": {"card"}}}, http.StatusOK},
		{"device token rotated", request{method: http.MethodPost, path: "/admin/devices/rotate", cookie: admin, header: ja,
			form: url.Values{"name": {"mfp-2f"}}}, http.StatusOK},
		{"kiosk", request{method: http.MethodGet, path: "/kiosk", header: ja}, http.StatusOK},
		{"not found", request{method: http.MethodGet, path: "/nowhere", header: ja}, http.StatusNotFound},
		{"forbidden", request{method: http.MethodGet, path: "/admin", cookie: e.signIn(t, userName), header: ja}, http.StatusForbidden},
	}
	locs, _ := loadLocales(time.UTC)
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			w := e.do(t, p.req)
			body := w.Body.String()
			if w.Code != p.status {
				t.Fatalf("status %d; want %d", w.Code, p.status)
			}
			if i := strings.Index(body, missingMarker); i >= 0 {
				t.Errorf("untranslated key: %.80s", body[i:])
			}
			if !strings.Contains(body, `<html lang="ja">`) {
				t.Error(`the page is not marked lang="ja"`)
			}
			for key, en := range locs[langEn].msgs {
				if len(en) > 12 && en != locs[langJa].msgs[key] && strings.Contains(body, en) {
					t.Errorf("English text of %s in the Japanese page: %q", key, en)
				}
			}
		})
	}
	// The dates are in Tokyo time, written the Japanese way.
	if body := e.do(t, pages[2].req).Body.String(); !strings.Contains(body, "2026年4月1日 17:30 JST") {
		t.Error("My page does not show the date in Japanese, in Tokyo time")
	}
}

func TestLanguageChoice(t *testing.T) {
	e := newEnv(t, openDB(t, database.SQLite), nil)
	cases := []struct {
		name   string
		path   string
		header map[string]string
		want   string
	}{
		{"no preference", "/signin", nil, langJa},
		{"English browser", "/signin", map[string]string{"Accept-Language": "en-US,en;q=0.9"}, langEn},
		{"Japanese browser", "/signin", map[string]string{"Accept-Language": "ja-JP"}, langJa},
		{"unsupported language", "/signin", map[string]string{"Accept-Language": "fr-FR"}, langJa},
		{"French then English", "/signin", map[string]string{"Accept-Language": "fr, en;q=0.8"}, langEn},
		{"switch wins", "/signin?lang=en", map[string]string{"Accept-Language": "ja"}, langEn},
		{"cookie wins", "/signin", map[string]string{"Accept-Language": "ja", "Cookie": langCookie + "=en"}, langEn},
		{"bad switch ignored", "/signin?lang=xx", map[string]string{"Accept-Language": "en"}, langEn},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(t, request{method: http.MethodGet, path: tc.path, header: tc.header})
			if !strings.Contains(w.Body.String(), `<html lang="`+tc.want+`">`) {
				t.Fatalf("page not in %s: %.120s", tc.want, w.Body)
			}
		})
	}
	w := e.do(t, request{method: http.MethodGet, path: "/signin?lang=en"})
	if !slices.ContainsFunc(w.Result().Cookies(), func(c *http.Cookie) bool { return c.Name == langCookie && c.Value == langEn }) {
		t.Error("the switch did not set the language cookie")
	}
}

package web

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
)

// historyEnv is a console whose record holds rows: three users over
// several days, in Tokyo time.
func historyEnv(t *testing.T, rows []audit.JobRecord) (*env, *record) {
	t.Helper()
	rec := &record{rows: rows}
	e := newEnv(t, openDB(t, database.SQLite), func(o *Options) { o.History, o.Record = rec, rec })
	return e, rec
}

// sampleRows are n jobs, one an hour from 2026-03-30 20:00 JST, owned in
// turn by alice, bob and carol, on queues "secure" and "color", released
// at mfp-1 or mfp-2, the third of them failed.
func sampleRows(n int) []audit.JobRecord {
	start := time.Date(2026, 3, 30, 11, 0, 0, 0, time.UTC) // 20:00 JST
	users := []string{userName, "bob", "carol"}
	var rows []audit.JobRecord
	for i := range n {
		r := audit.JobRecord{JobID: int64(100 + i), JobInfo: audit.JobInfo{Owner: users[i%3], DocumentName: fmt.Sprintf("Report-%03d.pdf", i), Queue: []string{"secure", "color"}[i%2], Pages: 2, Copies: 1, Submitted: start.Add(time.Duration(i) * time.Hour)}, Device: fmt.Sprintf("mfp-%d", 1+i%2), Outcome: "printed"}
		if i%3 == 2 {
			r.Outcome, r.Reason = "print-failed", "printer-unreachable"
		}
		rows = append(rows, r)
	}
	return rows
}

var jobCell = regexp.MustCompile(`<tr data-job="(\d+)">`)

// shownJobs returns the job IDs of the history table in a page.
func shownJobs(body string) []int64 {
	var ids []int64
	for _, m := range jobCell.FindAllStringSubmatch(body, -1) {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		ids = append(ids, id)
	}
	return ids
}

func TestHistoryFilters(t *testing.T) {
	e, rec := historyEnv(t, sampleRows(60))
	auditor := e.signIn(t, auditorName)
	jst := e.srv.tz
	cases := []struct {
		name   string
		query  url.Values
		status int
		want   audit.HistoryQuery
		// jobs are the IDs shown, newest first (only checked when set).
		jobs []int64
	}{
		{"no filter", url.Values{}, http.StatusOK, audit.HistoryQuery{}, nil},
		{"one user on one day", url.Values{"user": {"bob"}, "from": {"2026-03-31"}, "to": {"2026-03-31"}}, http.StatusOK,
			audit.HistoryQuery{User: "bob", From: time.Date(2026, 3, 31, 0, 0, 0, 0, jst), To: time.Date(2026, 4, 1, 0, 0, 0, 0, jst)},
			// 2026-03-31 JST is hours 4..27 after the start; bob has i%3 == 1.
			[]int64{125, 122, 119, 116, 113, 110, 107, 104}},
		{"from only", url.Values{"from": {"2026-04-02"}}, http.StatusOK,
			audit.HistoryQuery{From: time.Date(2026, 4, 2, 0, 0, 0, 0, jst)}, []int64{159, 158, 157, 156, 155, 154, 153, 152}},
		{"queue, device and outcome", url.Values{"queue": {"secure"}, "device": {"mfp-1"}, "outcome": {"print-failed"}}, http.StatusOK,
			audit.HistoryQuery{Queue: "secure", Device: "mfp-1", Outcome: "print-failed"}, []int64{156, 150, 144, 138, 132, 126, 120, 114, 108, 102}},
		{"document name, any case", url.Values{"name": {"report-05"}}, http.StatusOK, audit.HistoryQuery{Name: "report-05"},
			[]int64{159, 158, 157, 156, 155, 154, 153, 152, 151, 150}},
		{"spaces trimmed", url.Values{"user": {"  carol "}}, http.StatusOK, audit.HistoryQuery{User: "carol"}, nil},
		{"bad date", url.Values{"from": {"31/03/2026"}}, http.StatusBadRequest, audit.HistoryQuery{}, nil},
		{"end before start", url.Values{"from": {"2026-04-02"}, "to": {"2026-04-01"}}, http.StatusBadRequest, audit.HistoryQuery{}, nil},
		{"unknown outcome", url.Values{"outcome": {"stolen"}}, http.StatusBadRequest, audit.HistoryQuery{}, nil},
		{"too long", url.Values{"name": {strings.Repeat("x", maxFilterLength+1)}}, http.StatusBadRequest, audit.HistoryQuery{}, nil},
		{"forged cursor", url.Values{"cursor": {"after-nothing"}}, http.StatusBadRequest, audit.HistoryQuery{}, nil},
		{"printed without printgate", url.Values{"source": {"printer-log"}}, http.StatusOK,
			audit.HistoryQuery{Source: audit.SourcePrinterLog}, nil},
		{"through printgate", url.Values{"source": {"printgate"}}, http.StatusOK, audit.HistoryQuery{Source: audit.SourcePrintgate}, nil},
		{"unknown source", url.Values{"source": {"printer log"}}, http.StatusBadRequest, audit.HistoryQuery{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec.queries = nil
			w := e.do(t, request{method: http.MethodGet, path: "/admin/history?" + tc.query.Encode(), cookie: auditor,
				header: map[string]string{"Accept-Language": "en"}})
			if w.Code != tc.status {
				t.Fatalf("status %d; want %d: %.500s", w.Code, tc.status, w.Body)
			}
			body := w.Body.String()
			if tc.status != http.StatusOK {
				if !strings.Contains(body, `class="flash error"`) || len(shownJobs(body)) != 0 {
					t.Fatal("a refused filter shows no message, or shows rows")
				}
				return
			}
			if len(rec.queries) != 1 {
				t.Fatalf("%d queries; want 1", len(rec.queries))
			}
			got := rec.queries[0]
			want := tc.want
			want.Limit = historyRows
			if got.User != want.User || !got.From.Equal(want.From) || !got.To.Equal(want.To) || got.Queue != want.Queue ||
				got.Device != want.Device || got.Outcome != want.Outcome || got.Name != want.Name || got.Limit != want.Limit ||
				got.Source != want.Source {
				t.Fatalf("query %+v; want %+v", got, want)
			}
			if tc.jobs != nil && !slices.Equal(shownJobs(body), tc.jobs) {
				t.Fatalf("shown %v; want %v", shownJobs(body), tc.jobs)
			}
			// The export links carry the very same filter.
			for _, format := range []string{"csv", "csv-sjis", "jsonl"} {
				p := tc.query
				p.Del("cursor")
				clean := url.Values{}
				for k, v := range p {
					clean.Set(k, strings.TrimSpace(v[0]))
				}
				clean.Set("format", format)
				link := `href="/admin/history/export?` + strings.ReplaceAll(clean.Encode(), "&", "&amp;") + `"`
				if !strings.Contains(body, link) {
					t.Errorf("no export link %s", link)
				}
			}
		})
	}
}

func TestHistoryPagination(t *testing.T) {
	rows := sampleRows(120)
	e, _ := historyEnv(t, rows)
	auditor := e.signIn(t, auditorName)
	path := "/admin/history?queue=secure"
	var seen []int64
	for page := 1; ; page++ {
		body := e.page(t, auditor, path)
		ids := shownJobs(body)
		if len(ids) == 0 || len(ids) > historyRows {
			t.Fatalf("page %d shows %d rows", page, len(ids))
		}
		seen = append(seen, ids...)
		m := regexp.MustCompile(`<a href="([^"]+)" id="next-page">`).FindStringSubmatch(body)
		if m == nil {
			break
		}
		path = strings.ReplaceAll(m[1], "&amp;", "&")
		if !strings.Contains(path, "queue=secure") {
			t.Fatalf("the next page %q drops the filter", path)
		}
		if page > 3 {
			t.Fatal("too many pages")
		}
	}
	// Every secure job once, newest first: none repeated, none skipped.
	var want []int64
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].Queue == "secure" {
			want = append(want, rows[i].JobID)
		}
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("pages showed %v;\nwant %v", seen, want)
	}
}

// TestHistoryExport checks that an export holds exactly the rows the
// page shows over all its pages, for the same filter, that it is recorded
// with its filter before it runs, and that another site cannot start one.
func TestHistoryExport(t *testing.T) {
	rows := sampleRows(120)
	e, rec := historyEnv(t, rows)
	auditor := e.signIn(t, auditorName)
	// 64 jobs: more than one page.
	filter := url.Values{"from": {"2026-03-31"}, "to": {"2026-04-03"}, "outcome": {"printed"}, "name": {"report"}}

	var shown []int64
	path := "/admin/history?" + filter.Encode()
	for path != "" {
		body := e.page(t, auditor, path)
		shown = append(shown, shownJobs(body)...)
		path = ""
		if m := regexp.MustCompile(`<a href="([^"]+)" id="next-page">`).FindStringSubmatch(body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if len(shown) <= historyRows {
		t.Fatalf("only %d rows shown; the test needs more", len(shown))
	}

	exp := url.Values{}
	for k, v := range filter {
		exp[k] = v
	}
	exp.Set("format", "csv")
	w := e.do(t, request{method: http.MethodGet, path: "/admin/history/export?" + exp.Encode(), cookie: auditor,
		header: map[string]string{"Sec-Fetch-Site": "same-origin"}})
	if w.Code != http.StatusOK {
		t.Fatalf("export: %d %.300s", w.Code, w.Body)
	}
	if ct, cd := w.Header().Get("Content-Type"), w.Header().Get("Content-Disposition"); ct != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(cd, `attachment; filename="printgate-history-`) {
		t.Errorf("Content-Type %q, Content-Disposition %q", ct, cd)
	}
	recs, err := csv.NewReader(w.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var exported []int64
	for _, r := range recs[1:] {
		id, _ := strconv.ParseInt(r[0], 10, 64)
		exported = append(exported, id)
	}
	slices.Reverse(exported) // the export is oldest first
	if !slices.Equal(exported, shown) {
		t.Fatalf("exported %v;\nshown %v", exported, shown)
	}
	// The export was asked with the page's own query.
	page, export := rec.queries[0], rec.exports[0]
	page.Limit, page.Cursor = 0, ""
	if page.Filter() != export {
		t.Errorf("export query %+v; page query %+v", export, page)
	}
	// And recorded with its filter.
	want := Action{Actor: auditorName, Name: ActionExport, Details: map[string]string{
		"from": "2026-03-31", "to": "2026-04-03", "outcome": "printed", "name": "report", "format": "csv"}}
	if got := e.audit.actions; len(got) != 1 || got[0].Actor != want.Actor || got[0].Name != want.Name ||
		got[0].Target != want.Target || fmt.Sprint(got[0].Details) != fmt.Sprint(want.Details) {
		t.Errorf("recorded %+v; want %+v", got, want)
	}

	refused := []struct {
		name   string
		query  string
		header map[string]string
		status int
	}{
		{"link on another site", exp.Encode(), map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"link on a sibling site", exp.Encode(), map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
		{"unknown format", "format=xlsx", nil, http.StatusBadRequest},
		{"bad filter", "from=yesterday", nil, http.StatusBadRequest},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(t, request{method: http.MethodGet, path: "/admin/history/export?" + tc.query, cookie: auditor, header: tc.header})
			if w.Code != tc.status {
				t.Fatalf("status %d; want %d", w.Code, tc.status)
			}
		})
	}
	if len(e.audit.actions) != 1 || len(rec.exports) != 1 {
		t.Errorf("a refused export was recorded or run: %d records, %d exports", len(e.audit.actions), len(rec.exports))
	}

	t.Run("not recorded, not run", func(t *testing.T) {
		e.audit.fail = true
		defer func() { e.audit.fail = false }()
		w := e.do(t, request{method: http.MethodGet, path: "/admin/history/export?" + exp.Encode(), cookie: auditor})
		if w.Code != http.StatusInternalServerError || len(rec.exports) != 1 {
			t.Fatalf("status %d, %d exports; want 500 and no export without its record", w.Code, len(rec.exports))
		}
	})

	t.Run("users cannot export", func(t *testing.T) {
		w := e.do(t, request{method: http.MethodGet, path: "/admin/history/export?format=csv", cookie: e.signIn(t, userName)})
		if w.Code != http.StatusForbidden || len(rec.exports) != 1 {
			t.Fatalf("status %d; want 403", w.Code)
		}
	})
}

// TestHistoryExportFails checks that an export that fails is never taken
// for a whole file: before the first byte it is an error page, after it
// the connection is cut, so that the browser reports a failed download.
func TestHistoryExportFails(t *testing.T) {
	e, rec := historyEnv(t, sampleRows(10))
	auditor := e.signIn(t, auditorName)
	rec.exportErr = errors.New("audit: export: database went away")

	w := e.do(t, request{method: http.MethodGet, path: "/admin/history/export?format=csv", cookie: auditor})
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "database went away") {
		t.Fatalf("failure before any row: %d %.300s; want a 500 page without the detail", w.Code, w.Body)
	}

	rec.exportErrAfter = 4
	base := serve(t, e.h)
	req, _ := http.NewRequest(http.MethodGet, base+"/admin/history/export?format=csv", nil)
	req.AddCookie(&http.Cookie{Name: cookiePlain, Value: auditor})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return // cut before the reply's header went out: no file at all
	}
	defer resp.Body.Close()
	if body, err := io.ReadAll(resp.Body); err == nil {
		t.Fatalf("a broken export read as a whole file: %d %q", resp.StatusCode, body)
	}
}

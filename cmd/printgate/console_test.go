package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/text/encoding/japanese"
	"gorm.io/gorm"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/web"
)

// pastJob is a job in the record from before the test, as if printgate
// had run for a month.
type pastJob struct {
	id                 int64
	owner, name, queue string
	hide               bool
	at                 time.Time
	// outcome is "printed", "print-failed", "canceled" or "held";
	// device is where printed and failed jobs were released.
	outcome, device string
	pages, copies   int
	color           bool
}

// seedRecord appends the events of jobs to the audit trail of cfg's
// database, each in its own transaction as release would. IDs are far
// above any job the test server will number.
func seedRecord(t *testing.T, st *stack, jobs []pastJob) {
	t.Helper()
	ctx := t.Context()
	for _, j := range jobs {
		mode := "monochrome"
		if j.color {
			mode = "color"
		}
		evs := []audit.Event{{Type: audit.EventSubmitted, JobID: j.id, Actor: j.owner, Job: &audit.JobInfo{
			Queue: j.queue, Owner: j.owner, ClaimedUser: j.owner, ClientAddr: "192.0.2.10", DocumentName: j.name,
			HideName: j.hide, Format: "application/pdf", Size: 2048, Pages: j.pages, PagesKnown: j.pages > 0,
			Copies: j.copies, ColorMode: mode, Submitted: j.at}}}
		released := audit.Event{Type: audit.EventReleased, JobID: j.id, Actor: j.owner, Device: j.device,
			Method: audit.MethodCard, Printer: "ipp://" + j.device + ".example.jp/ipp/print"}
		switch j.outcome {
		case "printed":
			evs = append(evs, released, audit.Event{Type: audit.EventPrinted, JobID: j.id, Actor: audit.ActorSystem, Device: j.device})
		case "print-failed":
			evs = append(evs, released, audit.Event{Type: audit.EventPrintFailed, JobID: j.id, Actor: audit.ActorSystem,
				Device: j.device, Reason: "printer-unreachable"})
		case "canceled":
			evs = append(evs, audit.Event{Type: audit.EventCanceled, JobID: j.id, Actor: j.owner})
		}
		for _, ev := range evs {
			err := st.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
				_, err := st.audit.Append(ctx, tx, ev)
				return err
			})
			if err != nil {
				t.Fatalf("seed job %d: %v", j.id, err)
			}
		}
	}
}

// jst returns a time in Tokyo.
func jst(t *testing.T, year int, month time.Month, day, hour, min int) time.Time {
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		loc = time.FixedZone("JST", 9*60*60)
	}
	return time.Date(year, month, day, hour, min, 0, 0, loc)
}

// monthOfJobs is March 2026 in the record: 60 jobs of alice, bob and
// carol with names in both scripts, one hidden payroll name, names with
// LIKE's wildcards, and jobs on the edges of days in Tokyo time.
func monthOfJobs(t *testing.T) []pastJob {
	names := []string{"Report Q1.pdf", "報告書 第3四半期.pdf", "100%_done.pdf", "ÄRGER.pdf", "minutes.docx", "report-final.PDF"}
	owners := []string{"alice", "bob", "carol"}
	outcomes := []string{"printed", "printed", "print-failed", "canceled", "held"}
	var jobs []pastJob
	for i := range 60 {
		jobs = append(jobs, pastJob{id: 9000 + int64(i), owner: owners[i%3], name: names[i%len(names)], queue: "secure",
			at: jst(t, 2026, 3, 1+i/2, 9+i%2*8, 15), outcome: outcomes[i%len(outcomes)], device: fmt.Sprintf("mfp-%d", 1+i%2),
			pages: 1 + i%4, copies: 1 + i%2, color: i%3 == 0})
	}
	edges := []pastJob{
		{id: 9100, owner: "bob", name: "edge-before.pdf", at: jst(t, 2026, 3, 9, 23, 59)},
		{id: 9101, owner: "bob", name: "edge-first.pdf", at: jst(t, 2026, 3, 10, 0, 0)},
		{id: 9102, owner: "bob", name: "edge-last.pdf", at: jst(t, 2026, 3, 20, 23, 59)},
		{id: 9103, owner: "bob", name: "edge-after.pdf", at: jst(t, 2026, 3, 21, 0, 0)},
		{id: 9104, owner: "bob", name: "給与明細 2026年3月.pdf", queue: "payroll", hide: true, at: jst(t, 2026, 3, 12, 10, 0)},
	}
	for _, j := range edges {
		j.queue = cmp.Or(j.queue, "secure")
		j.outcome, j.device, j.pages, j.copies = "printed", "mfp-1", 2, 1
		jobs = append(jobs, j)
	}
	return jobs
}

// pagedIDs pages through the console's history for q, a few rows at a
// time, and returns the job IDs in the order shown.
func pagedIDs(t *testing.T, h web.History, q audit.HistoryQuery) []int64 {
	t.Helper()
	q.Limit = 7
	var ids []int64
	for range 100 {
		page, err := h.History(t.Context(), q)
		if err != nil {
			t.Fatalf("history %+v: %v", q, err)
		}
		for _, r := range page.Jobs {
			ids = append(ids, r.JobID)
		}
		if page.Next == "" {
			return ids
		}
		q.Cursor = page.Next
	}
	t.Fatal("history does not end")
	return nil
}

// exportedIDs exports q in format and returns the job IDs in the file's
// order, checking the file's shape on the way.
func exportedIDs(t *testing.T, rec web.Record, q audit.HistoryQuery, format audit.Format) []int64 {
	t.Helper()
	var buf bytes.Buffer
	n, err := rec.Export(t.Context(), &buf, q.Filter(), format)
	if err != nil {
		t.Fatalf("export %+v: %v", format, err)
	}
	var ids []int64
	switch {
	case format.Encoding == audit.JSONL:
		sc := bufio.NewScanner(&buf)
		for sc.Scan() {
			var row struct {
				JobID int64 `json:"job_id"`
			}
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
				t.Fatalf("JSON line %q: %v", sc.Text(), err)
			}
			ids = append(ids, row.JobID)
		}
	default:
		data := buf.Bytes()
		if format.ShiftJIS {
			if data, err = japanese.ShiftJIS.NewDecoder().Bytes(data); err != nil {
				t.Fatal(err)
			}
		} else {
			var ok bool
			if data, ok = bytes.CutPrefix(data, []byte("\uFEFF")); !ok || bytes.Contains(data, []byte("\uFEFF")) {
				t.Fatal("the UTF-8 CSV does not start with exactly one byte order mark")
			}
		}
		recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll() // also checks every row has the header's width
		if err != nil {
			t.Fatalf("CSV: %v", err)
		}
		if len(recs) == 0 || recs[0][0] != "job_id" || slices.ContainsFunc(recs[1:], func(r []string) bool { return r[0] == "job_id" }) {
			t.Fatalf("the CSV has no header, or more than one")
		}
		for _, r := range recs[1:] {
			id, err := strconv.ParseInt(r[0], 10, 64)
			if err != nil {
				t.Fatalf("job_id %q", r[0])
			}
			ids = append(ids, id)
		}
	}
	if int64(len(ids)) != n {
		t.Errorf("export says %d rows, wrote %d", n, len(ids))
	}
	return ids
}

// jobQueries counts the queries of the job records that fn makes.
func jobQueries(t *testing.T, st *stack, fn func()) int64 {
	t.Helper()
	var n atomic.Int64
	count := func(db *gorm.DB) {
		if strings.Contains(db.Statement.SQL.String(), "audit_jobs") {
			n.Add(1)
		}
	}
	cb := st.db.Callback()
	if err := cb.Row().After("gorm:row").Register("test:count-rows", count); err != nil {
		t.Fatal(err)
	}
	if err := cb.Query().After("gorm:query").Register("test:count-query", count); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cb.Row().Remove("test:count-rows")
		cb.Query().Remove("test:count-query")
	}()
	fn()
	return n.Load()
}

// csvJobs is the console's plain CSV export of job records.
var csvJobs = audit.Format{Encoding: audit.CSV, Jobs: true}

// TestConsoleExportMatchesHistory holds the console's export to the
// history it shows: for each filter, and each format, the exported rows
// are exactly the rows of every history page, oldest first.
func TestConsoleExportMatchesHistory(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		cfg := newConfig(t, dbURL)
		st := openStackT(t, cfg)
		seedRecord(t, st, monthOfJobs(t))
		hist, rec := consoleHistory{Log: st.audit}, web.Record(st.audit)
		day := func(d int) time.Time { return jst(t, 2026, 3, d, 0, 0) }
		cases := []struct {
			name string
			q    audit.HistoryQuery
			// want, when set, are the IDs expected, newest first.
			want []int64
		}{
			{"everything", audit.HistoryQuery{}, nil},
			{"one user, ten days", audit.HistoryQuery{User: "bob", From: day(10), To: day(21)}, nil},
			{"day edges", audit.HistoryQuery{User: "bob", From: day(10), To: day(21), Name: "edge"}, []int64{9102, 9101}},
			{"name, any case", audit.HistoryQuery{Name: "REPORT"}, nil},
			{"Japanese name", audit.HistoryQuery{Name: "報告書"}, nil},
			{"wildcards are plain", audit.HistoryQuery{Name: "%_"}, nil},
			{"hidden name by exact name", audit.HistoryQuery{Name: "給与明細 2026年3月.pdf"}, []int64{9104}},
			{"hidden name not by part", audit.HistoryQuery{Name: "給与明細"}, []int64{}},
			{"outcome and device", audit.HistoryQuery{Outcome: "print-failed", Device: "mfp-1"}, nil},
			{"name and queue", audit.HistoryQuery{Name: "pdf", Queue: "secure", User: "carol"}, nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				shown := pagedIDs(t, hist, tc.q)
				if tc.want != nil && !slices.Equal(shown, tc.want) {
					t.Fatalf("history shows %v; want %v", shown, tc.want)
				}
				if tc.want == nil && len(shown) < 2 {
					t.Fatalf("history shows %v; the case needs rows", shown)
				}
				for _, format := range []audit.Format{csvJobs, {Encoding: audit.CSV, ShiftJIS: true, Jobs: true}, {Encoding: audit.JSONL, Jobs: true}} {
					got := exportedIDs(t, rec, tc.q, format)
					slices.Reverse(got)
					if !slices.Equal(got, shown) && !(len(got) == 0 && len(shown) == 0) {
						t.Errorf("%+v export %v;\nhistory shows %v", format, got, shown)
					}
				}
			})
		}
		// A name-filtered export is the unfiltered export's rows, byte for byte.
		var all, named bytes.Buffer
		if _, err := rec.Export(t.Context(), &all, audit.Filter{User: "bob", From: day(10), To: day(21)}, csvJobs); err != nil {
			t.Fatal(err)
		}
		if _, err := rec.Export(t.Context(), &named, audit.Filter{User: "bob", From: day(10), To: day(21), Name: "edge"}, csvJobs); err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(all.String(), "\r\n")
		var want strings.Builder
		want.WriteString(lines[0])
		for _, l := range lines[1:] {
			if strings.Contains(l, "edge-") {
				want.WriteString(l)
			}
		}
		if named.String() != want.String() {
			t.Errorf("name-filtered export:\n%s\nwant:\n%s", named.String(), want.String())
		}
		if n := jobQueries(t, st, func() {
			exportedIDs(t, rec, audit.HistoryQuery{Name: "REPORT"}, csvJobs)
		}); n != 1 {
			t.Errorf("an export by document name read the job records with %d queries; want one", n)
		}
		if _, err := hist.History(t.Context(), audit.HistoryQuery{Cursor: "not-a-cursor"}); !errors.Is(err, audit.ErrBadCursor) {
			t.Errorf("bad cursor: %v; want audit.ErrBadCursor", err)
		}
	})
}

// TestConsoleRecord reads a job's detail, totals and the chain check
// through the adapters, then breaks the chain.
func TestConsoleRecord(t *testing.T) {
	cfg := newConfig(t, "")
	st := openStackT(t, cfg)
	jobs := monthOfJobs(t)
	seedRecord(t, st, jobs)
	rec := web.Record(st.audit)
	ctx := t.Context()

	d, err := rec.Job(ctx, 9000)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := rec.Timeline(ctx, 9000)
	if err != nil {
		t.Fatal(err)
	}
	if d.Owner != "alice" || d.DocumentName != "Report Q1.pdf" || d.Outcome != "printed" || d.Device != "mfp-1" ||
		len(evs) != 3 || evs[0].Type != audit.EventSubmitted || evs[2].Type != audit.EventPrinted ||
		len(d.SHA256) != 0 || d.Impressions != 1 || d.ClientAddr != "192.0.2.10" {
		t.Errorf("job 9000: %+v", d)
	}
	if hidden, _ := rec.Job(ctx, 9104); !hidden.HideName || strings.Contains(hidden.DocumentName, "給与") {
		t.Errorf("hidden name shows: %+v", hidden)
	}
	if _, err := rec.Job(ctx, 1); !errors.Is(err, audit.ErrNotFound) {
		t.Errorf("missing job: %v; want audit.ErrNotFound", err)
	}
	check, err := rec.Verify(ctx, evs[0].Seq, evs[2].Seq)
	if err != nil || !check.OK() || check.Checked != 3 || !bytes.Equal(check.LastHash, evs[2].Hash) {
		t.Fatalf("chain over job 9000: %+v, %v", check, err)
	}

	totals, err := rec.Totals(ctx, audit.TotalsQuery{GroupBy: audit.ByDay, From: jst(t, 2026, 3, 1, 0, 0), To: jst(t, 2026, 3, 2, 0, 0)})
	if err != nil || len(totals) != 1 || totals[0].Key != "2026-03-01" || totals[0].Jobs != 2 {
		t.Fatalf("totals of 1 March: %+v, %v", totals, err)
	}
	var want audit.Total
	for _, j := range jobs[:2] {
		want.Impressions += int64(j.pages * j.copies)
	}
	if totals[0].Impressions != want.Impressions || totals[0].ColorImpressions+totals[0].MonoImpressions != want.Impressions {
		t.Errorf("pages %+v; want %d", totals[0], want.Impressions)
	}

	for _, s := range tamperStatements(st.db.Dialect, fmt.Sprintf("UPDATE audit_events SET actor = 'mallory' WHERE seq = %d", evs[1].Seq)) {
		if err := st.db.Exec(s).Error; err != nil {
			t.Fatal(err)
		}
	}
	check, err = rec.Verify(ctx, evs[0].Seq, evs[2].Seq)
	if err != nil || check.OK() || check.FirstBad != evs[1].Seq {
		t.Fatalf("chain after tampering with event %d: %+v, %v", evs[1].Seq, check, err)
	}
}

// consoleSession is a console client with its own cookies.
type consoleSession struct {
	t    *testing.T
	base string
	c    *http.Client
}

// signInConsole signs user in at srv's console.
func signInConsole(t *testing.T, srv *testServer, user, password string) *consoleSession {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	s := &consoleSession{t: t, base: "http://" + srv.Addr, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	code, _ := s.post("/signin", url.Values{"name": {user}, "password": {password}})
	if code != http.StatusSeeOther {
		t.Fatalf("sign in %s: %d", user, code)
	}
	return s
}

func (s *consoleSession) do(req *http.Request) (int, string) {
	s.t.Helper()
	req.Header.Set("Accept-Language", "en")
	resp, err := s.c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (s *consoleSession) get(path string) (int, string) {
	req, _ := http.NewRequest(http.MethodGet, s.base+path, nil)
	return s.do(req)
}

func (s *consoleSession) post(path string, form url.Values) (int, string) {
	req, _ := http.NewRequest(http.MethodPost, s.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return s.do(req)
}

var deviceToken = regexp.MustCompile(`<code class="token" id="device-token">([^<]+)</code>`)

// TestConsoleWebAdmin runs the admin pages on a full server: a device
// registered in the console gets a token shown once that works at the
// release API, rotation and disabling stop it, an admin deletes a held
// job submitted over IPP, and the auditor can do none of it.
func TestConsoleWebAdmin(t *testing.T) {
	e := newReleaseEnv(t, "", func(cfg *Config) {
		runCLI(t, *cfg, "carol-secret\n", "user", "add", "carol", "--role", "auditor")
	})
	admin := signInConsole(t, e.srv, "alice", "alice-secret")
	auditor := signInConsole(t, e.srv, "carol", "carol-secret")
	form := url.Values{"name": {"mfp-console"}, "printer": {e.printer.URI}, "queue": {"secure"}, "method": {"id+pin"}}

	if code, _ := auditor.post("/admin/devices/add", form); code != http.StatusForbidden {
		t.Fatalf("auditor registers a device: %d; want 403", code)
	}
	code, body := admin.post("/admin/devices/add", form)
	m := deviceToken.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		t.Fatalf("register: %d %.500s", code, body)
	}
	token := m[1]
	e.devices["mfp-console"] = token
	login := map[string]string{"user": "bob", "pin": "4821"}
	if code, _ := e.call("mfp-console", http.MethodPost, "/release/sessions", login); code != http.StatusCreated {
		t.Fatalf("the new token opens no session: %d", code)
	}
	for _, p := range []string{"/admin/devices", "/admin", "/admin/history"} {
		if _, body := admin.get(p); strings.Contains(body, token) {
			t.Errorf("%s shows the token again", p)
		}
	}

	_, body = admin.post("/admin/devices/rotate", url.Values{"name": {"mfp-console"}})
	m = deviceToken.FindStringSubmatch(body)
	if m == nil || m[1] == token {
		t.Fatalf("rotation shows no new token: %.500s", body)
	}
	if code, _ := e.call("mfp-console", http.MethodPost, "/release/sessions", login); code != http.StatusUnauthorized {
		t.Errorf("the old token still works: %d", code)
	}
	e.devices["mfp-console"] = m[1]
	if code, _ := e.call("mfp-console", http.MethodPost, "/release/sessions", login); code != http.StatusCreated {
		t.Errorf("the rotated token does not work: %d", code)
	}
	if code, _ := admin.post("/admin/devices/enable", url.Values{"name": {"mfp-console"}, "enabled": {"false"}}); code != http.StatusSeeOther {
		t.Fatalf("disable: %d", code)
	}
	if code, _ := e.call("mfp-console", http.MethodPost, "/release/sessions", login); code == http.StatusCreated {
		t.Error("a disabled device opens sessions")
	}

	id := e.submit("bob", testdocs.PDF(1, "held for deletion", testdocs.A4))
	if _, body := auditor.get("/admin/held"); !strings.Contains(body, fmt.Sprintf(`data-job="%d"`, id)) ||
		strings.Contains(body, `action="/admin/held/cancel"`) {
		t.Fatalf("the auditor's held view: %.1000s", body)
	}
	if code, _ := auditor.post("/admin/held/cancel", url.Values{"job": {strconv.FormatInt(id, 10)}}); code != http.StatusForbidden {
		t.Fatalf("auditor deletes a held job: %d", code)
	}
	if code, _ := admin.post("/admin/held/cancel", url.Values{"job": {strconv.FormatInt(id, 10)}}); code != http.StatusSeeOther {
		t.Fatalf("admin deletes a held job: %d", code)
	}
	_, body = admin.get(fmt.Sprintf("/admin/jobs/%d", id))
	if !strings.Contains(body, "deleted") || !strings.Contains(body, `id="chain-ok"`) {
		t.Errorf("job detail after the delete: %.2000s", body)
	}

	// Every change is in the audit trail under the admin's name, and no
	// token is.
	e.srv.Stop(t)
	st := openStackT(t, e.cfg)
	var out bytes.Buffer
	if _, err := st.audit.Export(context.Background(), &out, audit.Filter{User: "alice"}, audit.Format{Encoding: audit.JSONL}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"type":"device-added"`, `"type":"device-token-set"`, `"device-enabled":"false"`,
		fmt.Sprintf(`"type":"canceled","job_id":%d`, id)} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the audit trail lacks %s", want)
		}
	}
	if strings.Contains(out.String(), token) || strings.Contains(out.String(), m[1]) || strings.Contains(e.srv.Log.String(), token) {
		t.Error("a device token is in the audit trail or the log")
	}
}

// TestConsoleJSONExportRecorded checks an export over HTTP on a full
// server: the file is the history's rows, and the export is an audit
// event with its filter and a keyed document name.
func TestConsoleJSONExportRecorded(t *testing.T) {
	cfg := newConfig(t, "")
	runCLI(t, cfg, "carol-secret\n", "user", "add", "carol", "--role", "auditor")
	st, err := openStack(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	seedRecord(t, st, monthOfJobs(t))
	st.Close()
	srv := startServer(t, cfg)
	auditor := signInConsole(t, srv, "carol", "carol-secret")
	filter := url.Values{"user": {"bob"}, "name": {"給与明細 2026年3月.pdf"}, "format": {"jsonl"}}
	code, body := auditor.get("/admin/history/export?" + filter.Encode())
	if code != http.StatusOK || strings.Count(body, "\n") != 1 || !strings.Contains(body, `"job_id":9104`) {
		t.Fatalf("export: %d %q", code, body)
	}
	srv.Stop(t)
	st = openStackT(t, cfg)
	var found []audit.Event
	for ev, err := range st.audit.Events(t.Context(), audit.Filter{Type: audit.EventExport}) {
		if err != nil {
			t.Fatal(err)
		}
		found = append(found, ev)
	}
	keyed, _ := st.audit.KeyedName("給与明細 2026年3月.pdf")
	if len(found) != 1 || found[0].Actor != "carol" || found[0].Owner != "bob" || found[0].Details["user"] != "bob" ||
		found[0].Details["format"] != "jsonl" || found[0].Details["name-keyed"] != keyed || found[0].Details["name"] != "" {
		t.Fatalf("export events %+v", found)
	}
}

// ippSubmit prints doc to srv's secure queue as user and returns the job ID.
func ippSubmit(t *testing.T, srv *testServer, user, name string, doc []byte) int64 {
	t.Helper()
	uri := srv.PrinterURI("secure")
	r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, user, nameVal("job-name", name), mimeVal("application/pdf")), doc)
	if status(r) != goipp.StatusOk {
		t.Fatalf("Print-Job: %s", status(r))
	}
	id, _ := strconv.ParseInt(attrValue(r.Job, "job-id"), 10, 64)
	return id
}

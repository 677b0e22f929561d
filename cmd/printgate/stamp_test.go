package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release/stamp"
)

// stampEnv is a release environment whose queue stamps every page, with
// 山田, a user with a Japanese name and a card.
func stampEnv(t *testing.T, tweak func(*Config)) *releaseEnv {
	t.Helper()
	if _, err := stamp.FindFont(""); err != nil {
		testenv.Need(t, "a Japanese TrueType font (fonts-ipafont-gothic)", err)
	}
	e := newReleaseEnv(t, "", func(c *Config) {
		c.Queues[0].Stamp = true
		c.Queues[0].StampPosition = "bottom-left"
		if tweak != nil {
			tweak(c)
		}
	})
	runCLI(t, e.cfg, "yamada-secret\n", "user", "add", "山田", "--display-name", "山田 太郎")
	runCLI(t, e.cfg, "04D5E6F7\n", "card", "add", "山田")
	return e
}

// releaseBy signs in with card, releases job id and waits for state.
func (e *releaseEnv) releaseBy(card string, id int64, state string) map[string]any {
	e.t.Helper()
	sess := e.login("mfp1", map[string]string{"card": card})
	code, out := e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id}})
	if code != http.StatusAccepted {
		e.t.Fatalf("release: HTTP %d %v", code, out)
	}
	return e.waitState("mfp1", sess, id, state)
}

var stampLine = regexp.MustCompile(`(?m)^(.*) \| (\d{4}/\d\d/\d\d \d\d:\d\d \S+) \| Job (\d+) \| Code ([0-9A-Z]{4} [0-9A-Z]{4} [0-9A-Z]{4})$`)

// stampedEvent returns the details of job id's stamped audit events.
func stampedEvents(t *testing.T, e *releaseEnv, id int64) []map[string]string {
	t.Helper()
	var raw []string
	if err := openTestDB(t, e.srv).Raw(`SELECT details FROM audit_events WHERE job_id = ? AND type = ? ORDER BY seq`,
		id, stamp.EventStamped).Scan(&raw).Error; err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range raw {
		d := map[string]string{}
		if err := json.Unmarshal([]byte(r), &d); err != nil {
			t.Fatalf("details %q: %v", r, err)
		}
		out = append(out, d)
	}
	return out
}

// TestStampedRelease: on a queue with stamp: true, the PDF the printer
// receives shows on every page the owner (a Japanese name), the release
// time, the job ID and a verification code; the audit trail holds the
// same text and code; `printgate audit lookup CODE` finds the job, and a
// code one character off finds nothing. The queue refuses PostScript at
// submission: it could not be stamped.
func TestStampedRelease(t *testing.T) {
	pdftotext := testenv.Tool(t, "pdftotext")
	e := stampEnv(t, nil)
	doc := testdocs.PDF(3, "payslip for April", testdocs.A4)
	id := e.submit("山田", doc)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", e.srv.Log.String())
		}
	})
	e.releaseBy("04D5E6F7", id, "completed")

	files := e.printer.Files()
	if len(files) != 1 {
		t.Fatalf("the printer received %d documents, want 1", len(files))
	}
	received, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if string(received) == string(doc) {
		t.Fatal("the printer received the document unstamped")
	}
	out, err := exec.Command(pdftotext, files[0], "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	pages := strings.Split(string(out), "\f")
	var line, code string
	for i, p := range pages[:3] {
		m := stampLine.FindStringSubmatch(p)
		if m == nil || !strings.Contains(p, "payslip for April") {
			t.Fatalf("page %d has no stamp, or lost its text:\n%s", i+1, p)
		}
		if m[1] != "山田" || m[3] != strconv.FormatInt(id, 10) {
			t.Errorf("page %d stamped %q, want owner 山田 and job %d", i+1, m[0], id)
		}
		if line == "" {
			line, code = m[0], m[4]
		} else if m[0] != line {
			t.Errorf("page %d stamped %q, page 1 %q", i+1, m[0], line)
		}
	}
	if pages := len(pages) - 1; pages != 3 {
		t.Errorf("the printer received %d pages, want 3", pages)
	}

	evs := stampedEvents(t, e, id)
	if len(evs) != 1 || evs[0][stamp.DetailCode] != code || evs[0][stamp.DetailText] != line {
		t.Fatalf("stamped events %v; want one with code %q and text %q", evs, code, line)
	}

	// The lookup finds the job from the code, typed as a person might.
	typed := strings.ToLower(strings.ReplaceAll(code, " ", "-"))
	got := runCLI(t, e.cfg, "", "audit", "lookup", typed)
	for _, want := range []string{"verification code " + code + ": job " + strconv.FormatInt(id, 10), "山田", line, "printed"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit lookup %s printed\n%s\nwant %q", typed, got, want)
		}
	}
	wrong := []byte(strings.ReplaceAll(code, " ", ""))
	wrong[5] = map[bool]byte{true: 'A', false: 'B'}[wrong[5] != 'A']
	if out, err := tryCLI(t, e.cfg, "", "audit", "lookup", string(wrong)); !errors.Is(err, errNoSuchCode) {
		t.Errorf("audit lookup of the wrong code %s: %v\n%s", wrong, err, out)
	}
	if _, err := tryCLI(t, e.cfg, "", "audit", "lookup", "not-a-code"); err == nil ||
		!strings.Contains(err.Error(), "is not a verification code") {
		t.Errorf("audit lookup of a malformed code: %v", err)
	}

	// The console finds the job by the code, and its job page shows the
	// code.
	admin := signInConsole(t, e.srv, "alice", "alice-secret")
	req, _ := http.NewRequest(http.MethodGet, admin.base+"/admin/lookup?code="+url.QueryEscape(typed), nil)
	resp, err := admin.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	jobPath := "/admin/jobs/" + strconv.FormatInt(id, 10)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, jobPath+"?") {
		t.Errorf("console lookup: HTTP %d to %q, want 303 to %s", resp.StatusCode, loc, jobPath)
	}
	if status, page := admin.get(jobPath); status != http.StatusOK || !strings.Contains(page, `<code class="stamp-code">`+code+`</code>`) {
		t.Errorf("job page: HTTP %d, without the code %q", status, code)
	}
	for _, tc := range []struct {
		code string
		want int
	}{{string(wrong), http.StatusNotFound}, {"not-a-code", http.StatusBadRequest}, {"", http.StatusOK}} {
		if status, page := admin.get("/admin/lookup?code=" + url.QueryEscape(tc.code)); status != tc.want ||
			!strings.Contains(page, `name="code"`) {
			t.Errorf("console lookup of %q: HTTP %d, want %d and the form", tc.code, status, tc.want)
		}
	}

	// PostScript cannot be stamped: the queue takes only PDF.
	uri := e.srv.PrinterURI("secure")
	r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "山田", nameVal("job-name", "ps"),
		mimeVal("application/postscript")), testdocs.PostScript(1))
	if status(r) != goipp.StatusErrorDocumentFormatNotSupported {
		t.Errorf("PostScript to a stamping queue: %s, want %s", status(r), goipp.StatusErrorDocumentFormatNotSupported)
	}
}

// TestStampRefusedHeld: a PDF the stamp cannot handle (here, larger than
// pages.max_pdf_mb) is not printed unstamped: the release fails, the
// printer receives nothing, and the job is held again with the reason.
func TestStampRefusedHeld(t *testing.T) {
	e := stampEnv(t, func(c *Config) { c.Pages.MaxPDFMB = 1 })
	// Incompressible text: over 1 MiB however pdfcpu would write it.
	big := testdocs.PDF(1, strings.Repeat("0123456789abcdef", 80_000), testdocs.A4)
	if len(big) <= 1<<20 {
		t.Fatalf("test document of %d bytes is not over 1 MiB", len(big))
	}
	id := e.submit("山田", big)
	job := e.releaseBy("04D5E6F7", id, "pending-held")
	if job["state_reason"] != "stamp-failed" {
		t.Errorf("held job: %v; want reason stamp-failed", job)
	}
	if files := e.printer.Files(); len(files) != 0 {
		t.Errorf("the printer received %v", files)
	}
	if evs := stampedEvents(t, e, id); len(evs) != 0 {
		t.Errorf("stamped events %v for a document that was not stamped", evs)
	}
	var reason string
	if err := openTestDB(t, e.srv).Raw(`SELECT reason FROM audit_events WHERE job_id = ? AND type = 'print-failed'`, id).
		Scan(&reason).Error; err != nil || reason != "stamp-failed" {
		t.Errorf("print-failed event reason %q, %v", reason, err)
	}
}

// TestStampTooManyPages: a PDF of 20,000 tiny pages, which pdfcpu would
// stamp for minutes, is refused within seconds: at once for its pages
// when they were counted at submission (the time budget set long, so
// that only the page limit can be quick), and, when the job asks for
// five of them (page-ranges) so that the stamper must find the rest, at
// its page limit or at worst its time budget. Either way the job is held
// again with the reason, and the printer receives nothing.
func TestStampTooManyPages(t *testing.T) {
	doc := testdocs.PDF(20_000, "x", testdocs.A4)
	for _, tc := range []struct {
		name    string
		budget  time.Duration
		ranges  bool
		message string // one of
	}{
		{"counted", 30 * time.Second, false, "2000 pages"},
		{"page ranges", 5 * time.Second, true, "2000 pages|too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := stampEnv(t, func(c *Config) { c.Pages.MaxTime = tc.budget })
			uri := e.srv.PrinterURI("secure")
			m := ippRequest(goipp.OpPrintJob, uri, "山田", nameVal("job-name", "long"), mimeVal("application/pdf"))
			if tc.ranges {
				m.Job.Add(goipp.MakeAttribute("page-ranges", goipp.TagRange, goipp.Range{Lower: 1, Upper: 5}))
			}
			r := ippDo(t, uri, m, doc)
			if status(r) != goipp.StatusOk {
				t.Fatalf("Print-Job: %s", status(r))
			}
			id, _ := strconv.ParseInt(attrValue(r.Job, "job-id"), 10, 64)
			start := time.Now()
			job := e.releaseBy("04D5E6F7", id, "pending-held")
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("refused after %v", d)
			}
			t.Logf("refused after %v (%v pages counted): %v", time.Since(start), job["pages"], job["message"])
			msg, _ := job["message"].(string)
			if job["state_reason"] != "stamp-failed" || !regexp.MustCompile(tc.message).MatchString(msg) {
				t.Errorf("held job: %v; want reason stamp-failed and %q", job, tc.message)
			}
			if files := e.printer.Files(); len(files) != 0 {
				t.Errorf("the printer received %v", files)
			}
			if evs := stampedEvents(t, e, id); len(evs) != 0 {
				t.Errorf("stamped events %v for a document that was not stamped", evs)
			}
		})
	}
}

// TestStampConfig: a stamping queue takes only PDF and a position and
// font size it can print; stamp settings without stamp: true are an
// error, as is a font that does not exist. Each error names its setting.
func TestStampConfig(t *testing.T) {
	if _, err := stamp.FindFont(""); err != nil {
		testenv.Need(t, "a Japanese TrueType font (fonts-ipafont-gothic)", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // in the error; "" for none
	}{
		{"defaults", func(c *Config) { c.Queues[0].Stamp = true }, ""},
		{"pdf only", func(c *Config) {
			c.Queues[0].Stamp, c.Queues[0].Formats = true, []string{"application/pdf", "application/postscript"}
		}, `queues[0]: formats: "application/postscript"`},
		{"position", func(c *Config) { c.Queues[0].Stamp, c.Queues[0].StampPosition = true, "middle" }, "queues[0]: stamp_position"},
		{"font size", func(c *Config) { c.Queues[0].Stamp, c.Queues[0].StampFontSize = true, 40 }, "queues[0]: stamp_font_size"},
		{"without stamp", func(c *Config) { c.Queues[0].StampPosition = "top-left" }, "set without stamp: true"},
		{"font file", func(c *Config) { c.Queues[0].Stamp, c.Stamp.FontFile = true, "/nonexistent/ipag.ttf" }, "stamp.font_file"},
		{"max pages", func(c *Config) { c.Queues[0].Stamp, c.Stamp.MaxPages = true, 0 }, "stamp.max_pages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaultConfig()
			tc.edit(&cfg)
			err := cfg.validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				q := cfg.queues[0]
				if q.Stamp == nil || q.Stamp.Position != stamp.BottomRight || q.Stamp.FontSize != stamp.DefaultFontSize ||
					len(q.Formats) != 1 || q.Formats[0] != "application/pdf" {
					t.Errorf("queue %+v; want a bottom-right, %d-point stamp and PDF only", q, stamp.DefaultFontSize)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("validate: %v; want an error naming %q", err, tc.want)
			}
		})
	}
}

// TestStampedDirect: a direct queue with stamp: true stamps each job as
// it forwards it, with the time it was submitted (and so released).
func TestStampedDirect(t *testing.T) {
	if _, err := stamp.FindFont(""); err != nil {
		testenv.Need(t, "a Japanese TrueType font (fonts-ipafont-gothic)", err)
	}
	pdftotext := testenv.Tool(t, "pdftotext")
	printer := testenv.IPPEvePrinter(t)
	cfg := newConfig(t, "", QueueConfig{Name: "lobby", Mode: "direct", Printer: printer.URI, Stamp: true})
	srv := startServer(t, cfg)
	uri := srv.PrinterURI("lobby")
	before := time.Now()
	r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "bob", nameVal("job-name", "memo"),
		mimeVal("application/pdf")), testdocs.PDF(1, "memo", testdocs.A4))
	if status(r) != goipp.StatusOk {
		t.Fatalf("Print-Job: %s", status(r))
	}
	testenv.WaitFor(t, "the printer to receive the job", func() bool { return len(printer.Files()) == 1 })
	out, err := exec.Command(pdftotext, printer.Files()[0], "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	m := stampLine.FindStringSubmatch(string(out))
	if m == nil || m[1] != "bob" {
		t.Fatalf("printed %q, want bob's stamp", out)
	}
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	at, err := time.ParseInLocation("2006/01/02 15:04", strings.TrimSuffix(m[2], " JST"), tokyo)
	if err != nil || at.Before(before.Add(-time.Minute)) || at.After(time.Now()) {
		t.Errorf("stamped time %q (%v), want about %v", m[2], err, before.In(tokyo))
	}
}

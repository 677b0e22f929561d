package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// httpGet fetches url and returns the status and body.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// scrape reads the metrics at addr as Prometheus would.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := httpGet(t, "http://"+addr+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: HTTP %d: %s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return mfs
}

// sample returns the value of the metric name with labels (a
// histogram's count), and whether it is there.
func sample(mfs map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// wantSample fails the test unless the metric has value want.
func wantSample(t *testing.T, mfs map[string]*dto.MetricFamily, want float64, name string, labels ...string) {
	t.Helper()
	got, ok := sample(mfs, name, labels...)
	if !ok || got != want {
		t.Errorf("%s%v = %v (present %v), want %v", name, labels, got, ok, want)
	}
}

// jobLine matches a job log line in the text server log.
var jobLine = regexp.MustCompile(`(?m)^time=(\S+) level=INFO msg=job event=(\S+) job=(\d+) owner=(\S+) queue=(\S+) device=(\S+) pages=(\d+) copies=\d+ outcome=(\S+) reason=(\S+) document=(.*)$`)

// jobEvents returns the events of job id's lines in the server log, in
// order, and fails the test on a line of it without the zone's offset.
func jobEvents(t *testing.T, log string, id int64) []string {
	t.Helper()
	var out []string
	for _, m := range jobLine.FindAllStringSubmatch(log, -1) {
		if m[3] != strconv.FormatInt(id, 10) {
			continue
		}
		if !strings.HasSuffix(m[1], "+09:00") {
			t.Errorf("job line timed %s, not in audit.time_zone (Asia/Tokyo)", m[1])
		}
		out = append(out, m[2])
	}
	return out
}

// TestMetricsAndJobLog submits, releases and fails jobs over real IPP and
// the release API with a real printer, and watches the counters move and
// the job log tell each job's life.
func TestMetricsAndJobLog(t *testing.T) {
	e := newReleaseEnv(t, "", func(c *Config) { c.Release.PrinterFresh = time.Hour; c.Release.PrinterRefresh = time.Hour })
	addr := e.srv.Addr
	before := scrape(t, addr)
	wantSample(t, before, 0, "printgate_jobs_submitted_total", "queue", "secure")
	wantSample(t, before, 0, "printgate_jobs_held", "queue", "secure")

	sess := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
	first := e.submit("bob", testdocs.PDF(2, "first", testdocs.A4))
	second := e.submit("bob", testdocs.PDF(1, "second", testdocs.A4))
	m := scrape(t, addr)
	wantSample(t, m, 2, "printgate_jobs_submitted_total", "queue", "secure")
	wantSample(t, m, 2, "printgate_submit_seconds")
	wantSample(t, m, 2, "printgate_jobs_held", "queue", "secure")
	if b, _ := sample(m, "printgate_spool_bytes"); b <= 0 {
		t.Errorf("printgate_spool_bytes = %v with two documents held", b)
	}

	e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{first}})
	e.waitState("mfp1", sess, first, "completed")
	m = scrape(t, addr)
	wantSample(t, m, 1, "printgate_jobs_released_total", "queue", "secure", "device", "mfp1")
	wantSample(t, m, 1, "printgate_release_seconds")
	wantSample(t, m, 1, "printgate_jobs_held", "queue", "secure")

	// The printer's answer is fresh for an hour: the release goes ahead
	// and the print fails.
	e.printer.Stop()
	e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{second}})
	e.waitState("mfp1", sess, second, "pending-held")
	m = scrape(t, addr)
	wantSample(t, m, 1, "printgate_jobs_failed_total", "queue", "secure", "reason", "printer-unreachable")
	wantSample(t, m, 1, "printgate_jobs_released_total", "queue", "secure", "device", "mfp1")
	wantSample(t, m, 1, "printgate_jobs_held", "queue", "secure")

	if code, _ := e.call("mfp2", http.MethodPost, "/release/sessions", map[string]string{"user": "bob", "pin": "9173"}); code != http.StatusUnauthorized {
		t.Fatalf("wrong PIN: HTTP %d", code)
	}
	if code, _ := e.call("mfp2", http.MethodPost, "/release/sessions", map[string]string{"card": "0455AA66BB77CC"}); code != http.StatusUnauthorized {
		t.Fatalf("unknown card: HTTP %d", code)
	}
	m = scrape(t, addr)
	wantSample(t, m, 1, "printgate_auth_failures_total", "method", "id+pin")
	wantSample(t, m, 1, "printgate_auth_failures_total", "method", "card")

	// The job log is written by a goroutine of its own.
	var log string
	for _, tc := range []struct {
		id   int64
		want []string
	}{
		{first, []string{"submitted", "release-attempt", "released", "printed"}},
		{second, []string{"submitted", "release-attempt", "print-failed"}},
	} {
		var got []string
		if !testenv.Eventually(func() bool {
			log = e.srv.Log.String()
			got = jobEvents(t, log, tc.id)
			return slices.Equal(got, tc.want)
		}) {
			t.Errorf("job %d's lines: %v, want %v", tc.id, got, tc.want)
		}
	}
	for _, m := range jobLine.FindAllStringSubmatch(log, -1) {
		if m[3] == strconv.FormatInt(first, 10) && m[2] == "printed" &&
			(m[4] != "bob" || m[5] != "secure" || m[6] != "mfp1" || m[7] != "2" || m[8] != "completed") {
			t.Errorf("printed line: %s", m[0])
		}
	}
}

// TestReadyzDatabase: /readyz turns 503, saying why, while PostgreSQL is
// stopped, and 200 again once it is back; /healthz says alive throughout,
// and /metrics still answers without the held jobs.
func TestReadyzDatabase(t *testing.T) {
	pg := testenv.PrivatePostgres(t)
	cfg := newConfig(t, pg.URL)
	cfg.Log.Level = "error"
	srv := startServer(t, cfg)
	base := "http://" + srv.Addr
	ready := func() (int, map[string]any) {
		code, body := httpGet(t, base+"/readyz")
		var st map[string]any
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatalf("/readyz: not JSON: %s", body)
		}
		return code, st
	}
	if code, st := ready(); code != http.StatusOK || st["status"] != "ready" {
		t.Fatalf("/readyz at start: %d %v", code, st)
	}
	pg.Stop()
	var st map[string]any
	testenv.WaitFor(t, "/readyz to answer 503", func() bool {
		var code int
		code, st = ready()
		return code == http.StatusServiceUnavailable
	})
	if st["status"] != "not ready" || !strings.Contains(st["reason"].(string), "database unreachable") {
		t.Errorf("/readyz without the database: %v", st)
	}
	if checks, _ := st["checks"].(map[string]any); checks["database"] != "database unreachable" || checks["spool"] != "ok" || checks["disk"] != "ok" {
		t.Errorf("/readyz checks: %v", st["checks"])
	}
	if code, _ := httpGet(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz without the database: HTTP %d", code)
	}
	m := scrape(t, srv.Addr)
	if _, ok := sample(m, "printgate_jobs_held", "queue", "secure"); ok {
		t.Error("printgate_jobs_held shown while the database is away")
	}
	wantSample(t, m, 0, "printgate_jobs_submitted_total", "queue", "secure")
	pg.Start()
	testenv.WaitFor(t, "/readyz to answer 200", func() bool {
		code, _ := ready()
		return code == http.StatusOK
	})
}

// TestMetricsNetworks: /metrics is refused to a client outside
// server.metrics_networks; with server.metrics_listen it moves to a
// listener of its own, which serves nothing else.
func TestMetricsNetworks(t *testing.T) {
	t.Run("untrusted", func(t *testing.T) {
		cfg := newConfig(t, "")
		cfg.Server.MetricsNetworks = []string{"192.0.2.0/24"}
		if err := cfg.validate(); err != nil {
			t.Fatal(err)
		}
		srv := startServer(t, cfg)
		if code, body := httpGet(t, "http://"+srv.Addr+"/metrics"); code != http.StatusForbidden || strings.Contains(body, "printgate_") {
			t.Errorf("/metrics from 127.0.0.1, outside 192.0.2.0/24: HTTP %d %.80s", code, body)
		}
		if code, _ := httpGet(t, "http://"+srv.Addr+"/healthz"); code != http.StatusOK {
			t.Errorf("/healthz: HTTP %d", code)
		}
	})
	t.Run("metrics_listen", func(t *testing.T) {
		cfg := newConfig(t, "")
		cfg.Server.MetricsListen = net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t)))
		if err := cfg.validate(); err != nil {
			t.Fatal(err)
		}
		srv := startServer(t, cfg)
		if code, _ := httpGet(t, "http://"+srv.Addr+"/metrics"); code != http.StatusNotFound {
			t.Errorf("/metrics on the main listener: HTTP %d, want 404", code)
		}
		m := scrape(t, cfg.Server.MetricsListen)
		wantSample(t, m, 0, "printgate_jobs_submitted_total", "queue", "secure")
		for path, want := range map[string]int{"/readyz": 200, "/healthz": 200, "/ipp/print/secure": 404, "/signin": 404} {
			if code, _ := httpGet(t, "http://"+cfg.Server.MetricsListen+path); code != want {
				t.Errorf("%s on the metrics listener: HTTP %d, want %d", path, code, want)
			}
		}
	})
}

// TestJobLogFile: with log.job_log_file and JSON, each line goes to the
// file, parses, is timed in audit.time_zone, and shows a queue's hidden
// document names only in their keyed form.
func TestJobLogFile(t *testing.T) {
	cfg := newConfig(t, "", QueueConfig{Name: "payroll", Mode: "hold", HideDocumentNames: true})
	cfg.Log.Format = "json"
	cfg.Log.JobLogFile = filepath.Join(t.TempDir(), "jobs.log")
	cfg.Audit.TimeZone = "Asia/Tokyo"
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, cfg)
	uri := srv.PrinterURI("payroll")
	const secretName = "給与明細 2026-12.pdf"
	r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "alice", nameVal("document-name", secretName), mimeVal("application/pdf")),
		testdocs.PDF(3, "payroll", testdocs.A4))
	if status(r) != goipp.StatusOk {
		t.Fatalf("Print-Job: %s", status(r))
	}
	id, _ := strconv.Atoi(attrValue(r.Job, "job-id"))
	if r := ippDo(t, uri, ippRequest(goipp.OpCancelJob, uri, "alice", intVal("job-id", id)), nil); status(r) != goipp.StatusOk {
		t.Fatalf("Cancel-Job: %s", status(r))
	}
	var lines []map[string]any
	testenv.WaitFor(t, "two lines in the job log", func() bool {
		f, err := os.Open(cfg.Log.JobLogFile)
		if err != nil {
			return false
		}
		defer f.Close()
		lines = nil
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var rec map[string]any
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("job log line is not JSON: %s", sc.Bytes())
			}
			lines = append(lines, rec)
		}
		return len(lines) >= 2
	})
	raw, _ := os.ReadFile(cfg.Log.JobLogFile)
	if strings.Contains(string(raw), "給与") {
		t.Errorf("the job log shows a hidden name:\n%s", raw)
	}
	if fi, err := os.Stat(cfg.Log.JobLogFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("job log file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	for i, want := range []string{"submitted", "canceled"} {
		rec := lines[i]
		if rec["event"] != want || rec["job"] != float64(id) || rec["queue"] != "payroll" || rec["owner"] != "alice" || rec["pages"] != float64(3) {
			t.Errorf("line %d: %v, want %s of job %d", i, rec, want, id)
		}
		if doc, _ := rec["document"].(string); !strings.HasPrefix(doc, "hmac-sha256:") {
			t.Errorf("line %d: document %q, want its keyed form", i, doc)
		}
		if ts, _ := rec["time"].(string); !strings.HasSuffix(ts, "+09:00") {
			t.Errorf("line %d: time %q, not in Asia/Tokyo", i, ts)
		}
	}
	if lines[0]["document"] != lines[1]["document"] {
		t.Errorf("the keyed name changed between lines: %v, %v", lines[0]["document"], lines[1]["document"])
	}
	if strings.Contains(srv.Log.String(), `"msg":"job"`) {
		t.Error("job lines also went to the server log")
	}
}

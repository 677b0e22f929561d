package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/monitor"
)

// monitorPoll is the poll interval of the monitoring tests.
const monitorPoll = time.Second

// countingPrinter is an ippeveprinter whose job log reports each PDF's
// pages as the job's impressions, as a real printer's does.
func countingPrinter(t *testing.T) *testenv.Printer {
	t.Helper()
	return testenv.IPPEvePrinter(t, testenv.WithImpressions(t))
}

func withMonitoring(c *Config) {
	c.Monitoring.Enabled = true
	c.Monitoring.PollInterval = monitorPoll
}

// exported returns the events of the audit export (JSON Lines) that
// args select, as maps.
func exported(t *testing.T, cfg Config, args ...string) []map[string]any {
	t.Helper()
	out := runCLI(t, cfg, "", append([]string{"audit", "export", "--format", "jsonl"}, args...)...)
	var evs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// ofType keeps the events of type typ.
func ofType(evs []map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, ev := range evs {
		if ev["type"] == typ {
			out = append(out, ev)
		}
	}
	return out
}

func detail(ev map[string]any, key string) string {
	d, _ := ev["details"].(map[string]any)
	s, _ := d[key].(string)
	return s
}

// TestMonitorDeviceJobLog: a job printed straight to a device's printer
// with ipptool as mallory appears in the audit export as one
// device-job-observed event owned by mallory with its pages, within two
// poll intervals; a job released through printgate to the same printer is
// matched (device-job-matched on its own job, with the printer's count),
// not observed; a restart records neither again.
func TestMonitorDeviceJobLog(t *testing.T) {
	forEachDB(t, testMonitorDeviceJobLog)
}

func testMonitorDeviceJobLog(t *testing.T, dbURL string) {
	printer := countingPrinter(t)
	e := newReleaseEnvAt(t, dbURL, printer, withMonitoring)
	docs, err := filepath.Abs("../../testdata/ipptool")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := testenv.RunIpptool(t, docs, "-t", "-d", "requester=mallory", "-f", "document-a4.pdf",
		printer.URI, mustAbs(t, "testdata/monitor/print-as.test")); err != nil {
		t.Fatalf("ipptool: %v\n%s", err, out)
	}
	// From the printer's acceptance: it still counts the pages (a
	// script running pdfinfo) before the job completes, which a busy
	// machine can stretch to seconds; a monitor polling far slower than
	// its interval still shows.
	printed := time.Now()
	var observed []map[string]any
	testenv.WaitFor(t, "mallory's job in the export", func() bool {
		observed = ofType(exported(t, e.cfg, "--user", "mallory"), monitor.EventDeviceJobObserved)
		return len(observed) > 0
	})
	if took := time.Since(printed); took > 2*monitorPoll+5*time.Second {
		t.Errorf("the job was recorded %v after the printer took it, want within two poll intervals (%v) and its printing", took, 2*monitorPoll)
	}
	ev := observed[0]
	if len(observed) != 1 || ev["owner"] != "mallory" || detail(ev, "pages") != "2" || detail(ev, "source") != monitor.SourcePrinterLog ||
		detail(ev, "job_name") != "salaries-2026.pdf" || ev["printer"] != printer.URI {
		t.Fatalf("observed events %v, want one of mallory's with 2 pages from the printer log", observed)
	}

	// A release through printgate: matched, never observed.
	id := e.submit("bob", testdocs.PDF(3, "payslip", testdocs.A4))
	sess := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
	if code, out := e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id}}); code != http.StatusAccepted {
		t.Fatalf("release: HTTP %d %v", code, out)
	}
	e.waitState("mfp1", sess, id, "completed")
	var matched []map[string]any
	testenv.WaitFor(t, "the release matched in the printer's log", func() bool {
		matched = ofType(exported(t, e.cfg, "--type", monitor.EventDeviceJobMatched), monitor.EventDeviceJobMatched)
		return len(matched) > 0
	})
	if m := matched[0]; len(matched) != 1 || fmt.Sprint(m["job_id"]) != fmt.Sprint(id) || detail(m, "pages") != "3" {
		t.Errorf("matched events %v, want one on job %d with the printer's 3 pages", matched, id)
	}
	// The job's record has the printer's own count beside printgate's;
	// mallory's job has a record of its own, from the printer's log.
	records := func(when string) {
		t.Helper()
		var mine map[string]any
		for _, r := range exported(t, e.cfg, "--jobs") {
			if fmt.Sprint(r["job_id"]) == fmt.Sprint(id) {
				mine = r
			}
		}
		if mine == nil || mine["printer_impressions"] != 3.0 || mine["impressions"] != 3.0 || mine["source"] != nil {
			t.Errorf("%s: job %d's record %v, want the printer's 3 impressions", when, id, mine)
		}
		obs := exported(t, e.cfg, "--jobs", "--printed-without-printgate")
		if len(obs) != 1 || obs[0]["owner"] != "mallory" || obs[0]["source"] != monitor.SourcePrinterLog ||
			obs[0]["printer_impressions"] != 2.0 || obs[0]["job_id"] != nil {
			t.Errorf("%s: records printed without printgate %v, want mallory's 2 pages", when, obs)
		}
	}
	records("before the restart")
	check := func(when string) {
		t.Helper()
		all := exported(t, e.cfg)
		if obs := ofType(all, monitor.EventDeviceJobObserved); len(obs) != 1 {
			t.Errorf("%s: %d device-job-observed events, want mallory's only: %v", when, len(obs), obs)
		}
		if m := ofType(all, monitor.EventDeviceJobMatched); len(m) != 1 {
			t.Errorf("%s: %d device-job-matched events, want 1: %v", when, len(m), m)
		}
		if obs := exported(t, e.cfg, "--printed-without-printgate"); len(ofType(obs, monitor.EventDeviceJobObserved)) != 1 {
			t.Errorf("%s: --printed-without-printgate exports %v, want mallory's job", when, obs)
		}
	}
	check("before the restart")

	// A restart polls the same log again and records nothing twice.
	e.srv.Stop(t)
	restarted := time.Now()
	e.srv = startServer(t, e.cfg)
	db := openTestDB(t, e.srv)
	for polls := 0; polls < 2; polls++ {
		since := time.Now()
		testenv.WaitFor(t, "a poll after the restart", func() bool {
			var last time.Time
			db.Raw("SELECT MAX(last_poll) FROM monitor_printers").Row().Scan(&last)
			return last.After(since) && last.After(restarted)
		})
	}
	check("after the restart")
	records("after the restart")
	// The monitor's events are links of the chain like any other, and
	// the matched job's record still rebuilds from its events.
	e.srv.Stop(t)
	if out := runCLI(t, e.cfg, "", "audit", "verify"); !strings.HasPrefix(out, "OK:") || !strings.Contains(out, "job records match") {
		t.Errorf("audit verify:\n%s", out)
	}
}

func mustAbs(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPrinterCommands: printer add takes the SNMP community from standard
// input and never shows it; list shows the printer; a bad URI is refused
// with a message; remove removes it; adding and removing are audited.
func TestPrinterCommands(t *testing.T) {
	cfg := newConfig(t, "")
	const community = "s3cret-community"
	out := runCLI(t, cfg, community+"\n", "printer", "add", "lobby", "--uri", "ipp://10.0.0.5/ipp/print", "--snmp", "10.0.0.5")
	if !strings.Contains(out, "SNMP counter at 10.0.0.5:161") || strings.Contains(out, community) {
		t.Errorf("add: %s", out)
	}
	if out, err := tryCLI(t, cfg, "", "printer", "add", "bad", "--uri", "socket://10.0.0.5:9100"); err == nil ||
		!strings.Contains(err.Error(), "ipp://") {
		t.Errorf("a socket printer was added: %v %s", err, out)
	}
	if out := runCLI(t, cfg, "", "printer", "list"); !strings.Contains(out, "lobby") || strings.Contains(out, community) {
		t.Errorf("list: %s", out)
	}
	runCLI(t, cfg, "", "printer", "remove", "lobby")
	if out := runCLI(t, cfg, "", "printer", "list"); strings.Contains(out, "lobby") {
		t.Errorf("list after remove: %s", out)
	}
	evs := exported(t, cfg, "--type", "config-changed")
	if len(evs) != 2 || detail(evs[0], "printer-monitored") != "lobby" || detail(evs[1], "printer-unmonitored") != "lobby" {
		t.Errorf("audited %v", evs)
	}
	for _, ev := range exported(t, cfg) {
		if b, _ := json.Marshal(ev); strings.Contains(string(b), community) {
			t.Errorf("the community is in the audit trail: %s", b)
		}
	}
}

// TestPrinterSNMPv3: printer add reads an SNMPv3 user's passphrases
// from a file or standard input, never the command line; the running
// server reads the counter of the printer added with the right ones, and
// the printers page shows a clear error for the one added with a wrong
// authentication passphrase. No passphrase shows in the commands'
// output, the console, the server's log, the audit trail or the database.
func TestPrinterSNMPv3(t *testing.T) {
	const authPass, privPass, wrongPass = "pg-cli-v3-auth-2207", "pg-cli-v3-priv-7731", "pg-cli-v3-wrong-5150"
	agent := testenv.SNMPD(t, 31337, testenv.SNMPv3User{Name: "pgmon", AuthProto: "SHA-256", AuthPass: authPass,
		PrivProto: "AES", PrivPass: privPass})
	printer := testenv.IPPEvePrinter(t)
	cfg := newConfig(t, "")
	withMonitoring(&cfg)
	runCLI(t, cfg, "alice-secret\n", "user", "add", "alice", "--role", "admin")
	file := filepath.Join(t.TempDir(), "snmp-passphrases")
	if err := os.WriteFile(file, []byte(authPass+"\n"+privPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	out.WriteString(runCLI(t, cfg, "", "printer", "add", "good", "--uri", printer.URI, "--snmp", agent.Addr,
		"--snmp-user", "pgmon", "--snmp-auth", "SHA-256", "--snmp-priv", "AES", "--snmp-passphrase-file", file))
	out.WriteString(runCLI(t, cfg, wrongPass+"\n"+privPass+"\n", "printer", "add", "bad", "--uri",
		strings.Replace(printer.URI, "127.0.0.1", "localhost", 1), "--snmp", agent.Addr, "--snmp-user", "pgmon"))
	if _, err := tryCLI(t, cfg, authPass+"\n", "printer", "add", "short", "--uri", printer.URI, "--snmp", agent.Addr,
		"--snmp-user", "pgmon"); err == nil || !strings.Contains(err.Error(), "privacy passphrase") || strings.Contains(err.Error(), authPass) {
		t.Errorf("one line for two passphrases: %v", err)
	}
	if s := out.String(); !strings.Contains(s, "SNMPv3 counter at "+agent.Addr+" as pgmon") {
		t.Errorf("printer add said:\n%s", s)
	}
	srv := startServer(t, cfg)
	db := openTestDB(t, srv)
	var counter int64
	var lastError string
	testenv.WaitFor(t, "the counter read over SNMPv3, and the wrong passphrase's error", func() bool {
		db.Raw("SELECT counter FROM monitor_printers WHERE name = 'good'").Row().Scan(&counter)
		db.Raw("SELECT last_error FROM monitor_printers WHERE name = 'bad'").Row().Scan(&lastError)
		return counter == 31337 && lastError != ""
	})
	if !strings.Contains(lastError, "SNMPv3 authentication failed") {
		t.Errorf("last error of the wrong passphrase: %q", lastError)
	}
	admin := signInConsole(t, srv, "alice", "alice-secret")
	code, page := admin.get("/admin/printers")
	if code != http.StatusOK || !strings.Contains(page, "SNMPv3 authentication failed") {
		t.Errorf("printers page: HTTP %d, no SNMPv3 error shown:\n%s", code, page)
	}
	out.WriteString(runCLI(t, cfg, "", "printer", "list"))
	srv.Stop(t)
	var dump strings.Builder
	for _, q := range []string{"SELECT snmp_keys || snmp_community || last_error FROM monitor_printers",
		"SELECT COALESCE(details, '') FROM audit_events"} {
		rows, err := db.Raw(q).Rows()
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			rows.Scan(&s)
			dump.WriteString(s + "\n")
		}
		rows.Close()
	}
	for _, secret := range []string{authPass, privPass, wrongPass} {
		for where, text := range map[string]string{"command output": out.String(), "printers page": page,
			"server log": srv.Log.String(), "database": dump.String()} {
			if strings.Contains(text, secret) {
				t.Errorf("a passphrase is in the %s", where)
			}
		}
	}
}

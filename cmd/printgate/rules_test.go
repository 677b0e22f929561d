package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/rules"
)

// printerJobs asks an ippeveprinter, with Get-Jobs, for the options of
// the jobs it has completed, by job name.
func printerJobs(t *testing.T, p *testenv.Printer) map[string]goipp.Attributes {
	t.Helper()
	r := ippDo(t, p.URI, ippRequest(goipp.OpGetJobs, p.URI, "auditor", keywordVal("which-jobs", "completed"),
		keywordVal("requested-attributes", "job-name", "job-originating-user-name", "print-color-mode", "sides")), nil)
	if status(r) != goipp.StatusOk {
		t.Fatalf("Get-Jobs at the printer: %s", status(r))
	}
	out := map[string]goipp.Attributes{}
	for _, g := range jobGroups(r) {
		out[attrValue(g, "job-name")] = g
	}
	return out
}

// ruleDetails returns the "rules" detail of each of the job's events, by
// event type.
func ruleDetails(t *testing.T, cfg Config, id int64) (map[string]string, []audit.Event) {
	t.Helper()
	st := openStackT(t, cfg)
	evs, err := st.audit.Timeline(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, ev := range evs {
		if v, ok := ev.Details["rules"]; ok {
			out[ev.Type] = v
		}
	}
	if rep, err := st.audit.Verify(t.Context(), 0, 0); err != nil || !rep.OK() {
		t.Errorf("chain does not verify: %+v %v", rep, err)
	}
	return out, evs
}

// TestRulesForceAtPrinter: a queue that forces monochrome and two-sided
// sends a job asked for in colour, one-sided, as monochrome two-sided
// long edge: the printer's own record of the job says so, and the job's
// released and printed events name the rules.
func TestRulesForceAtPrinter(t *testing.T) {
	duplex := testenv.IPPEvePrinter(t, testenv.WithDuplex())
	e := newReleaseEnv(t, "", func(c *Config) {
		c.Queues[0].Rules = rules.Config{ForceMonochrome: true, ForceTwoSided: true}
	})
	e.printer = duplex
	e.addDevice("duplex", "card")
	r := submitTo(t, e.srv, "secure", "bob", "payslip", "application/pdf", testdocs.PDF(2, "forced", testdocs.A4),
		keywordVal("print-color-mode", "color"), keywordVal("sides", "one-sided"))
	id, _ := strconv.ParseInt(attrValue(r.Job, "job-id"), 10, 64)
	sess := e.login("duplex", map[string]string{"card": "04A1B2C3"})
	if code, out := e.call("duplex", http.MethodPost, "/release/sessions/"+sess+"/release",
		map[string]any{"jobs": []int64{id}}); code != http.StatusAccepted {
		t.Fatalf("release: HTTP %d %v", code, out)
	}
	e.waitState("duplex", sess, id, "completed")

	job, ok := printerJobs(t, duplex)["payslip"]
	if !ok {
		t.Fatalf("the printer has no completed job named payslip: %v", printerJobs(t, duplex))
	}
	if c, s := attrValue(job, "print-color-mode"), attrValue(job, "sides"); c != "monochrome" || s != "two-sided-long-edge" {
		t.Errorf("the printer printed the job %s, %s; want monochrome, two-sided-long-edge", c, s)
	}
	got, evs := ruleDetails(t, e.cfg, id)
	if sub := evs[0].Job; sub.ColorMode != "color" || sub.Sides != "one-sided" {
		t.Errorf("the job was submitted %s, %s; want color, one-sided", sub.ColorMode, sub.Sides)
	}
	want := "force_monochrome,force_two_sided"
	if got[audit.EventReleased] != want || got[audit.EventPrinted] != want {
		t.Errorf("rules recorded on the events: %v, want %q on released and printed", got, want)
	}
	// The console's job page shows them.
	_, page := signInConsole(t, e.srv, "alice", "alice-secret").get(fmt.Sprintf("/admin/jobs/%d", id))
	if !strings.Contains(page, `id="job-rules"`) ||
		!strings.Contains(page, "Force monochrome") || !strings.Contains(page, "Force two-sided") {
		t.Errorf("the job page does not show the rules applied")
	}
}

// TestRulesForcedOptionNotDropped: a printer that cannot print two-sided
// cannot honour the forced option; the job is held again with the reason
// rather than printed one-sided.
func TestRulesForcedOptionNotDropped(t *testing.T) {
	e := newReleaseEnv(t, "", func(c *Config) { c.Queues[0].Rules = rules.Config{ForceTwoSided: true} })
	id := e.submit("bob", testdocs.PDF(1, "simplex printer", testdocs.A4))
	sess := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
	e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id}})
	var out map[string]any
	testenv.WaitFor(t, "the print to end", func() bool {
		_, out = e.call("mfp1", http.MethodGet, fmt.Sprintf("/release/sessions/%s/jobs/%d", sess, id), nil)
		return out["state"] == "pending-held" || out["state"] == "completed"
	})
	// printgate knows the printer prints one side only and a forced
	// option is never given up (release.policyFor): held again, saying so.
	if out["state"] != "pending-held" || out["state_reason"] != "sides-not-supported" {
		t.Errorf("the print ended %v (%v), want held again with sides-not-supported", out["state"], out["state_reason"])
	}
	if n := len(e.received()); n != 0 {
		t.Errorf("the printer received %d documents", n)
	}
}

// submitTo prints doc to queue as user, as job name, with job template
// attributes tmpl, and returns the reply.
func submitTo(t *testing.T, srv *testServer, queue, user, name, format string, doc []byte, tmpl ...goipp.Attribute) *goipp.Message {
	t.Helper()
	uri := srv.PrinterURI(queue)
	m := ippRequest(goipp.OpPrintJob, uri, user, nameVal("job-name", name), mimeVal(format))
	if len(tmpl) > 0 {
		m.Job = tmpl
	}
	return ippDo(t, uri, m, doc)
}

// TestRulesRefuseAtSubmission: jobs over a queue's page limit (copies
// included), in a format its rules do not allow, outside its hours or on
// a day it does not print are refused with the IPP status that fits and a
// message naming the rule; nothing of them is stored, and each refusal is
// an audit event. A job within the rules prints as before.
func TestRulesRefuseAtSubmission(t *testing.T) {
	tokyo, _ := time.LoadLocation(defaultConfig().Audit.TimeZone)
	clock := testenv.NewClockAt(time.Now())
	now := clock.Now().In(tokyo)
	// A window that opens in two hours, and every day but today.
	from := now.Add(2 * time.Hour)
	hours := from.Format("15:04") + "-" + from.Add(time.Hour).Format("15:04")
	var otherDays []string
	for d := range 7 {
		if time.Weekday(d) != now.Weekday() {
			otherDays = append(otherDays, strings.ToLower(time.Weekday(d).String()[:3]))
		}
	}
	cfg := newConfig(t, "",
		QueueConfig{Name: "secure", Rules: rules.Config{MaxPages: 3, Formats: []string{"application/pdf"}}},
		QueueConfig{Name: "timed", Rules: rules.Config{Hours: hours}},
		QueueConfig{Name: "weekly", Rules: rules.Config{Weekdays: otherDays}})
	srv := startServer(t, cfg, func(a *app) { a.now = clock.Now })

	for _, tc := range []struct {
		name, queue, format string
		doc                 []byte
		extra               []goipp.Attribute
		status              goipp.Status
		rule, msg           string
	}{
		{"within the rules", "secure", "application/pdf", testdocs.PDF(3, "ok", testdocs.A4), nil, goipp.StatusOk, "", ""},
		{"too many pages", "secure", "application/pdf", testdocs.PDF(4, "long", testdocs.A4), nil,
			goipp.StatusErrorNotPossible, rules.MaxPages, "This queue allows at most 3 pages per job; this job has 4 (rule max_pages)."},
		{"copies count", "secure", "application/pdf", testdocs.PDF(2, "copies", testdocs.A4), []goipp.Attribute{intVal("copies", 2)},
			goipp.StatusErrorNotPossible, rules.MaxPages, "this job has 4 (rule max_pages)"},
		{"format not allowed", "secure", "image/jpeg", testdocs.JPEG(32, 32), nil,
			goipp.StatusErrorDocumentFormatNotSupported, rules.Formats, "This queue accepts only application/pdf documents, not image/jpeg (rule formats)."},
		{"outside the hours", "timed", "application/pdf", testdocs.PDF(1, "early", testdocs.A4), nil,
			goipp.StatusErrorNotPossible, rules.Hours, "This queue accepts jobs only during " + hours + " (Asia/Tokyo); it is " + now.Format("15:04") + " now (rule hours)."},
		{"not today", "weekly", "application/pdf", testdocs.PDF(1, "today", testdocs.A4), nil,
			goipp.StatusErrorNotPossible, rules.Weekdays, "(rule weekdays)"},
	} {
		r := submitTo(t, srv, tc.queue, "bob", tc.name, tc.format, tc.doc, tc.extra...)
		msg := attrValue(r.Operation, "status-message")
		if status(r) != tc.status || (tc.msg != "" && !strings.Contains(msg, tc.msg)) {
			t.Errorf("%s: %s %q, want %s %q", tc.name, status(r), msg, tc.status, tc.msg)
		}
		if tc.rule != "" && attrValue(r.Job, "job-id") != "" {
			t.Errorf("%s: refused, yet a job-id came back", tc.name)
		}
	}
	// A document sent with Send-Document is under the same rules.
	uri := srv.PrinterURI("secure")
	r := ippDo(t, uri, ippRequest(goipp.OpCreateJob, uri, "bob", nameVal("job-name", "created")), nil)
	created, _ := strconv.Atoi(attrValue(r.Job, "job-id"))
	r = ippDo(t, uri, ippRequest(goipp.OpSendDocument, uri, "bob", intVal("job-id", created),
		mimeVal("application/pdf"), boolVal("last-document", true)), testdocs.PDF(5, "sent later", testdocs.A4))
	if msg := attrValue(r.Operation, "status-message"); status(r) != goipp.StatusErrorNotPossible ||
		!strings.Contains(msg, "this job has 5 (rule max_pages)") {
		t.Errorf("Send-Document over the limit: %s %q", status(r), msg)
	}
	// Within the hours the same job is taken.
	clock.Advance(2*time.Hour + time.Minute)
	if r := submitTo(t, srv, "timed", "bob", "in time", "application/pdf", testdocs.PDF(1, "in time", testdocs.A4)); status(r) != goipp.StatusOk {
		t.Errorf("within the hours: %s %q", status(r), attrValue(r.Operation, "status-message"))
	}

	db := openTestDB(t, srv)
	var jobs int64
	db.Model(&release.Job{}).Where("spool <> ''").Count(&jobs)
	if jobs != 2 {
		t.Errorf("%d jobs stored with a document, want the 2 accepted", jobs)
	}
	if docs := documents(srv.Config); len(docs) != 2 {
		t.Errorf("documents stored: %v, want the 2 accepted", docs)
	}
	var refused []struct{ Reason, Queue, Owner string }
	db.Raw("SELECT reason, queue, owner FROM audit_events WHERE type = ? ORDER BY seq", release.EventRefusedByRule).Scan(&refused)
	if got := fmt.Sprint(refused); got != "[{max_pages secure bob} {max_pages secure bob} {formats secure bob} {hours timed bob} {weekdays weekly bob} {max_pages secure bob}]" {
		t.Errorf("refusals audited: %s", got)
	}
}

// TestRulesByGroup: with an LDAP directory, the rules of a group apply to
// its members only, on top of the queue's: carol (print-auditors) may
// print one page and only in monochrome, bob prints as he asks. A real
// slapd says who is in the group.
func TestRulesByGroup(t *testing.T) {
	// A colour printer: a monochrome one prints bob's job in black and
	// white, recorded (release.honour).
	printer := testenv.IPPEvePrinter(t, testenv.WithColor())
	cfg := newConfig(t, "", QueueConfig{Name: "direct", Mode: release.Direct, Printer: printer.URI})
	l := testenv.Slapd(t)
	cfg.Directory = slapdDirectory(l, directory.LDAPAttributes{})
	cfg.Directory.LDAP.Timeout = 2 * time.Second
	cfg.RulesByGroup = []rules.GroupConfig{{Group: testenv.LDAPAuditorsGroup,
		Config: rules.Config{MaxPages: 1, ForceMonochrome: true}}}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, cfg)
	color := keywordVal("print-color-mode", "color")

	r := submitTo(t, srv, "direct", "carol", "two pages", "application/pdf", testdocs.PDF(2, "two", testdocs.A4), color)
	want := "Members of group " + testenv.LDAPAuditorsGroup + " may print at most 1 page per job; this job has 2 (rule max_pages)."
	if msg := attrValue(r.Operation, "status-message"); status(r) != goipp.StatusErrorNotPossible || msg != want {
		t.Errorf("carol's two pages: %s %q, want not-possible %q", status(r), msg, want)
	}
	for _, u := range []string{"carol", "bob"} {
		pages := map[string]int{"carol": 1, "bob": 2}[u]
		r := submitTo(t, srv, "direct", u, u+"-job", "application/pdf", testdocs.PDF(pages, u, testdocs.A4), color)
		if status(r) != goipp.StatusOk {
			t.Fatalf("%s's job: %s %q", u, status(r), attrValue(r.Operation, "status-message"))
		}
		id, _ := strconv.ParseInt(attrValue(r.Job, "job-id"), 10, 64)
		testenv.WaitFor(t, u+"'s job to print", func() bool {
			_, ok := printerJobs(t, printer)[u+"-job"]
			return ok
		})
		wantMode := map[string]string{"carol": "monochrome", "bob": "color"}[u]
		if got := attrValue(printerJobs(t, printer)[u+"-job"], "print-color-mode"); got != wantMode {
			t.Errorf("%s's job printed in %q, want %q", u, got, wantMode)
		}
		testenv.WaitFor(t, u+"'s job to complete", func() bool {
			_, evs := ruleDetails(t, cfg, id)
			return len(evs) > 0 && evs[len(evs)-1].Type == audit.EventDocumentDestroyed
		})
		got, _ := ruleDetails(t, cfg, id)
		if wantRules := map[string]string{"carol": "force_monochrome"}[u]; got[audit.EventPrinted] != wantRules {
			t.Errorf("%s's printed event records rules %q, want %q", u, got[audit.EventPrinted], wantRules)
		}
	}
}

// TestRulesByGroupDirectoryDown: while the directory cannot say who is in
// a group with rules, a submission is refused as unavailable (the client
// tries again) rather than printed without the group's rules.
func TestRulesByGroupDirectoryDown(t *testing.T) {
	cfg := newConfig(t, "", QueueConfig{Name: "secure"})
	cfg.Directory = DirectoryConfig{Type: "ldap", LDAP: directory.LDAPConfig{
		URL: "ldap://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)), BindDN: "cn=svc,dc=example,dc=com",
		BindPassword: "x", BaseDN: "dc=example,dc=com", Timeout: time.Second}}
	cfg.RulesByGroup = []rules.GroupConfig{{Group: "cn=interns,dc=example,dc=com", Config: rules.Config{MaxPages: 10}}}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, cfg)
	r := submitTo(t, srv, "secure", "bob", "down", "application/pdf", testdocs.PDF(1, "down", testdocs.A4))
	if status(r) != goipp.StatusErrorServiceUnavailable {
		t.Errorf("with the directory down: %s %q, want server-error-service-unavailable", status(r), attrValue(r.Operation, "status-message"))
	}
	if docs := documents(srv.Config); len(docs) != 0 {
		t.Errorf("documents stored: %v", docs)
	}
}

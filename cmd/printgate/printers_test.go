package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// addDeviceAt registers a device whose printer is uri.
func (e *releaseEnv) addDeviceAt(name, uri string) {
	e.t.Helper()
	out := runCLI(e.t, e.cfg, "", "device", "add", name, "--printer", uri, "--queue", "secure", "--auth", "card,id+pin")
	m := tokenLine.FindStringSubmatch(out)
	if m == nil {
		e.t.Fatalf("device add printed no token:\n%s", out)
	}
	e.devices[name] = m[1]
}

// submitWith prints doc as user with job template attributes.
func (e *releaseEnv) submitWith(user string, doc []byte, job ...goipp.Attribute) int64 {
	e.t.Helper()
	uri := e.srv.PrinterURI("secure")
	m := ippRequest(goipp.OpPrintJob, uri, user, nameVal("job-name", "payslip"), mimeVal("application/pdf"))
	for _, a := range job {
		m.Job.Add(a)
	}
	r := ippDo(e.t, uri, m, doc)
	if status(r) != goipp.StatusOk {
		e.t.Fatalf("Print-Job: %s", status(r))
	}
	id, _ := strconv.ParseInt(attrValue(r.Job, "job-id"), 10, 64)
	return id
}

// timeline returns the audit events of job id.
func (e *releaseEnv) timeline(id int64) []audit.Event {
	e.t.Helper()
	st := openStackT(e.t, e.cfg)
	events, err := st.audit.Timeline(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return events
}

// claimed returns the columns a claim sets of job id, straight from the
// database: its state, the device and printer it was released to, and
// whether it was ever processed.
func (e *releaseEnv) claimed(id int64) (state, device, printer string, processed bool) {
	e.t.Helper()
	var row struct {
		State, Device, Printer string
		ProcessedAt            *time.Time
	}
	openTestDB(e.t, e.srv).Raw("SELECT state, device, printer, processed_at FROM jobs WHERE id = ?", id).Scan(&row)
	return row.State, row.Device, row.Printer, row.ProcessedAt != nil
}

// askEveryTime makes every release ask the printer: the cache's answer
// from start-up must not decide a test that stops the printer.
func askEveryTime(c *Config) { c.Release.PrinterFresh = time.Millisecond }

// TestReleaseToUnavailablePrinter: a release to a printer that is switched
// off, or to a CUPS queue an operator stopped, answers 409 with the
// printer's own words and claims nothing: the job stays held, unclaimed,
// and the audit trail records the refused attempt and no release.
func TestReleaseToUnavailablePrinter(t *testing.T) {
	e := newReleaseEnv(t, "", askEveryTime)
	cups := testenv.CUPS(t)
	cups.AddEverywhereQueue(t, "front", e.printer.URI)
	front := "ipp://" + cups.Server + "/printers/front"
	e.addDeviceAt("cups-front", front)
	frontAttr := func(name string) string {
		r := ippDo(t, front, ippRequest(goipp.OpGetPrinterAttributes, front, "", keywordVal("requested-attributes", name)), nil)
		return attrValue(r.Printer, name)
	}
	// cupsd sets a driverless queue up in the background and starts it
	// when done: stop it only after that, as an operator would.
	testenv.WaitFor(t, "cupsd to set the queue up", func() bool { return frontAttr("printer-make-and-model") != "Local Raw Printer" })
	if out, err := cups.Run(t, "cupsdisable", "-r", "paper jam", "front"); err != nil {
		t.Fatalf("cupsdisable: %v\n%s", err, out)
	}
	testenv.WaitFor(t, "cupsd to show the queue stopped", func() bool { return frontAttr("printer-state") == "5" })
	doc := testdocs.PDF(1, "unavailable printer", testdocs.A4)

	t.Run("stopped", func(t *testing.T) {
		e.t = t
		id := e.submit("bob", doc)
		sess := e.login("cups-front", map[string]string{"card": "04A1B2C3"})
		code, out := e.call("cups-front", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id}})
		if code != http.StatusConflict || out["reason"] != "printer-unavailable" || out["printer_state"] != "stopped" ||
			out["why"] != "printer-stopped" || !slices.Contains(out["printer_state_reasons"].([]any), any("paused")) ||
			out["printer_reachable"] != true {
			t.Fatalf("release to a stopped queue: HTTP %d %v", code, out)
		}
		e.checkNotClaimed(t, "cups-front", sess, id)
	})

	t.Run("unreachable", func(t *testing.T) {
		e.t = t
		id := e.submit("bob", doc)
		sess := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
		e.printer.Stop()
		code, out := e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"all": true})
		if code != http.StatusConflict || out["reason"] != "printer-unavailable" || out["printer_reachable"] != false ||
			out["why"] != "printer-unreachable" {
			t.Fatalf("release to a printer switched off: HTTP %d %v", code, out)
		}
		if msg, _ := out["message"].(string); msg == "" {
			t.Error("no message for the panel")
		}
		e.checkNotClaimed(t, "mfp1", sess, id)
		e.printer.Start()
		e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id}})
		e.waitState("mfp1", sess, id, "completed")
	})
}

// checkNotClaimed checks that job id is held, unclaimed, with no claim in
// its audit events and the refused attempt recorded.
func (e *releaseEnv) checkNotClaimed(t *testing.T, device, sess string, id int64) {
	t.Helper()
	if _, out := e.call(device, http.MethodGet, fmt.Sprintf("/release/sessions/%s/jobs/%d", sess, id), nil); out["state"] != "pending-held" {
		t.Errorf("job after the refused release: %v", out)
	}
	if state, dev, printer, processed := e.claimed(id); state != "pending-held" || dev != "" || printer != "" || processed {
		t.Errorf("job row: state %q device %q printer %q processed %v, want held and never claimed", state, dev, printer, processed)
	}
	var refused bool
	for _, ev := range e.timeline(id) {
		switch {
		case ev.Type == audit.EventReleased || ev.Type == audit.EventReleaseAttempt && ev.Outcome != "refused":
			t.Errorf("event %s (%s) for a release that was refused", ev.Type, ev.Outcome)
		case ev.Type == audit.EventReleaseAttempt && ev.Reason == "printer-unavailable" && ev.Device == device &&
			ev.Details["printer_state"] != "":
			refused = true
		}
	}
	if !refused {
		t.Error("the refused release is not in the audit trail")
	}
}

// printerJobList returns the completed jobs of an ippeveprinter with the
// options it printed them with.
func printerJobList(t *testing.T, p *testenv.Printer) []goipp.Attributes {
	t.Helper()
	r := ippDo(t, p.URI, ippRequest(goipp.OpGetJobs, p.URI, "", keywordVal("which-jobs", "completed"),
		keywordVal("requested-attributes", "job-id", "job-name", "sides", "print-color-mode", "copies")), nil)
	if status(r) != goipp.StatusOk {
		t.Fatalf("Get-Jobs at the printer: %s", status(r))
	}
	return jobGroups(r)
}

// TestReleaseHonoursOptions: a two-sided colour payslip released at a
// one-sided monochrome printer prints one-sided in black and white, as
// the printer's own job attributes show, and the audit event of the print
// says so; at a two-sided colour printer it prints as asked, with nothing
// recorded as changed.
func TestReleaseHonoursOptions(t *testing.T) {
	e := newReleaseEnv(t, "", nil)
	office := testenv.IPPEvePrinter(t, testenv.WithDuplex(), testenv.WithColor())
	e.addDeviceAt("office", office.URI)
	e.awaitAdvertised("office", "sides-supported", "two-sided-long-edge")
	asked := []goipp.Attribute{keywordVal("sides", "two-sided-long-edge"), keywordVal("print-color-mode", "color")}

	for _, tc := range []struct {
		device            string
		printer           *testenv.Printer
		sides, colorMode  string
		downgraded, sided string
	}{
		{"mfp1", e.printer, "one-sided", "monochrome", "sides,print-color-mode", "two-sided-long-edge -> one-sided"},
		{"office", office, "two-sided-long-edge", "color", "", ""},
	} {
		t.Run(tc.device, func(t *testing.T) {
			e.t = t
			doc := testdocs.PDF(2, "payslip at "+tc.device, testdocs.A4)
			id := e.submitWith("bob", doc, asked...)
			sess := e.login(tc.device, map[string]string{"card": "04A1B2C3"})
			code, out := e.call(tc.device, http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id}})
			if code != http.StatusAccepted {
				t.Fatalf("release: HTTP %d %v", code, out)
			}
			e.waitState(tc.device, sess, id, "completed")

			jobs := printerJobList(t, tc.printer)
			if len(jobs) == 0 {
				t.Fatal("the printer lists no completed job")
			}
			last := jobs[0]
			for _, j := range jobs {
				if n, _ := strconv.Atoi(attrValue(j, "job-id")); n > mustAtoi(attrValue(last, "job-id")) {
					last = j
				}
			}
			if got := attrValue(last, "sides"); got != tc.sides {
				t.Errorf("the printer printed sides %q, want %q", got, tc.sides)
			}
			if got := attrValue(last, "print-color-mode"); got != tc.colorMode {
				t.Errorf("the printer printed print-color-mode %q, want %q", got, tc.colorMode)
			}

			var released *audit.Event
			for _, ev := range e.timeline(id) {
				if ev.Type == audit.EventReleased {
					released = &ev
				}
			}
			if released == nil {
				t.Fatal("no released event")
			}
			if got := released.Details["downgraded"]; got != tc.downgraded {
				t.Errorf("released event: downgraded %q, want %q (details %v)", got, tc.downgraded, released.Details)
			}
			if got := released.Details["sides"]; got != tc.sided {
				t.Errorf("released event: sides %q, want %q", got, tc.sided)
			}
			if !slices.Contains(e.received(), sha256.Sum256(doc)) && tc.printer == e.printer {
				t.Error("the printer did not receive the document")
			}
		})
	}
}

// awaitAdvertised has device's printer asked (a user lists their jobs
// there) and waits until the queue advertises value in attr: a queue
// offers what its printers do.
func (e *releaseEnv) awaitAdvertised(device, attr, value string) {
	e.t.Helper()
	sess := e.login(device, map[string]string{"card": "04A1B2C3"})
	e.call(device, http.MethodGet, "/release/sessions/"+sess+"/jobs", nil)
	uri := e.srv.PrinterURI("secure")
	testenv.WaitFor(e.t, "the queue to advertise "+attr+" "+value, func() bool {
		return slices.Contains(values(printerAttrs(e.t, uri), attr), value)
	})
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// TestReleaseRefusesOption: with release.unsupported_options.sides:
// refuse, a two-sided job is not released at a one-sided printer: the
// release names the problem, the job stays held and unclaimed, and the
// printer receives nothing.
func TestReleaseRefusesOption(t *testing.T) {
	e := newReleaseEnv(t, "", func(c *Config) { c.Release.UnsupportedOptions.Sides = "refuse" })
	// The queue takes two-sided jobs because another of its printers
	// prints them.
	e.addDeviceAt("office", testenv.IPPEvePrinter(t, testenv.WithDuplex()).URI)
	e.awaitAdvertised("office", "sides-supported", "two-sided-short-edge")
	id := e.submitWith("bob", testdocs.PDF(1, "duplex only", testdocs.A4), keywordVal("sides", "two-sided-short-edge"))
	other := e.submit("bob", testdocs.PDF(1, "simplex", testdocs.A4))
	sess := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
	code, out := e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id, other}})
	if code != http.StatusAccepted {
		t.Fatalf("release: HTTP %d %v", code, out)
	}
	problems := map[int64]string{}
	for _, j := range out["jobs"].([]any) {
		m := j.(map[string]any)
		p, _ := m["problem"].(string)
		problems[int64(m["id"].(float64))] = p
	}
	if problems[id] != "sides-not-supported" || problems[other] != "" {
		t.Fatalf("problems %v, want sides-not-supported for job %d only", problems, id)
	}
	e.waitState("mfp1", sess, other, "completed")
	if state, dev, _, processed := e.claimed(id); state != "pending-held" || dev != "" || processed {
		t.Errorf("refused job: state %q device %q processed %v, want held and never claimed", state, dev, processed)
	}
	if n := len(e.printer.Files()); n != 1 {
		t.Errorf("the printer received %d documents, want only the other job", n)
	}
	var refused bool
	for _, ev := range e.timeline(id) {
		refused = refused || ev.Type == audit.EventReleaseAttempt && ev.Outcome == "refused" && ev.Reason == "sides-not-supported"
	}
	if !refused {
		t.Error("the refused option is not in the audit trail")
	}
}

// TestPrintFailsAfterCheck: the printer answered a moment ago, so the
// release goes ahead, but it is gone when the document is sent: the job
// is held again with the reason, the print-failed event names it, and it
// prints once the printer is back.
func TestPrintFailsAfterCheck(t *testing.T) {
	e := newReleaseEnv(t, "", func(c *Config) { c.Release.PrinterFresh = time.Hour; c.Release.PrinterRefresh = time.Hour })
	sess := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
	first := e.submit("bob", testdocs.PDF(1, "first", testdocs.A4))
	e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{first}})
	e.waitState("mfp1", sess, first, "completed")

	doc := testdocs.PDF(2, "second", testdocs.A4)
	id := e.submit("bob", doc)
	e.printer.Stop()
	if code, out := e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id}}); code != http.StatusAccepted {
		t.Fatalf("release with the printer's answer fresh: HTTP %d %v", code, out)
	}
	held := e.waitState("mfp1", sess, id, "pending-held")
	if held["state_reason"] != "printer-unreachable" || held["message"] == "" {
		t.Errorf("held again with %v", held)
	}
	events := e.timeline(id)
	if last := events[len(events)-1]; last.Type != audit.EventPrintFailed || last.Reason != "printer-unreachable" {
		t.Errorf("last event %s (%s), want print-failed", last.Type, last.Reason)
	}
	e.printer.Start()
	e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id}})
	e.waitState("mfp1", sess, id, "completed")
	n := 0
	for _, h := range e.received() {
		if h == sha256.Sum256(doc) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("printer received the document %d times, want once", n)
	}
}

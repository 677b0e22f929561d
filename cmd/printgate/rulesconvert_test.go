package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/audit/pages"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release/rules"
)

// lastFile returns the last document p received, after it had before.
func lastFile(t *testing.T, p *testenv.Printer, before int) []byte {
	t.Helper()
	files := p.Files()
	if len(files) != before+1 {
		t.Fatalf("the printer holds %d documents, want %d", len(files), before+1)
	}
	b, err := os.ReadFile(files[len(files)-1])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// releaseAndWait releases job id at device as bob and waits for the
// print to end; the test fails unless the job was released and printed.
func (e *releaseEnv) releaseAndWait(device string, id int64) {
	e.t.Helper()
	sess := e.login(device, map[string]string{"card": "04A1B2C3"})
	code, out := e.call(device, http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id}})
	if code != http.StatusAccepted {
		e.t.Fatalf("release: HTTP %d %v", code, out)
	}
	if jobs, _ := out["jobs"].([]any); len(jobs) != 1 || jobs[0].(map[string]any)["problem"] != nil {
		e.t.Fatalf("release: %v", out)
	}
	testenv.WaitFor(e.t, "the print to end", func() bool {
		_, out = e.call(device, http.MethodGet, fmt.Sprintf("/release/sessions/%s/jobs/%d", sess, id), nil)
		// Held, it says so before the release starts: wait for a reason.
		return out["state"] == "completed" || out["state"] == "pending-held" && out["state_reason"] != "job-hold-until-specified"
	})
	if out["state"] != "completed" {
		e.t.Fatalf("the print ended %v: %v (%v)", out["state"], out["state_reason"], out["state_message"])
	}
}

// details returns the detail key of the job's events that have it, by
// event type.
func details(events []audit.Event, key string) map[string]string {
	out := map[string]string{}
	for _, ev := range events {
		if v, ok := ev.Details[key]; ok {
			out[ev.Type] = v
		}
	}
	return out
}

// TestRulesHoldOnContent: on a queue that forces monochrome and
// two-sided, a PostScript job that sets its own device (one-sided, RGB,
// pages in saturated colour) reaches a colour duplex printer rewritten:
// as PDF that renders without cyan, magenta or yellow, with the printer's
// job monochrome and two-sided; the print's events say the content was
// converted for the rules. Documents whose own settings printgate cannot
// take out (PCL, PWG raster) are refused at submission naming the rule.
func TestRulesHoldOnContent(t *testing.T) {
	testenv.Tool(t, "gs")
	printer := testenv.IPPEvePrinter(t, testenv.WithDuplex(), testenv.WithColor())
	e := newReleaseEnv(t, "", func(c *Config) {
		c.Queues[0].Rules = rules.Config{ForceMonochrome: true, ForceTwoSided: true}
		c.Queues[0].Formats = append(c.Queues[0].Formats, "application/postscript", "application/vnd.hp-pcl", "image/pwg-raster")
	})
	e.addDeviceAt("office", printer.URI)

	doc := testdocs.DefiantPS(3)
	if cov := testenv.InkCoverage(t, doc); len(cov) != 3 || cov[0][0]+cov[0][1]+cov[0][2] == 0 {
		t.Fatalf("the test document renders %v; want colour on 3 pages", cov)
	}
	uri := e.srv.PrinterURI("secure")
	r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "bob", nameVal("job-name", "defiant"),
		mimeVal("application/postscript"), keywordVal("print-color-mode", "color"), keywordVal("sides", "one-sided")), doc)
	if status(r) != goipp.StatusOk {
		t.Fatalf("Print-Job: %s %q", status(r), attrValue(r.Operation, "status-message"))
	}
	id, _ := strconv.ParseInt(attrValue(r.Job, "job-id"), 10, 64)
	e.releaseAndWait("office", id)

	got := lastFile(t, printer, 0)
	if !bytes.HasPrefix(got, []byte("%PDF-")) {
		t.Errorf("the printer received %q…, not the document rewritten as PDF", got[:min(len(got), 8)])
	}
	cov := testenv.InkCoverage(t, got)
	if len(cov) != 3 {
		t.Fatalf("the printed document has %d pages, want 3", len(cov))
	}
	for i, p := range cov {
		if p[0]+p[1]+p[2] != 0 || p[3] == 0 {
			t.Errorf("printed page %d covers CMYK %v; want black only", i+1, p)
		}
	}
	job := printerJobs(t, printer)["defiant"]
	if c, s := attrValue(job, "print-color-mode"), attrValue(job, "sides"); c != "monochrome" || s != "two-sided-long-edge" {
		t.Errorf("the printer's job is %s, %s; want monochrome, two-sided-long-edge", c, s)
	}
	evs := e.timeline(id)
	want := "force_monochrome,force_two_sided"
	if got := details(evs, "rules_converted")[audit.EventReleased]; got != want {
		t.Errorf("the released event records rules_converted %q, want %q", got, want)
	}
	if !converted(evs, "application/postscript -> application/pdf") {
		t.Errorf("no event of the print says what was converted: %v", evs)
	}

	for _, tc := range []struct {
		format, rule string
		doc          []byte
	}{
		{"application/vnd.hp-pcl", rules.ForceMonochrome, []byte("\x1bE\x1b%-12345X@PJL SET RENDERMODE=COLOR\r\n\x1bE\x1b&l2S text\x0c\x1bE")},
		{"image/pwg-raster", rules.ForceMonochrome, testdocs.PWGRaster(1)},
	} {
		r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "bob", nameVal("job-name", tc.format), mimeVal(tc.format)), tc.doc)
		msg := attrValue(r.Operation, "status-message")
		if status(r) != goipp.StatusErrorDocumentFormatNotSupported ||
			!strings.Contains(msg, "rule "+tc.rule+" cannot be enforced on "+tc.format) {
			t.Errorf("%s on the forced queue: %s %q; want document-format-not-supported naming rule %s", tc.format, status(r), msg, tc.rule)
		}
	}
	if n := len(printer.Files()); n != 1 {
		t.Errorf("the printer received %d documents, want 1", n)
	}
}

// TestPageRangesByConversion: pages 2-3 of a five-page PDF, released at a
// printer that takes only PWG raster, arrive as two raster pages: the
// converter selects them, and the print's events record it.
func TestPageRangesByConversion(t *testing.T) {
	testenv.Tool(t, "gs")
	e := newReleaseEnv(t, "", nil)
	raster := testenv.IPPEvePrinter(t, testenv.WithFormats("image/pwg-raster"))
	e.addDeviceAt("raster", raster.URI)
	t.Logf("the raster printer says page-ranges-supported %q", attrValue(printerAttrs(t, raster.URI), "page-ranges-supported"))
	e.awaitAdvertised("mfp1", "page-ranges-supported", "true")

	id := e.submitWith("bob", testdocs.PDF(5, "five pages", testdocs.A4),
		goipp.MakeAttribute("page-ranges", goipp.TagRange, goipp.Range{Lower: 2, Upper: 3}))
	e.releaseAndWait("raster", id)

	got := lastFile(t, raster, 0)
	res, err := pages.Count(context.Background(), pages.FormatPWGRaster, bytes.NewReader(got))
	if err != nil || res.Pages != 2 {
		t.Errorf("the printer received %d raster pages (%v), want 2", res.Pages, err)
	}
	if sel := details(e.timeline(id), "pages_selected")[audit.EventReleased]; sel != "2-3" {
		t.Errorf("the released event records pages_selected %q, want 2-3", sel)
	}
}

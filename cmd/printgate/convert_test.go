package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/audit/pages"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release"
)

// TestReleaseConverts releases PDF and PostScript jobs at a printer that
// takes only PWG raster: it receives PWG raster with the job's pages, and
// the print's events say what was converted. A document the converter
// gives up on (a PostScript loop, over its processor time) is never sent:
// the job is held again with the reason.
func TestReleaseConverts(t *testing.T) {
	testenv.Tool(t, "gs")
	e := newReleaseEnv(t, "", func(c *Config) {
		// The loops end on the processor time; the wall time only
		// bounds a busy machine's share of it.
		c.Convert.MaxCPU, c.Convert.Timeout = time.Second, 20*time.Second
		// The documents the converter gives up on defeat the My Number
		// search too, which would hold them from a card-only session
		// (TestMyNumberFailsClosed): this test is of conversion.
		c.Queues[0].MyNumber = release.MyNumberOff
	})
	raster := testenv.IPPEvePrinter(t, testenv.WithFormats("image/pwg-raster"))
	e.addDeviceAt("raster", raster.URI)

	for _, tc := range []struct {
		name, format string
		doc          []byte
		pages        int
	}{
		{"pdf", "application/pdf", testdocs.PDF(3, "給与明細 raster", testdocs.A4), 3},
		{"postscript", "application/postscript", testdocs.DSC(2, "raster from PostScript", testdocs.A4), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			before := len(raster.Files())
			id := e.submitAs("bob", tc.format, tc.doc)
			sess := e.login("raster", map[string]string{"card": "04A1B2C3"})
			code, out := e.call("raster", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id}})
			if code != http.StatusAccepted {
				t.Fatalf("release: HTTP %d %v", code, out)
			}
			e.waitState("raster", sess, id, "completed")

			files := raster.Files()
			if len(files) != before+1 {
				t.Fatalf("the printer holds %d documents, want %d", len(files), before+1)
			}
			got, err := os.ReadFile(files[len(files)-1])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(got, []byte("RaS2")) {
				t.Fatalf("the printer received %q…, not PWG raster", got[:min(len(got), 8)])
			}
			res, err := pages.Count(context.Background(), pages.FormatPWGRaster, bytes.NewReader(got))
			if err != nil || res.Pages != tc.pages {
				t.Errorf("the printer received %d pages (%v), want %d", res.Pages, err, tc.pages)
			}
			if !converted(e.timeline(id), tc.format+" -> image/pwg-raster") {
				t.Errorf("no event of the print says it was converted: %v", e.timeline(id))
			}
		})
	}

	t.Run("converter gives up", func(t *testing.T) {
		e.t = t
		before := len(raster.Files())
		loop := []byte("%!PS-Adobe-3.0\n%%Pages: 1\n%%EndComments\n%%Page: 1 1\n{ 1 pop } loop\nshowpage\n%%EOF\n")
		id := e.submitAs("bob", "application/postscript", loop)
		sess := e.login("raster", map[string]string{"card": "04A1B2C3"})
		code, out := e.call("raster", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id}})
		if code != http.StatusAccepted {
			t.Fatalf("release: HTTP %d %v", code, out)
		}
		job := e.waitState("raster", sess, id, "pending-held")
		if job["state_reason"] != "conversion-failed" {
			t.Errorf("held with reason %v, want conversion-failed (%v)", job["state_reason"], job)
		}
		if n := len(raster.Files()); n != before {
			t.Errorf("the printer received a document (%d, was %d)", n, before)
		}
	})

	t.Run("converter gives up mid-document", func(t *testing.T) {
		// The first page is converted and on its way to the printer when
		// the second loops: the printer may have printed the first, so
		// the job is held as one that may have printed, and released
		// again only on the user's word.
		e.t = t
		doc := []byte("%!PS-Adobe-3.0\n%%Pages: 2\n%%EndComments\n%%Page: 1 1\n" +
			"/Helvetica findfont 24 scalefont setfont 72 720 moveto (page one) show showpage\n" +
			"%%Page: 2 2\n{ 1 pop } loop\nshowpage\n%%EOF\n")
		id := e.submitAs("bob", "application/postscript", doc)
		sess := e.login("raster", map[string]string{"card": "04A1B2C3"})
		release := func(body map[string]any) map[string]any {
			t.Helper()
			code, out := e.call("raster", http.MethodPost, "/release/sessions/"+sess+"/release", body)
			jobs, _ := out["jobs"].([]any)
			if code != http.StatusAccepted {
				t.Fatalf("release: HTTP %d %v", code, out)
			}
			for _, j := range jobs {
				if j := j.(map[string]any); j["id"] == float64(id) {
					return j
				}
			}
			t.Fatalf("release: job %d not in the answer %v", id, out)
			return nil
		}
		release(map[string]any{"jobs": []int64{id}})
		job := e.waitState("raster", sess, id, "pending-held")
		if job["state_reason"] != "may-have-printed" {
			t.Fatalf("held with reason %v, want may-have-printed (%v)", job["state_reason"], job)
		}
		if got := release(map[string]any{"jobs": []int64{id}}); got["problem"] != "may-have-printed" {
			t.Errorf("released again without confirmation: %v, want the problem may-have-printed", got)
		}
		if got := release(map[string]any{"all": true}); got["problem"] != "may-have-printed" {
			t.Errorf("released with all, without confirmation: %v, want the problem may-have-printed", got)
		}
		if got := release(map[string]any{"jobs": []int64{id}, "confirm_reprint": []int64{id}}); got["problem"] != nil {
			t.Errorf("confirmed release: %v", got)
		}
		e.waitState("raster", sess, id, "pending-held")
		if !confirmedReprint(e.timeline(id)) {
			t.Errorf("no event records the confirmed reprint: %v", e.timeline(id))
		}
	})
}

// confirmedReprint reports whether an event of events records a release
// confirmed for a job that may have printed.
func confirmedReprint(events []audit.Event) bool {
	for _, ev := range events {
		if ev.Type == audit.EventReleaseAttempt && ev.Details["reprint-confirmed"] == "may-have-printed" {
			return true
		}
	}
	return false
}

// submitAs prints doc, of format, as user.
func (e *releaseEnv) submitAs(user, format string, doc []byte) int64 {
	e.t.Helper()
	return e.printDoc(user, format, doc, nameVal("job-name", "payslip"))
}

// converted reports whether an event of events records the conversion.
func converted(events []audit.Event, want string) bool {
	for _, ev := range events {
		if strings.TrimSpace(ev.Details["converted"]) == want {
			return true
		}
	}
	return false
}

package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/printgate/printgate/internal/testdocs"
)

// rowOf returns the table row of job id on a console page.
func rowOf(t *testing.T, page string, id int64) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<tr data-job="` + strconv.FormatInt(id, 10) + `">.*?</tr>`).FindString(page)
	if m == "" {
		t.Fatalf("no row for job %d on the page", id)
	}
	return m
}

var colorAttr = regexp.MustCompile(`<span class="color" data-color="([a-z]+)">`)

// colorOn returns the colour class an HTML fragment shows for a job.
func colorOn(t *testing.T, where, html string) string {
	t.Helper()
	m := colorAttr.FindAllStringSubmatch(html, -1)
	if len(m) != 1 {
		t.Fatalf("%s shows %d colour classes, want 1", where, len(m))
	}
	return m[0][1]
}

// TestColorAndPagesAgree: a job sent without print-color-mode and
// released to a real printer reads the same everywhere: black and white,
// as its search measured its black text (the mode it asked for says
// nothing, and the printer reports no colour counts), and of 2 pages × 1
// copy (2 impressions), in the release API, the held queue, the history,
// the job page, the export and the charts.
func TestColorAndPagesAgree(t *testing.T) {
	e := newReleaseEnv(t, "", nil)
	id := e.submit("bob", testdocs.PDF(2, "colour unknown", testdocs.A4)) // no print-color-mode
	admin := signInConsole(t, e.srv, "alice", "alice-secret")
	const want, pagesText = "monochrome", "2 pages × 1"

	// The release API, as the kiosk reads it.
	sess := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
	code, out := e.call("mfp1", http.MethodGet, "/release/sessions/"+sess+"/jobs", nil)
	if code != http.StatusOK {
		t.Fatalf("list jobs: HTTP %d %v", code, out)
	}
	jobs, _ := out["jobs"].([]any)
	if len(jobs) != 1 {
		t.Fatalf("jobs %v", out)
	}
	j := jobs[0].(map[string]any)
	if j["color_mode"] != want || j["color"] != false || j["pages"] != 2.0 || j["copies"] != 1.0 {
		t.Errorf("the API shows color_mode %v, color %v, %v pages × %v; want %s, false, 2 × 1",
			j["color_mode"], j["color"], j["pages"], j["copies"], want)
	}

	// The held queue, before release.
	_, held := admin.get("/admin/held")
	row := rowOf(t, held, id)
	if got := colorOn(t, "the held queue", row); got != want || !strings.Contains(row, pagesText) {
		t.Errorf("the held queue shows %q, want %q, with %q, in %s", got, want, pagesText, row)
	}

	if code, out := e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release",
		map[string]any{"jobs": []int64{id}}); code != http.StatusAccepted {
		t.Fatalf("release: HTTP %d %v", code, out)
	}
	e.waitState("mfp1", sess, id, "completed")

	// The history and the job page.
	_, hist := admin.get("/admin/history?user=bob")
	row = rowOf(t, hist, id)
	if got := colorOn(t, "the history", row); got != want || !strings.Contains(row, pagesText) {
		t.Errorf("the history shows %q, want %q, with %q, in %s", got, want, pagesText, row)
	}
	_, page := admin.get(fmt.Sprintf("/admin/jobs/%d", id))
	if got := colorOn(t, "the job page", page); got != want || !strings.Contains(page, pagesText) ||
		!regexp.MustCompile(`\b2 impressions\b`).MatchString(page) {
		t.Errorf("the job page shows %q, and %q and 2 impressions: %v, %v", got, pagesText,
			strings.Contains(page, pagesText), strings.Contains(page, "2 impressions"))
	}

	// The export.
	code, body := admin.get("/admin/history/export?format=csv&user=bob")
	if code != http.StatusOK {
		t.Fatalf("export: HTTP %d", code)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix([]byte(body), []byte("\uFEFF")))).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("export: %d records, %v", len(recs), err)
	}
	cell := func(name string) string {
		i := slices.Index(recs[0], name)
		if i < 0 {
			t.Fatalf("no column %q in %v", name, recs[0])
		}
		return recs[1][i]
	}
	if cell("color_mode") != want || cell("color_mode_requested") != "" || cell("pages") != "2" ||
		cell("copies") != "1" || cell("impressions") != "2" || cell("outcome") != "printed" {
		t.Errorf("the export says color_mode %q (asked %q), %s pages × %s, %s impressions, %s",
			cell("color_mode"), cell("color_mode_requested"), cell("pages"), cell("copies"), cell("impressions"), cell("outcome"))
	}

	// The charts: the job's 2 impressions are black and white, and the
	// chart says what it counts.
	_, charts := admin.get("/admin/charts")
	legend := map[string]string{}
	for _, m := range regexp.MustCompile(`<li data-color="([a-z]+)">.*?<span class="value">(\d+)</span>`).FindAllStringSubmatch(charts, -1) {
		legend[m[1]] = m[2]
	}
	if legend["unknown"] != "0" || legend["color"] != "0" || legend["monochrome"] != "2" {
		t.Errorf("the colour chart shows %v; want 0 unknown, 0 colour, 2 black and white", legend)
	}
	if !strings.Contains(charts, `<dd id="total-pages">2</dd>`) || !strings.Contains(charts, `<dd id="total-color">0</dd>`) {
		t.Error("the charts' totals are not 2 pages, 0 in colour")
	}
	if !strings.Contains(charts, "a job of which none of these says is of unknown colour") {
		t.Error("the colour chart does not say what it counts")
	}

	// The console's export is in its reader's language (last: ?lang=
	// sticks to the session).
	code, body = admin.get("/admin/history/export?format=csv&user=bob&lang=ja")
	recs, err = csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\uFEFF"))).ReadAll()
	if code != http.StatusOK || err != nil || len(recs) != 2 {
		t.Fatalf("export in Japanese: HTTP %d, %v", code, err)
	}
	if i := slices.Index(recs[0], "カラー"); recs[0][0] != "ジョブID" || i < 0 || recs[1][i] != want {
		t.Errorf("the Japanese export's header %q", recs[0])
	}
}

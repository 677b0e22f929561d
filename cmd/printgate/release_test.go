package main

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testdocs"
)

// TestReleaseAtDevice submits a PDF, signs in at a device by card, by ID
// and PIN and by card and PIN, lists and releases; the printer receives
// the same bytes, the job completes, and its document and key are gone.
func TestReleaseAtDevice(t *testing.T) {
	e := newReleaseEnv(t, "", nil)
	logins := []struct {
		name string
		body map[string]string
	}{
		{"card", map[string]string{"card": "04:a1:b2:c3"}},
		{"id+pin", map[string]string{"user": "1002", "pin": "4821"}},
		{"card+pin", map[string]string{"card": "04a1b2c3", "pin": "4821"}},
	}
	for i, tc := range logins {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			doc := testdocs.PDF(i+1, "release "+tc.name, testdocs.A4)
			id := e.submit("bob", doc)
			sess := e.login("mfp1", tc.body)
			code, out := e.call("mfp1", http.MethodGet, "/release/sessions/"+sess+"/jobs", nil)
			if code != http.StatusOK || !slices.Contains(jobIDs(out), id) {
				t.Fatalf("list: HTTP %d %v, want job %d", code, out, id)
			}
			jobs := out["jobs"].([]any)
			if pages := jobs[len(jobs)-1].(map[string]any)["pages"].(float64); int(pages) != i+1 {
				t.Errorf("listed pages %v, want %d", pages, i+1)
			}
			code, out = e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id}})
			if code != http.StatusAccepted {
				t.Fatalf("release: HTTP %d %v", code, out)
			}
			e.waitState("mfp1", sess, id, "completed")
			want := sha256.Sum256(doc)
			if !slices.Contains(e.received(), want) {
				t.Errorf("the printer did not receive the submitted document")
			}
			db := openTestDB(t, e.srv)
			var row struct {
				Spool      string
				WrappedKey []byte
			}
			db.Raw("SELECT spool, k.wrapped_key FROM jobs LEFT JOIN job_keys k ON k.job_id = jobs.id WHERE id = ?", id).Scan(&row)
			if row.Spool != "" || len(row.WrappedKey) != 0 {
				t.Errorf("printed job keeps spool %q and a %d-byte key", row.Spool, len(row.WrappedKey))
			}
			if files := e.spoolFiles(); len(files) != 0 {
				t.Errorf("spool still holds %v", files)
			}
			if code, _ := e.call("mfp1", http.MethodDelete, "/release/sessions/"+sess, nil); code != http.StatusNoContent {
				t.Errorf("logout: HTTP %d", code)
			}
		})
	}
}

// TestJobPIN: a job submitted with a job-password is released only with
// its PIN.
func TestJobPIN(t *testing.T) {
	e := newReleaseEnv(t, "", nil)
	id := e.submit("bob", testdocs.PDF(1, "pin job", testdocs.A4),
		goipp.MakeAttribute("job-password", goipp.TagString, goipp.Binary("2468")))
	sess := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
	_, out := e.call("mfp1", http.MethodGet, "/release/sessions/"+sess+"/jobs", nil)
	if needs := out["jobs"].([]any)[0].(map[string]any)["needs_pin"]; needs != true {
		t.Errorf("needs_pin = %v", needs)
	}
	for _, tc := range []struct {
		pins    map[string]string
		problem string
	}{
		{nil, "job-pin-required"},
		{map[string]string{strconv.FormatInt(id, 10): "1111"}, "job-pin-wrong"},
	} {
		code, out := e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release",
			map[string]any{"jobs": []int64{id}, "job_pins": tc.pins})
		res := out["jobs"].([]any)[0].(map[string]any)
		if code != http.StatusAccepted || res["problem"] != tc.problem || res["state"] != "pending-held" {
			t.Errorf("release with %v: HTTP %d %v, want %s and still held", tc.pins, code, res, tc.problem)
		}
	}
	if n := len(e.received()); n != 0 {
		t.Fatalf("printer received %d documents before the right PIN", n)
	}
	e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release",
		map[string]any{"jobs": []int64{id}, "job_pins": map[string]string{strconv.FormatInt(id, 10): "2468"}})
	e.waitState("mfp1", sess, id, "completed")
}

// TestPrinterDown: with the printer stopped the release answers 409 and
// the job stays held; once the printer is back the same job prints, once.
// (TestPrintFailsAfterCheck has a printer that fails after the check.)
func TestPrinterDown(t *testing.T) {
	e := newReleaseEnv(t, "", askEveryTime)
	doc := testdocs.PDF(2, "printer down", testdocs.A4)
	id := e.submit("bob", doc)
	sess := e.login("mfp1", map[string]string{"user": "bob", "pin": "4821"})
	e.printer.Stop()
	code, out := e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"all": true})
	if code != http.StatusConflict || out["error"] == "" {
		t.Fatalf("release to a stopped printer: HTTP %d %v", code, out)
	}
	if _, out = e.call("mfp1", http.MethodGet, fmt.Sprintf("/release/sessions/%s/jobs/%d", sess, id), nil); out["state"] != "pending-held" {
		t.Fatalf("job after the refused release: %v", out)
	}
	e.printer.Start()
	e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id}})
	e.waitState("mfp1", sess, id, "completed")
	want := sha256.Sum256(doc)
	n := 0
	for _, h := range e.received() {
		if h == want {
			n++
		}
	}
	if n != 1 {
		t.Errorf("printer received the document %d times, want once", n)
	}
}

// TestReleaseRace fires 20 release calls for one job from two devices at
// once; the job prints exactly once.
func TestReleaseRace(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		e := newReleaseEnv(t, dbURL, nil)
		doc := testdocs.PDF(1, "race", testdocs.A4)
		id := e.submit("bob", doc)
		sessions := map[string]string{
			"mfp1": e.login("mfp1", map[string]string{"card": "04A1B2C3"}),
			"mfp2": e.login("mfp2", map[string]string{"card": "04A1B2C3"}),
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		claimed := 0
		for i := range 20 {
			dev := []string{"mfp1", "mfp2"}[i%2]
			wg.Go(func() {
				code, out := e.call(dev, http.MethodPost, "/release/sessions/"+sessions[dev]+"/release",
					map[string]any{"jobs": []int64{id}})
				if code != http.StatusAccepted {
					t.Errorf("release from %s: HTTP %d %v", dev, code, out)
					return
				}
				if r := out["jobs"].([]any)[0].(map[string]any); r["problem"] == nil {
					mu.Lock()
					claimed++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if claimed != 1 {
			t.Errorf("%d calls claimed the job, want exactly 1", claimed)
		}
		e.waitState("mfp1", sessions["mfp1"], id, "completed")
		time.Sleep(300 * time.Millisecond) // a second print, were there one, would have arrived
		want := sha256.Sum256(doc)
		n := 0
		for _, h := range e.received() {
			if h == want {
				n++
			}
		}
		if n != 1 {
			t.Errorf("printed %d times, want once", n)
		}
	})
}

package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// TestMyNumberIDPINCardRequired: ID+PIN is the second two-factor method
// at a device configured to let nobody sign in without a card: there it
// lists and prints a job holding an individual number; the same ID+PIN
// at a device without that setting neither lists nor releases it, and
// the setting can be turned off again.
func TestMyNumberIDPINCardRequired(t *testing.T) {
	testenv.Tool(t, "pdftotext")
	e := newReleaseEnv(t, "", nil)
	e.addDevice("door1", "card,id+pin,card+pin", "--card-required")
	doc, err := testdocs.JapanesePDF(testdocs.IPAGothic, t.TempDir(), []string{"個人番号 123456789018"})
	if err != nil {
		t.Fatal(err)
	}
	id := e.submit("bob", doc)
	idPIN := map[string]string{"user": "bob", "pin": "4821"}

	plain := e.login("mfp1", idPIN)
	if code, out := e.call("mfp1", http.MethodGet, "/release/sessions/"+plain+"/jobs", nil); code != http.StatusOK || slices.Contains(jobIDs(out), id) {
		t.Errorf("ID+PIN at a device that does not require a card: HTTP %d %v, want a list without job %d", code, out, id)
	}
	if code, out := e.call("mfp1", http.MethodPost, "/release/sessions/"+plain+"/release", map[string]any{"jobs": []int64{id}}); code == http.StatusAccepted {
		t.Fatalf("ID+PIN at a device that does not require a card released job %d: %v", id, out)
	}

	gated := e.login("door1", idPIN)
	code, out := e.call("door1", http.MethodGet, "/release/sessions/"+gated+"/jobs", nil)
	if code != http.StatusOK || !slices.Contains(jobIDs(out), id) {
		t.Fatalf("ID+PIN at a device that requires a card: HTTP %d %v, want job %d", code, out, id)
	}

	// Turned off, the device is like any other.
	if out := runCLI(t, e.cfg, "", "device", "set", "door1", "--card-required=false"); !strings.Contains(out, "card required: no") {
		t.Errorf("device set: %s", out)
	}
	if _, out := e.call("door1", http.MethodGet, "/release/sessions/"+gated+"/jobs", nil); slices.Contains(jobIDs(out), id) {
		t.Errorf("ID+PIN at a device no longer requiring a card still lists job %d", id)
	}
	runCLI(t, e.cfg, "", "device", "set", "door1", "--card-required")

	if code, out := e.call("door1", http.MethodPost, "/release/sessions/"+gated+"/release", map[string]any{"jobs": []int64{id}}); code != http.StatusAccepted {
		t.Fatalf("ID+PIN release at a device that requires a card: HTTP %d %v", code, out)
	}
	e.waitState("door1", gated, id, "completed")
	if n := len(e.printer.Files()); n != 1 {
		t.Errorf("the printer received %d documents, want 1", n)
	}
}

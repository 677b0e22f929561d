package main

import (
	"net/http"
	"slices"
	"testing"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// TestMyNumberScannedPDF: where Tesseract is installed, a scanned PDF
// (images only, no text) holding a valid individual number is found by
// OCR on a hold queue and hidden from a card-only session; a scan with a
// wrong check digit is not.
func TestMyNumberScannedPDF(t *testing.T) {
	testenv.Tool(t, "pdftotext")
	testenv.Tool(t, "tesseract")
	testenv.Tool(t, "gs")
	e := newReleaseEnv(t, "", nil)
	scan := func(text string) []byte {
		doc, err := testdocs.ScannedPDF(testdocs.IPAGothic, t.TempDir(), []string{text})
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	secret := e.submit("bob", scan("扶養控除等申告書\n個人番号 1234 5678 9018"))
	wrong := e.submit("bob", scan("扶養控除等申告書\n個人番号 1234 5678 9019"))
	card := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
	code, out := e.call("mfp1", http.MethodGet, "/release/sessions/"+card+"/jobs", nil)
	if code != http.StatusOK || slices.Contains(jobIDs(out), secret) || !slices.Contains(jobIDs(out), wrong) {
		t.Errorf("card-only list: HTTP %d %v, want job %d (wrong check digit) and not job %d", code, out, wrong, secret)
	}
	db := openTestDB(t, e.srv)
	var found []string
	db.Raw("SELECT sensitive FROM jobs WHERE id IN ? ORDER BY id", []int64{secret, wrong}).Scan(&found)
	if !slices.Equal(found, []string{"my-number", ""}) {
		t.Errorf("jobs marked %q, want the scan with a valid number alone", found)
	}
}

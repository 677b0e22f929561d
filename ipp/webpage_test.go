package ipp_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/OpenPrinting/goipp"
)

// TestWebPagesRefused: an IPP request that carries what only browsers
// send (Origin, Sec-Fetch-Site, Sec-Fetch-Mode) is refused with HTTP 403
// before anything is read or made, since a page whose host name is
// rebound to printgate's address could otherwise print, from a browser on
// a trusted network, as anyone it names; the same request without them,
// as IPP clients send it, prints. A browser may still open the queue's
// page.
func TestWebPagesRefused(t *testing.T) {
	e := newServerEnv(t, "")
	printJob := func() *goipp.Message {
		return e.request(goipp.OpPrintJob, "secure", "hanako", mimeVal("application/pdf"), nameVal("job-name", "rebound"))
	}
	tests := []struct {
		name   string
		header http.Header
	}{
		{"Origin of another site", http.Header{"Origin": {"http://attacker.example"}}},
		{"Origin of printgate itself", http.Header{"Origin": {e.url}}},
		{"opaque Origin", http.Header{"Origin": {"null"}}},
		{"empty Origin", http.Header{"Origin": {""}}},
		{"Sec-Fetch-Site", http.Header{"Sec-Fetch-Site": {"same-origin"}}},
		{"Sec-Fetch-Mode", http.Header{"Sec-Fetch-Mode": {"no-cors"}}},
		{"all of a fetch", http.Header{"Origin": {e.url}, "Sec-Fetch-Site": {"same-origin"},
			"Sec-Fetch-Mode": {"cors"}, "Sec-Fetch-Dest": {"empty"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := e.post(t, "secure", printJob(), e.pdf, tc.header)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("HTTP %s, want 403 Forbidden", res.Status)
			}
			if ct := res.Header.Get("Content-Type"); strings.HasPrefix(ct, goipp.ContentType) || len(body) > 200 {
				t.Errorf("answered with %s %q, want a short text message", ct, body)
			}
			if n := e.jobCount(t); n != 0 {
				t.Fatalf("%d jobs made by a request from a web page", n)
			}
		})
	}

	reply := e.do(t, "secure", printJob(), e.pdf)
	if st := goipp.Status(reply.Code); st != goipp.StatusOk {
		t.Fatalf("the same request from an IPP client: %s, want successful-ok", st)
	}
	madeJob(t, reply)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.url+"/ipp/print/secure", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	req.Header.Set("Sec-Fetch-Site", "none")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("a browser opening the queue's page: HTTP %s, want 200", res.Status)
	}
}

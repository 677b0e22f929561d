package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testdocs"
)

// TestArgon2Busy gives printgate room for one argon2 check and no wait,
// then sends parallel password sign-ins to the release API and parallel
// Print-Jobs with job passwords: those turned away answer 503 with
// Retry-After and server-error-busy, never an internal error, and none
// is let through unchecked.
func TestArgon2Busy(t *testing.T) {
	e := newReleaseEnv(t, "", func(c *Config) {
		c.Credentials.Argon2MemoryMB = 19
		c.Credentials.Argon2Wait = 0
	})
	e.addDevice("enrol", "card", "--self-enroll")
	const n = 20
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		answers = map[string]int{}
	)
	count := func(k string) {
		mu.Lock()
		answers[k]++
		mu.Unlock()
	}
	doc := testdocs.PDF(1, "busy", testdocs.A4)
	uri := e.srv.PrinterURI("secure")
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(map[string]string{"card": fmt.Sprintf("0A0B0C%02X", i), "user": "bob", "password": "not-bobs-password"})
			req, _ := http.NewRequest(http.MethodPost, "http://"+e.srv.Addr+"/api/v1/release/sessions", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+e.devices["enrol"])
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				count("api error " + err.Error())
				return
			}
			resp.Body.Close()
			k := fmt.Sprintf("api %d", resp.StatusCode)
			if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
				k += " without Retry-After"
			}
			count(k)
		}()
		go func() {
			defer wg.Done()
			m := ippRequest(goipp.OpPrintJob, uri, "bob", mimeVal("application/pdf"),
				goipp.MakeAttribute("job-password", goipp.TagString, goipp.Binary("5930")))
			hdr, _ := m.EncodeBytes()
			resp, err := http.Post("http://"+e.srv.Addr+"/ipp/print/secure", goipp.ContentType,
				io.MultiReader(bytes.NewReader(hdr), bytes.NewReader(doc)))
			if err != nil {
				count("ipp error " + err.Error())
				return
			}
			defer resp.Body.Close()
			var reply goipp.Message
			if err := reply.Decode(resp.Body); err != nil {
				count(fmt.Sprintf("ipp HTTP %d", resp.StatusCode))
				return
			}
			count("ipp " + goipp.Status(reply.Code).String())
		}()
	}
	wg.Wait()
	t.Logf("answers: %v", answers)
	for k := range answers {
		switch k {
		case "api 401", "api 503", "ipp successful-ok", "ipp server-error-busy", "api 429":
		default:
			t.Errorf("%d answers %q", answers[k], k)
		}
	}
	if answers["api 503"] == 0 || answers["ipp server-error-busy"] == 0 {
		t.Errorf("with room for one check, %d parallel requests of each kind were never busy: %v", n, answers)
	}
}

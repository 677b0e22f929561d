package main

import (
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/printgate/printgate/internal/testenv"
)

// TestIPPSWithGeneratedCertificate submits over ipps:// with ipptool to a
// TLS listener that uses the certificate generated into the data dir, and
// checks that the job is held and the printer tells the truth about TLS.
func TestIPPSWithGeneratedCertificate(t *testing.T) {
	ipptool := testenv.Tool(t, "ipptool")
	docs, _ := filepath.Abs("../../testdata/ipptool")
	cfg := newConfig(t, "")
	tlsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t)))
	cfg.Server.TLSListen = []string{tlsAddr}
	srv := startServer(t, cfg)
	uri := "ipps://" + tlsAddr + "/ipp/print/secure"
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"print-job.test", []string{"[PASS]"}},
		{"get-jobs.test", []string{"[PASS]"}},
		{"get-printer-attributes.test", []string{"uri-security-supported (keyword) = tls", "printer-uri-supported (uri) = ipps://"}},
	} {
		out, err := exec.Command(ipptool, "-tv", "-f", filepath.Join(docs, "document-a4.pdf"), uri,
			filepath.Join("/usr/share/cups/ipptool", tc.file)).CombinedOutput()
		if err != nil {
			t.Fatalf("ipptool %s: %v\n%s\n%s", tc.file, err, out, srv.Log)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("ipptool %s: output lacks %q\n%s", tc.file, w, out)
			}
		}
	}
	db := openTestDB(t, srv)
	var states []string
	db.Raw("SELECT state FROM jobs").Scan(&states)
	if len(states) != 1 || states[0] != "pending-held" {
		t.Errorf("jobs after ipps Print-Job: %v, want one pending-held", states)
	}
}

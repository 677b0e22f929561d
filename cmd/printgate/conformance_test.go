package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release"
)

// TestIPPConformance runs CUPS's stock IPP/1.1 and IPP/2.0 conformance
// suites against a direct queue whose printer is a real ippeveprinter.
// Held jobs never complete, and the suites wait for completion, so they
// run against a direct queue (see ARCHITECTURE.md) that does not look for
// individual numbers: it would hold the suites' JPEG jobs, which it cannot
// search, for good, and ipptool waits on the first job Get-Jobs lists.
func TestIPPConformance(t *testing.T) {
	ipptool := testenv.Tool(t, "ipptool")
	docs, err := filepath.Abs("../../testdata/ipptool")
	if err != nil {
		t.Fatal(err)
	}
	forEachDB(t, func(t *testing.T, dbURL string) {
		printer := testenv.IPPEvePrinter(t)
		srv := startServer(t, newConfig(t, dbURL,
			QueueConfig{Name: "lobby", Mode: "direct", Printer: printer.URI, MyNumber: release.MyNumberOff}))
		for _, tc := range []struct{ suite, version string }{
			{"ipp-1.1.test", "1.1"},
			{"ipp-2.0.test", "2.0"},
		} {
			t.Run(tc.suite, func(t *testing.T) {
				cmd := exec.Command(ipptool, "-tI", "-V", tc.version, "-f", "document-a4.pdf",
					srv.PrinterURI("lobby"), tc.suite)
				cmd.Dir = docs
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("ipptool %s: %v\n%s\nserver log:\n%s", tc.suite, err, out, srv.Log)
				}
				// ipptool exits 0 when every test it ran passed; make sure
				// it ran the suite and not a handful of tests.
				if n := bytes.Count(out, []byte("[PASS]")); n < 40 || bytes.Contains(out, []byte("[FAIL]")) {
					t.Fatalf("ipptool %s: %d tests passed, want at least 40 and no failures\n%s\nserver log:\n%s", tc.suite, n, out, srv.Log)
				}
			})
		}
	})
}

// TestJobReleaseAction runs job-release-action.test (PWG 5100.11) with
// ipptool: a hold queue advertises owner-authorized and job-password and
// refuses any other value in the unsupported group; a direct queue
// advertises none and refuses every value but 'none'.
func TestJobReleaseAction(t *testing.T) {
	ipptool := testenv.Tool(t, "ipptool")
	docs, err := filepath.Abs("../../testdata/ipptool")
	if err != nil {
		t.Fatal(err)
	}
	printer := testenv.IPPEvePrinter(t)
	srv := startServer(t, newConfig(t, "",
		QueueConfig{Name: "lobby", Mode: "direct", Printer: printer.URI},
		QueueConfig{Name: "held", Mode: "hold"}))
	for _, tc := range []struct {
		queue string
		args  []string
		tests int
	}{
		{"held", []string{"-d", "hold=1"}, 6},
		{"lobby", nil, 2},
	} {
		t.Run(tc.queue, func(t *testing.T) {
			args := append([]string{"-t", "-f", "document-a4.pdf"}, tc.args...)
			cmd := exec.Command(ipptool, append(args, srv.PrinterURI(tc.queue), "job-release-action.test")...)
			cmd.Dir = docs
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("ipptool job-release-action.test: %v\n%s\nserver log:\n%s", err, out, srv.Log)
			}
			if n := bytes.Count(out, []byte("[PASS]")); n != tc.tests || bytes.Contains(out, []byte("[FAIL]")) {
				t.Fatalf("ipptool job-release-action.test: %d tests passed, want %d and no failures\n%s", n, tc.tests, out)
			}
		})
	}
}

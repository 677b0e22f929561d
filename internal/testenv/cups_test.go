package testenv

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCUPS adds a driverless queue for an ippeveprinter, as a desktop
// would, and prints a PDF through it.
func TestCUPS(t *testing.T) {
	printer := IPPEvePrinter(t)
	cups := CUPS(t)
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := cups.Run(t, name, args...)
		if err != nil {
			t.Fatalf("%s %v: %v\n%s\ncupsd log:\n%s", name, args, err, out, cups.ErrorLog())
		}
		return out
	}

	run("lpadmin", "-p", "front", "-E", "-v", printer.URI, "-m", "everywhere")
	if out := run("lpstat", "-p", "front"); !strings.Contains(out, "enabled") {
		t.Fatalf("queue not enabled: %s", out)
	}
	pdf, err := filepath.Abs("testdata/onepage.pdf")
	if err != nil {
		t.Fatal(err)
	}
	out := run("lp", "-d", "front", "-t", "cups test", pdf)
	if !strings.Contains(out, "request id is front-") {
		t.Fatalf("lp: %s", out)
	}

	deadline := time.Now().Add(time.Minute)
	for len(printer.Files()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the printer received nothing\ncupsd log:\n%s", cups.ErrorLog())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if name := filepath.Base(printer.Files()[0]); !strings.HasSuffix(name, ".pdf") {
		t.Errorf("printer received %s, want a PDF", name)
	}
	for !strings.Contains(run("lpstat", "-W", "completed", "-o", "front"), "front-1") {
		if time.Now().After(deadline) {
			t.Fatalf("job not completed\ncupsd log:\n%s", cups.ErrorLog())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

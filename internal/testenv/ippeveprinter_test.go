package testenv

import (
	"bytes"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// printWithIpptool sends testdata/onepage.pdf with ipptool's stock
// print-job.test and returns ipptool's output.
func printWithIpptool(t *testing.T, uri string) string {
	t.Helper()
	out, err := RunIpptool(t, "testdata", "-t", "-f", "onepage.pdf", uri, "print-job.test")
	if err != nil {
		t.Fatalf("ipptool print-job.test: %v\n%s", err, out)
	}
	return out
}

func TestIPPEvePrinter(t *testing.T) {
	want, err := os.ReadFile("testdata/onepage.pdf")
	if err != nil {
		t.Fatal(err)
	}
	p := IPPEvePrinter(t, WithPrinterName("Front Desk"))
	if !strings.HasPrefix(p.URI, "ipp://127.0.0.1:") {
		t.Errorf("URI = %q", p.URI)
	}

	printWithIpptool(t, p.URI)
	files := p.Files()
	if len(files) != 1 {
		t.Fatalf("printer kept %d documents, want 1: %v", len(files), files)
	}
	got, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("kept document differs from the one sent (%d bytes, want %d)", len(got), len(want))
	}

	p.Stop()
	// A child of the printer killed with its group may hold the socket a
	// moment longer than the printer itself.
	closed := Eventually(func() bool {
		c, err := net.DialTimeout("tcp", p.Addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	if !closed {
		t.Fatal("stopped printer still accepts connections")
	}
	p.Start()
	printWithIpptool(t, p.URI)
	files = p.Files()
	if len(files) != 2 {
		t.Fatalf("after restart the printer kept %d documents, want 2: %v", len(files), files)
	}
	if filepath.Dir(files[0]) == filepath.Dir(files[1]) {
		t.Errorf("documents of both runs in one folder: %v", files)
	}
}

func TestIPPEvePrinterTLS(t *testing.T) {
	p := IPPEvePrinter(t)
	c, err := tls.Dial("tcp", p.Addr, p.TLSConfig())
	if err != nil {
		t.Fatalf("TLS handshake with the printer's certificate trusted: %v", err)
	}
	c.Close()
}

func TestIPPEvePrinterCommand(t *testing.T) {
	tests := []struct {
		name, command string
		state         string // ipptool compares enums by number
	}{
		{"default finishes jobs", "", "9"},
		{"failing command aborts jobs", "/bin/false", "8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []PrinterOption
			if tt.command != "" {
				opts = append(opts, WithCommand(tt.command))
			}
			p := IPPEvePrinter(t, opts...)
			out, err := RunIpptool(t, "testdata", "-t", "-d", "state="+tt.state, "-f", "onepage.pdf", p.URI, "job-state.test")
			if err != nil {
				t.Fatalf("job did not reach %s: %v\n%s", tt.state, err, out)
			}
		})
	}
}

package release

import (
	"strings"
	"testing"
)

// TestCheckPrinterURI: a device's or a direct queue's printer is reached
// by IPP or AppSocket, and a URI holding credentials is refused before it
// could be written into every release's audit event.
func TestCheckPrinterURI(t *testing.T) {
	for _, c := range []struct {
		uri string
		ok  bool
	}{
		{"ipp://mfp.example/ipp/print", true},
		{"ipps://10.0.0.5:631/ipp/print", true},
		{"socket://10.0.0.5:9100", true},
		{"http://mfp.example/ipp/print", false},
		{"ipp:///ipp/print", false},
		{"ipps://admin:hunter2@mfp/ipp/print", false},
		{"socket://admin@10.0.0.5:9100", false},
		{"ipp://%zz", false},
	} {
		err := CheckPrinterURI(c.uri)
		if (err == nil) != c.ok {
			t.Errorf("CheckPrinterURI(%q) = %v, want ok %v", c.uri, err, c.ok)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error repeats the password: %v", err)
		}
	}
}

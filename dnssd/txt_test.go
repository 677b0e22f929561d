package dnssd_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/printgate/printgate/dnssd"
	"github.com/printgate/printgate/ipp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestTXT compares the TXT records of a few queues with golden files.
func TestTXT(t *testing.T) {
	colour := ipp.Description{Name: "secure", Info: "Secure release", Location: "3F east", MakeAndModel: "printgate secure release queue",
		UUID: "6a61baba-8564-52eb-a495-8861fbe1cc6f", URI: "ipps://pg.local:8632/ipp/print/secure",
		MoreInfo: "https://pg.local:8632/ipp/print/secure", Formats: []string{"application/pdf", "image/urf", "image/jpeg"},
		URF: []string{"V1.4", "W8", "SRGB24"}, Color: true, Duplex: true, Kind: []string{"document"}, Auth: "basic"}
	mono := ipp.Description{Name: "mono", Info: "mono", MakeAndModel: "printgate secure release queue",
		UUID: "0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0", URI: "ipp://pg.local:8631/ipp/print/mono",
		MoreInfo: "http://pg.local:8631/ipp/print/mono", Formats: []string{"application/pdf"}, Kind: []string{"document"},
		Auth: "requesting-user-name"}
	tests := []struct {
		name string
		d    ipp.Description
		tls  string
	}{
		{"colour-ipps", colour, "1.2"},
		{"colour-ipp", colour, ""},
		{"mono-ipp", mono, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(dnssd.TXT(tc.d, tc.tls), "\n") + "\n"
			path := filepath.Join("testdata", tc.name+".txt")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("TXT:\n%s\nwant (%s):\n%s", got, path, want)
			}
		})
	}
}

// TestTXTLimits checks that long values are cut to fit one TXT string:
// lists at an element, texts at a character boundary.
func TestTXTLimits(t *testing.T) {
	var formats []string
	for i := range 40 {
		formats = append(formats, "application/x-format-"+strings.Repeat("x", i%7))
	}
	d := ipp.Description{Name: "q", Location: strings.Repeat("東京都", 40), Formats: formats, URF: formats}
	for _, s := range dnssd.TXT(d, "") {
		if len(s) > 255 {
			t.Errorf("%.20s... is %d bytes, over one TXT string", s, len(s))
		}
		if !utf8.ValidString(s) {
			t.Errorf("%.20s... is not valid UTF-8 after cutting", s)
		}
		key, v, _ := strings.Cut(s, "=")
		if key == "pdl" && !strings.HasPrefix(strings.Join(formats, ","), v+",") {
			t.Errorf("pdl=%s is not whole formats of the list", v)
		}
	}
	long := ipp.Description{Name: "q", Info: strings.Repeat("印刷", 30)}
	if n := dnssd.InstanceName(long, "host"); len(n) > 63 || !utf8.ValidString(n) {
		t.Errorf("InstanceName = %q (%d bytes), want at most 63 bytes of UTF-8", n, len(n))
	}
	for _, tc := range []struct{ info, want string }{
		{"", "q @ host"}, {"q", "q @ host"}, {"Floor 3 printers", "Floor 3 printers"},
	} {
		if got := dnssd.InstanceName(ipp.Description{Name: "q", Info: tc.info}, "host"); got != tc.want {
			t.Errorf("InstanceName(info %q) = %q, want %q", tc.info, got, tc.want)
		}
	}
}

// FuzzTXT checks that no queue description, however odd its configured
// texts, makes a TXT string over 255 bytes or an instance name over one
// DNS label.
func FuzzTXT(f *testing.F) {
	f.Add("secure", "Floor 3", "3F", "printgate", "application/pdf,image/urf", "V1.4,W8")
	f.Add("q", "", "東京都港区", strings.Repeat("m", 300), strings.Repeat("a/b,", 100), "")
	f.Fuzz(func(t *testing.T, name, info, location, model, formats, urf string) {
		d := ipp.Description{Name: name, Info: info, Location: location, MakeAndModel: model,
			Formats: strings.Split(formats, ","), URF: strings.Split(urf, ",")}
		for _, s := range dnssd.TXT(d, "1.2") {
			if len(s) > 255 {
				t.Fatalf("%q: %d bytes", s, len(s))
			}
		}
		if n := dnssd.InstanceName(d, "host"); len(n) > 63 || !utf8.ValidString(n) {
			t.Fatalf("instance name %q", n)
		}
	})
}

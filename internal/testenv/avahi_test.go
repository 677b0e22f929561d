package testenv

import "testing"

// TestParseBrowse reads avahi-browse -p output as avahi-browse 0.8
// prints it: escaped names, one line per address family, quoted TXT
// strings with escapes.
func TestParseBrowse(t *testing.T) {
	out := `+;lo;IPv4;Secure\032release\059\0352;_ipp._tcp;local
=;lo;IPv4;Secure\032release\059\0352;_ipp._tcp;local;vm.local;127.0.0.1;8631;"note=3F \"east\"" "rp=ipp/print/secure" "empty=" "txtvers=1"
=;lo;IPv6;Secure\032release\059\0352;_ipp._tcp;local;vm.local;::1;8631;"rp=ipp/print/secure"
=;lo;IPv4;mono\032@\032vm;_ipp._tcp;local;vm.local;127.0.0.1;8631;"a\\b=c"
`
	got, err := ParseBrowse(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d services, want 2 (one per name): %+v", len(got), got)
	}
	s := got[0]
	if s.Name != "Secure release;#2" || s.Type != "_ipp._tcp" || s.Host != "vm.local" || s.Address != "127.0.0.1" || s.Port != 8631 {
		t.Errorf("service %+v", s)
	}
	for k, v := range map[string]string{"note": `3F "east"`, "rp": "ipp/print/secure", "empty": "", "txtvers": "1"} {
		if got, ok := s.TXT[k]; !ok || got != v {
			t.Errorf("TXT %s = %q (present %v), want %q", k, got, ok, v)
		}
	}
	if got[1].Name != "mono @ vm" || got[1].TXT[`a\b`] != "c" {
		t.Errorf("second service %+v", got[1])
	}
	if _, err := ParseBrowse("=;lo;IPv4;x;_ipp._tcp;local;h;1.2.3.4;port;\n"); err == nil {
		t.Error("a line whose port is not a number parsed")
	}
}

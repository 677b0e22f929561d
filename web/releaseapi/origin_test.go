package releaseapi

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

// TestOrigin: the kiosk's link for phones says https over TLS and behind
// a TLS-terminating proxy (API.Secure), http otherwise.
func TestOrigin(t *testing.T) {
	tests := []struct {
		name       string
		tls, proxy bool
		want       string
	}{
		{"plain", false, false, "http://printgate.example:8631"},
		{"TLS", true, false, "https://printgate.example:8631"},
		{"behind a TLS proxy", false, true, "https://printgate.example:8631"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://printgate.example:8631/api/v1/release/device", nil)
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			a := New(nil, nil)
			a.Secure = tt.proxy
			if got := a.origin(r); got != tt.want {
				t.Errorf("origin = %q, want %q", got, tt.want)
			}
		})
	}
}

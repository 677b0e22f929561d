package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// opsHandler answers with its name.
func opsHandler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, name) })
}

// TestMetricsNetworks: /metrics answers only clients whose TCP peer is in
// a trusted network, whatever headers say; the probes answer everyone.
func TestMetricsNetworks(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	opts := Options{IPP: http.NotFoundHandler(), Metrics: opsHandler("metrics"), MetricsNetworks: loopback,
		Live: opsHandler("alive"), Ready: opsHandler("ready")}
	for _, tc := range []struct {
		name   string
		engine http.Handler
	}{{"main", New(opts)}, {"metrics_listen", NewOps(opts)}} {
		for _, c := range []struct {
			path, remote string
			header       map[string]string
			code         int
			body         string
		}{
			{"/metrics", "127.0.0.1:5000", nil, 200, "metrics"},
			{"/metrics", "[::1]:5000", nil, 200, "metrics"},
			{"/metrics", "[::ffff:127.0.0.1]:5000", nil, 200, "metrics"},
			{"/metrics", "192.0.2.1:5000", nil, 403, ""},
			{"/metrics", "[2001:db8::1]:5000", nil, 403, ""},
			{"/metrics", "192.0.2.1:5000", map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"}, 403, ""},
			{"/healthz", "192.0.2.1:5000", nil, 200, "alive"},
			{"/readyz", "192.0.2.1:5000", nil, 200, "ready"},
		} {
			t.Run(tc.name+" "+c.path+" from "+c.remote, func(t *testing.T) {
				r := httptest.NewRequest(http.MethodGet, c.path, nil)
				r.RemoteAddr = c.remote
				for k, v := range c.header {
					r.Header.Set(k, v)
				}
				w := httptest.NewRecorder()
				tc.engine.ServeHTTP(w, r)
				if w.Code != c.code || c.body != "" && w.Body.String() != c.body {
					t.Errorf("HTTP %d %q, want %d %q", w.Code, w.Body, c.code, c.body)
				}
			})
		}
	}
}

// TestOpsEngineAlone: server.metrics_listen's engine serves the
// operations' routes and nothing else.
func TestOpsEngineAlone(t *testing.T) {
	e := NewOps(Options{Metrics: opsHandler("metrics"), Live: opsHandler("alive"), Ready: opsHandler("ready"),
		MetricsNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	for _, path := range []string{"/ipp/print/secure", "/", "/signin", "/api/v1/openapi.json", "/kiosk"} {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.RemoteAddr = "127.0.0.1:5000"
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		if w.Code != http.StatusNotFound {
			t.Errorf("%s: HTTP %d, want 404", path, w.Code)
		}
	}
}

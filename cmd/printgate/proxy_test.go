package main

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/printgate/printgate/internal/testenv"
)

// TestBehindTLSProxy: with server.behind_tls_proxy a browser that reaches
// the console through a TLS-terminating proxy on this machine (plain HTTP
// from loopback to printgate) gets a Secure, host-only session cookie and
// Strict-Transport-Security; without it, neither, as a plain-HTTP browser
// must.
func TestBehindTLSProxy(t *testing.T) {
	for _, proxied := range []bool{false, true} {
		t.Run(fmt.Sprintf("behind_tls_proxy=%v", proxied), func(t *testing.T) {
			cfg := newConfig(t, "")
			cfg.Server.BehindTLSProxy = proxied
			if proxied {
				// What the proxy forwards comes from loopback: neither
				// the queue nor /metrics may trust it (configproxy.go).
				cfg.Queues[0].TrustedNetworks = []string{"10.1.0.0/16"}
				cfg.Server.MetricsListen = net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t)))
				if err := cfg.validate(); err != nil {
					t.Fatal(err)
				}
			}
			runCLI(t, cfg, "dave-secret\n", "user", "add", "dave")
			srv := startServer(t, cfg)
			resp := consoleSignInReply(t, srv.Addr, "dave", "dave-secret")
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-in: HTTP %d", resp.StatusCode)
			}
			cookies := resp.Cookies()
			if len(cookies) != 1 {
				t.Fatalf("%d cookies set, want the session's", len(cookies))
			}
			c := cookies[0]
			if secure := c.Name == "__Host-printgate_session" && c.Secure; secure != proxied {
				t.Errorf("session cookie %s, Secure %v: Secure and host-only %v, want %v", c.Name, c.Secure, secure, proxied)
			}
			if hsts := resp.Header.Get("Strict-Transport-Security") != ""; hsts != proxied {
				t.Errorf("Strict-Transport-Security sent: %v, want %v", hsts, proxied)
			}
		})
	}
}

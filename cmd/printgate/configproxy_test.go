package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigBehindTLSProxy: behind a TLS-terminating proxy on this
// machine every client comes from loopback, so a requesting-user-name
// queue trusting loopback (as by default, or through a wider prefix) and
// /metrics on the main listeners open to loopback are refused, each with
// the reason; the supported shapes load. Without the proxy the defaults
// stand.
func TestConfigBehindTLSProxy(t *testing.T) {
	const (
		proxy   = "server: {behind_tls_proxy: true, metrics_listen: \"127.0.0.1:9100\"}\n"
		reason  = "every client the proxy forwards comes from loopback"
		metrics = "server.metrics_listen: needed with server.behind_tls_proxy"
	)
	for _, tc := range []struct {
		name, yaml, wantErr string
	}{
		{"no proxy, defaults", "", ""},
		{"default trusted networks", proxy,
			"queues[0].trusted_networks: unset, it is [127.0.0.0/8 ::1/128], which includes loopback: with server.behind_tls_proxy " + reason},
		{"loopback listed", proxy + "queues: [{name: a, trusted_networks: [\"10.1.0.0/16\", \"127.0.0.1/32\"]}]\n",
			`queues[0].trusted_networks: "127.0.0.1/32" includes loopback`},
		{"IPv6 loopback", proxy + "queues: [{name: a, trusted_networks: [\"::1/128\"]}]\n", `"::1/128" includes loopback`},
		{"everywhere", proxy + "queues: [{name: a, trusted_networks: [\"0.0.0.0/0\"]}]\n", `"0.0.0.0/0" includes loopback`},
		{"IPv4-mapped loopback", proxy + "queues: [{name: a, trusted_networks: [\"::ffff:127.0.0.1/128\"]}]\n", "includes loopback"},
		{"second queue", proxy + "queues: [{name: a, trusted_networks: [\"10.1.0.0/16\"]}, {name: b, mode: direct, printer: \"ipp://10.1.2.3/ipp/print\"}]\n",
			"queues[1].trusted_networks: unset"},
		{"print clients' network", proxy + "queues: [{name: a, trusted_networks: [\"10.1.0.0/16\", \"fd00::/8\"]}]\n", ""},
		{"basic queue", proxy + "queues: [{name: a, auth: basic}]\n", ""},
		{"metrics on the main listeners", "server: {behind_tls_proxy: true}\nqueues: [{name: a, auth: basic}]\n", metrics},
		{"metrics open to loopback among others",
			"server: {behind_tls_proxy: true, metrics_networks: [\"10.0.9.0/24\", \"::/0\"]}\nqueues: [{name: a, auth: basic}]\n", metrics},
		{"metrics for Prometheus only", "server: {behind_tls_proxy: true, metrics_networks: [\"10.0.9.0/24\"]}\nqueues: [{name: a, auth: basic}]\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PRINTGATE_DATABASE_URL", "")
			os.Unsetenv("PRINTGATE_DATABASE_URL")
			t.Setenv("PRINTGATE_DATA_DIR", "")
			path := ""
			if tc.yaml != "" {
				path = filepath.Join(t.TempDir(), "c.yaml")
				if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := loadConfig(path, "")
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

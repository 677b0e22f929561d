package main

import (
	"strings"
	"testing"
)

// TestServeDefaults starts the real binary on the default queue and
// checks that it tells a new user where to print and where to sign in.
func TestServeDefaults(t *testing.T) {
	cfg := newConfig(t, "")
	p := startProcess(t, cfg)
	out := p.log.String() // startProcess waited for the last start-up line
	for _, want := range []string{
		"print to ipp://" + cfg.Server.Listen[0] + "/ipp/print/secure (hold queue)",
		"sign in at http://" + cfg.Server.Listen[0] + "/signin",
		"printgate user add NAME --role admin",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("start-up output lacks %q:\n%s", want, out)
		}
	}
}

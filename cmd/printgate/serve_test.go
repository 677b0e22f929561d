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

// TestMemoryLimit: serve sets the runtime's soft memory limit from the
// configuration, 28 MiB by default, none at 0, and leaves it to the
// runtime when $GOMEMLIMIT is set.
func TestMemoryLimit(t *testing.T) {
	withLimit := func(mb int) Config {
		c := defaultConfig()
		c.Server.MemoryLimitMB = mb
		return c
	}
	cases := []struct {
		name  string
		cfg   Config
		env   string
		limit int64
		set   bool
	}{
		{"default", defaultConfig(), "", 28 << 20, true},
		{"configured", withLimit(48), "", 48 << 20, true},
		{"none", withLimit(0), "", 0, false},
		{"GOMEMLIMIT wins", withLimit(48), "100MiB", 0, false},
	}
	for _, c := range cases {
		getenv := func(k string) string {
			if k == "GOMEMLIMIT" {
				return c.env
			}
			return ""
		}
		limit, set := memoryLimit(c.cfg, getenv)
		if limit != c.limit || set != c.set {
			t.Errorf("%s: memoryLimit = %d, %v; want %d, %v", c.name, limit, set, c.limit, c.set)
		}
	}
	cfg := defaultConfig()
	cfg.Server.MemoryLimitMB = -1
	if err := cfg.validate(); err == nil || !strings.Contains(err.Error(), "server.memory_limit_mb") {
		t.Errorf("memory_limit_mb -1: %v; want it refused", err)
	}
}

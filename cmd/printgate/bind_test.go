package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestNewSpoolRefused points a server with a held job, whose document is
// large enough for a spool file, at a new, empty spool.dir: it must refuse
// to start rather than abort the job as document-missing, and go on as
// before once pointed back.
func TestNewSpoolRefused(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		cfg := newConfig(t, dbURL)
		cfg.Spool.Dir = filepath.Join(t.TempDir(), "spool")
		srv := startServer(t, cfg)
		id := ippSubmit(t, srv, "bob", "held while the spool moves", bigDocument("spool"))
		srv.Stop(t)

		moved := cfg
		moved.Spool.Dir = filepath.Join(t.TempDir(), "elsewhere")
		for range 2 { // a refusal must not make the next start accept it
			if msg := serveRefused(t, moved); !strings.Contains(msg, "new and empty") || !strings.Contains(msg, "spool.dir") {
				t.Errorf("refusal does not explain itself: %s", msg)
			}
		}

		srv = startServer(t, cfg)
		var state string
		openTestDB(t, srv).Raw("SELECT state FROM jobs WHERE id = ?", id).Scan(&state)
		if state != "pending-held" {
			t.Errorf("after the spool came back the job is %q, want pending-held", state)
		}
	})
}

package main

import (
	"net/http"
	"sync"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testdocs"
)

// combinedAttacks are attacks that need more than one defense at once.
func combinedAttacks() []attack {
	return []attack{
		{"PDF bombs and an argon2 flood at once", "the page budget and the argon2 limiter together " +
			"(pages.Budget, secret.Limiter)", attackBombAndFlood},
	}
}

// attackBombAndFlood sends two PDF bombs and the argon2 flood at the same
// time to one printgate process while alice prints: the process's peak
// resident memory stays under 256 MiB, the bombs are accepted (pages
// unknown), no flood request succeeds, and alice is served throughout.
func attackBombAndFlood(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		cfg := floodConfig(t, dbURL)
		p := startProcess(t, cfg)
		addr := cfg.Server.Listen[0]
		bomb := pdfBomb()

		var wg sync.WaitGroup
		bombs := make([]string, 2)
		for i := range bombs {
			wg.Go(func() {
				code, st, err := basicPost(addr, "secure", "mallory", "", bomb)
				if code != http.StatusOK || st != goipp.StatusOk || err != nil {
					bombs[i] = "not accepted"
				}
			})
		}
		var answers map[string]int
		wg.Go(func() { answers = flood(t, addr) })
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()

		normal := testdocs.PDF(3, "payroll", testdocs.A4)
		sent := 0
		for waiting := true; waiting; sent++ {
			select {
			case <-done:
				waiting = false
			default:
			}
			if code, st, err := basicPost(addr, "secure", "alice", "", normal); code != http.StatusOK || st != goipp.StatusOk || err != nil {
				t.Fatalf("normal Print-Job during the attack: HTTP %d %s %v", code, st, err)
			}
		}
		peak := vmHWM(t, p.cmd.Process.Pid)
		t.Logf("bombs and flood at once: VmHWM %d MiB; %d normal Print-Jobs served meanwhile; flood answers %v",
			peak>>20, sent, answers)
		if peak > bombLimit {
			t.Errorf("peak resident memory %d MiB, want under %d MiB", peak>>20, bombLimit>>20)
		}
		for i, b := range bombs {
			if b != "" {
				t.Errorf("bomb %d: %s, want accepted with pages unknown", i, b)
			}
		}
	})
}

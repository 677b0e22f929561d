package main

import (
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// TestTwoInstances runs two printgate instances on one PostgreSQL with a
// shared spool: a job submitted to one is released through the other,
// and 20 release calls split between both print a job exactly once.
func TestTwoInstances(t *testing.T) {
	dbURL := testenv.Postgres(t)
	shared := t.TempDir()
	printer := newSocketPrinter(t)
	configs := make([]Config, 2)
	for i := range configs {
		c := newConfig(t, dbURL)
		c.Log.Level = "warn"
		c.Spool.Dir, c.Spool.Shared = filepath.Join(shared, "spool"), true
		c.Spool.MasterKeyFile = filepath.Join(shared, "master.key")
		c.Credentials.KeyFile = filepath.Join(shared, "credentials.key")
		c.Audit.KeyFile = filepath.Join(shared, "audit.key")
		configs[i] = c
	}
	runCLI(t, configs[0], "bob-secret\n", "user", "add", "bob")
	runCLI(t, configs[0], "04A1B2C3\n", "card", "add", "bob")
	out := runCLI(t, configs[0], "", "device", "add", "mfp", "--printer", printer.URI(), "--queue", "secure", "--auth", "card")
	e := &releaseEnv{t: t, devices: map[string]string{"mfp": tokenLine.FindStringSubmatch(out)[1]}}
	a, b := startServer(t, configs[0]), startServer(t, configs[1])

	e.srv = a
	doc := testdocs.PDF(2, "submitted to A, released through B", testdocs.A4)
	id := e.submit("bob", doc)
	e.srv = b
	sess := e.login("mfp", map[string]string{"card": "04A1B2C3"})
	e.call("mfp", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id}})
	e.waitState("mfp", sess, id, "completed")
	if n := printer.count(doc); n != 1 {
		t.Errorf("job released through the other instance printed %d times, want once", n)
	}

	e.srv = a
	race := testdocs.PDF(1, "raced between instances", testdocs.A4)
	id = e.submit("bob", race)
	servers := []*testServer{a, b}
	sessions := make([]string, 2)
	for i, s := range servers {
		e.srv = s
		sessions[i] = e.login("mfp", map[string]string{"card": "04A1B2C3"})
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	claimed := 0
	for i := range 20 {
		wg.Go(func() {
			ee := *e
			ee.srv = servers[i%2]
			code, out := ee.call("mfp", http.MethodPost, "/release/sessions/"+sessions[i%2]+"/release",
				map[string]any{"jobs": []int64{id}})
			if code != http.StatusAccepted {
				t.Errorf("release through instance %d: HTTP %d %v", i%2, code, out)
				return
			}
			if out["jobs"].([]any)[0].(map[string]any)["problem"] == nil {
				mu.Lock()
				claimed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	e.srv = a
	e.waitState("mfp", sessions[0], id, "completed")
	time.Sleep(300 * time.Millisecond)
	if claimed != 1 || printer.count(race) != 1 {
		t.Errorf("%d calls claimed the job and it printed %d times; want 1 and 1", claimed, printer.count(race))
	}
}

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestNewerSchemaRefused: after a newer printgate has migrated the
// database one step further, this one neither migrates nor serves, and
// says why, before it binds or recovers anything.
func TestNewerSchemaRefused(t *testing.T) {
	cfg := newConfig(t, "")
	runCLI(t, cfg, "", "migrate")
	db := openTestDB(t, &testServer{Config: cfg, DataDir: cfg.DataDir})
	if err := db.Exec(`UPDATE schema_versions SET version = version + 1 WHERE component = 'release'`).Error; err != nil {
		t.Fatal(err)
	}
	const want = "is newer than this printgate knows"
	if out, err := tryCLI(t, cfg, "", "migrate"); err == nil || !strings.Contains(err.Error(), "release schema version") ||
		!strings.Contains(err.Error(), want) {
		t.Errorf("migrate: %v, want an error saying the release schema %s\n%s", err, want, out)
	}
	var out bytes.Buffer
	a := &app{stdout: &out, stderr: &out, stdin: strings.NewReader("")}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := a.serve(ctx, cfg); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("serve: %v, want an error saying the release schema %s\n%s", err, want, out.String())
	}
}

package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/testenv"
)

// TestStaleStaging: the snapshot folder of a backup that died is removed
// by the next command that opens the data dir; a running backup's is not.
func TestStaleStaging(t *testing.T) {
	dir := t.TempDir()
	running, release, err := newStaging(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	dead := filepath.Join(dir, ".backup-dead")
	if err := os.MkdirAll(dead, 0o700); err != nil {
		t.Fatal(err)
	}
	// A snapshot left behind, its lock file unlocked.
	for _, f := range []string{stagingLock, "printgate.db"} {
		if err := os.WriteFile(filepath.Join(dead, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := removeStaleStaging(dir, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("the dead backup's folder is still there: %v", err)
	}
	if _, err := os.Stat(running); err != nil {
		t.Errorf("the running backup's folder was removed: %v", err)
	}
}

// TestServeSweepsStaging: a running server removes the snapshot folder of
// a backup killed meanwhile at the sweeper's pace, and leaves a running
// backup's alone.
func TestServeSweepsStaging(t *testing.T) {
	cfg := newConfig(t, "")
	cfg.Release.SweepEvery = 100 * time.Millisecond
	startServer(t, cfg)
	running, release, err := newStaging(cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	dead := filepath.Join(cfg.DataDir, ".backup-killed")
	if err := os.MkdirAll(dead, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{stagingLock, "master.key"} {
		if err := os.WriteFile(filepath.Join(dead, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitFor(t, "the dead backup's folder to be removed", func() bool {
		_, err := os.Stat(dead)
		return os.IsNotExist(err)
	})
	if _, err := os.Stat(running); err != nil {
		t.Errorf("the running backup's folder was removed: %v", err)
	}
}

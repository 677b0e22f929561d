package main

import (
	"bytes"
	"context"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/release/spool"
)

// TestServeLocksDataDir: a second serve on the data dir of a running one
// stops at once, saying which process holds it, and before it touches
// anything: the first one's upload in progress (a "*.part" file, which
// recovery removes) and its journal are as they were, and it still
// serves.
func TestServeLocksDataDir(t *testing.T) {
	cfg := newConfig(t, "")
	p := startProcess(t, cfg)
	uri := "ipp://" + cfg.Server.Listen[0] + "/ipp/print/secure"
	r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "alice", mimeVal("application/pdf")),
		testdocs.PDF(1, "held while a second serve starts", testdocs.A4))
	if status(r) != goipp.StatusOk {
		t.Fatalf("Print-Job: %s", status(r))
	}
	// Get-Jobs waits until the journal's applier has written the job, its
	// document into a spool segment: the first serve's own change, which
	// would otherwise come between the two looks below.
	ippDo(t, uri, ippRequest(goipp.OpGetJobs, uri, "alice"), nil)
	upload := filepath.Join(cfg.spoolDir(), "upload-in-progress.part")
	if err := os.WriteFile(upload, []byte("half a document"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The spool and the journal: what the first serve's recovery would
	// change (the database's files change under a running serve).
	state := func() string {
		return listTree(t, cfg.spoolDir()) + "--\n" + listTree(t, filepath.Join(cfg.DataDir, "journal"))
	}
	before := state()

	var out bytes.Buffer
	second := &app{stdout: &out, stderr: &out, stdin: strings.NewReader("")}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	err := second.serve(ctx, cfg)
	want := "another printgate serve is using " + cfg.DataDir + " (pid " + strconv.Itoa(p.cmd.Process.Pid) + ")"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("second serve: %v, want an error saying %q\n%s", err, want, out.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the second serve took %v to refuse", d)
	}
	if _, err := os.Stat(upload); err != nil {
		t.Errorf("the first serve's upload in progress: %v", err)
	}
	if after := state(); after != before {
		t.Errorf("the spool or the journal changed under the first serve:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if code, _ := httpGet(t, "http://"+cfg.Server.Listen[0]+"/healthz"); code != http.StatusOK {
		t.Errorf("the first serve's /healthz: HTTP %d", code)
	}
}

// TestRestoreLocksDataDir: a restore into a data dir whose lock a serve
// holds (one just starting on it, still empty) is refused and writes
// nothing; once the serve has gone, the lock file it left does not make
// the data dir count as not empty.
func TestRestoreLocksDataDir(t *testing.T) {
	cfg := newConfig(t, "")
	runCLI(t, cfg, "bob-secret\n", "user", "add", "bob")
	if _, err := spool.LoadOrCreateKey(cfg.spoolKeyFile()); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "printgate.backup")
	runCLI(t, cfg, backupPassphrase+"\n", "backup", archive)

	fresh := cfg
	fresh.DataDir = filepath.Join(t.TempDir(), "restored")
	lock, err := lockDataDir(fresh.DataDir, "serve")
	if err != nil {
		t.Fatal(err)
	}
	out, err := tryCLI(t, fresh, backupPassphrase+"\n", "restore", archive)
	want := "another printgate serve is using " + fresh.DataDir + " (pid " + strconv.Itoa(os.Getpid()) + ")"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("restore beside a serve: %v, want an error saying %q\n%s", err, want, out)
	}
	if got := listTree(t, fresh.DataDir); !strings.HasPrefix(got, dataLockFile+" ") || strings.Count(got, "\n") != 1 {
		t.Errorf("a refused restore wrote into the serve's data dir:\n%s", got)
	}
	lock.Close()
	runCLI(t, fresh, backupPassphrase+"\n", "restore", archive)
	if out := runCLI(t, fresh, "", "user", "list"); !strings.Contains(out, "bob") {
		t.Errorf("user list after the restore:\n%s", out)
	}
}

// listTree lists the files under dir with their sizes, one a line.
func listTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		b.WriteString(rel + " " + strconv.FormatInt(fi.Size(), 10) + "\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestLockDataDirAfterCrash: the lock of a data dir whose serve has
// ended, still held a moment by another holder of its descriptor (a
// process the serve had begun to start), is taken once that lets go: a
// restart right after a crash once failed here, on a loaded machine.
func TestLockDataDirAfterCrash(t *testing.T) {
	dir := t.TempDir()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, dataLockFile)
	if err := os.WriteFile(path, []byte(strconv.Itoa(gone.Process.Pid)+" serve\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	// The other holder lets go once lockDataDir has found the lock taken
	// and paused.
	pauses := 0
	l, err := lockDataDirPausing(dir, "serve", func() {
		if pauses++; pauses == 1 {
			f.Close()
		}
	})
	if err != nil {
		t.Fatalf("the lock of a serve that has ended: %v, want it taken once let go", err)
	}
	l.Close()
	if pauses != 1 {
		t.Errorf("lockDataDir paused %d times, want 1: the lock was free or was not tried again", pauses)
	}
}

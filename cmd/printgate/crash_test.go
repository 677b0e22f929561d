package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"
	"gopkg.in/yaml.v3"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release/spool"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// printgateBinary builds the command once per test run, for tests that
// must kill a real process.
func printgateBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("a real printgate process is left out by -short")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "printgate-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "printgate")
		out, err := exec.Command("go", "build", "-tags", "nomsgpack", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// writeConfig writes cfg as YAML into a temporary file.
func writeConfig(t testing.TB, cfg Config) string {
	t.Helper()
	raw, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "printgate.yaml")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// process is printgate running as a child process.
type process struct {
	cmd *exec.Cmd
	log *syncBuffer
}

// startProcess runs "printgate serve" with cfg and waits until it listens.
func startProcess(t testing.TB, cfg Config) *process {
	t.Helper()
	path := writeConfig(t, cfg)
	p := &process{log: &syncBuffer{}}
	p.cmd = exec.Command(printgateBinary(t), "serve", "--config", path)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.kill()
		if leaks := leakedSecrets(p.log.String()); len(leaks) > 0 {
			t.Errorf("server log shows secrets %v:\n%s", leaks, p.log)
		}
	})
	testenv.WaitFor(t, "printgate to accept connections", func() bool {
		c, err := net.DialTimeout("tcp", cfg.Server.Listen[0], time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return p
}

func (p *process) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
	}
}

// TestCrashDuringUpload kills printgate with SIGKILL in the middle of an
// upload. After a restart the interrupted job has left nothing behind and
// the job acknowledged before the kill is intact.
func TestCrashDuringUpload(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		cfg := newConfig(t, dbURL)
		cfg.Log.Level = "info"
		p := startProcess(t, cfg)
		uri := "ipp://" + cfg.Server.Listen[0] + "/ipp/print/secure"

		acked := testdocs.PDF(3, "acknowledged before the crash", testdocs.A4)
		r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "alice", mimeVal("application/pdf")), acked)
		if status(r) != goipp.StatusOk {
			t.Fatalf("Print-Job: %s", status(r))
		}

		// Upload half of a 64 MiB document, wait until the server is
		// writing it, then kill the server.
		conn := startUpload(t, cfg.Server.Listen[0], uri, 64<<20)
		defer conn.Close()
		spoolDir := filepath.Join(cfg.DataDir, "spool")
		testenv.WaitFor(t, "the upload to reach the spool", func() bool {
			m, _ := filepath.Glob(filepath.Join(spoolDir, "*.part"))
			return len(m) > 0
		})
		p.kill()

		p = startProcess(t, cfg)
		defer p.kill()
		db := openTestDB(t, &testServer{Config: cfg, DataDir: cfg.DataDir})
		var rows []struct {
			ID         int64
			State      string
			Spool      string
			WrappedKey []byte
			SHA256     []byte
		}
		if err := db.Raw("SELECT id, state, spool, k.wrapped_key, sha256 FROM jobs LEFT JOIN job_keys k ON k.job_id = jobs.id").Scan(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 {
			t.Fatalf("%d job rows after the crash, want only the acknowledged one: %+v", len(rows), rows)
		}
		files, _ := os.ReadDir(spoolDir)
		if len(files) != 1 || files[0].Name() != rows[0].Spool+".doc" {
			var names []string
			for _, f := range files {
				names = append(names, f.Name())
			}
			t.Fatalf("spool holds %v, want only %s.doc", names, rows[0].Spool)
		}
		key, err := spool.LoadOrCreateKey(filepath.Join(cfg.DataDir, "master.key"))
		if err != nil {
			t.Fatal(err)
		}
		sp, err := spool.Open(spoolDir, key)
		if err != nil {
			t.Fatal(err)
		}
		defer sp.Close()
		doc, err := sp.Open(rows[0].Spool, rows[0].WrappedKey)
		if err != nil {
			t.Fatalf("open acknowledged document: %v", err)
		}
		defer doc.Close()
		h := sha256.New()
		if _, err := io.Copy(h, doc); err != nil {
			t.Fatalf("read acknowledged document: %v", err)
		}
		want := sha256.Sum256(acked)
		if !bytes.Equal(h.Sum(nil), want[:]) || !bytes.Equal(rows[0].SHA256, want[:]) {
			t.Errorf("acknowledged document changed: SHA-256 %x (recorded %x), want %x", h.Sum(nil), rows[0].SHA256, want)
		}
		if rows[0].State != "pending-held" {
			t.Errorf("acknowledged job state %s, want pending-held", rows[0].State)
		}
	})
}

// startUpload sends a Print-Job announcing size bytes of document and
// sends about half of them, leaving the connection open.
func startUpload(t *testing.T, addr, uri string, size int) net.Conn {
	t.Helper()
	hdr, err := ippRequest(goipp.OpPrintJob, uri, "bob", mimeVal("application/pdf")).EncodeBytes()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /ipp/print/secure HTTP/1.1\r\nHost: %s\r\nContent-Type: application/ipp\r\nContent-Length: %d\r\n\r\n", addr, len(hdr)+size)
	conn.Write(hdr)
	chunk := bytes.Repeat([]byte("%PDF-1.7 secret payroll "), 1<<14)
	for sent := 0; sent < size/2; sent += len(chunk) {
		if _, err := conn.Write(chunk); err != nil {
			t.Fatalf("upload: %v", err)
		}
	}
	return conn
}

// TestStartupRecovery: at start-up a job whose document is gone is marked
// aborted, and a document that no job refers to is removed.
func TestStartupRecovery(t *testing.T) {
	cfg := newConfig(t, "")
	srv := startServer(t, cfg)
	uri := srv.PrinterURI("secure")
	r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "alice", mimeVal("application/pdf")),
		testdocs.PDF(1, "recovery", testdocs.A4))
	id := attrValue(r.Job, "job-id")
	srv.Stop(t)
	spoolDir := filepath.Join(cfg.DataDir, "spool")
	files, _ := os.ReadDir(spoolDir)
	if len(files) != 1 {
		t.Fatalf("spool holds %d files, want 1", len(files))
	}
	os.Remove(filepath.Join(spoolDir, files[0].Name()))
	// Start-up removes only documents written for this database: their
	// names start with the prefix the first job's document carries.
	prefix, _, ok := strings.Cut(files[0].Name(), "-")
	if !ok {
		t.Fatalf("document %s is not named after its database", files[0].Name())
	}
	orphan := filepath.Join(spoolDir, prefix+"-ORPHANDOCUMENT.doc")
	foreign := filepath.Join(spoolDir, "OTHERDATABASE-DOCUMENT.doc")
	for _, f := range []string{orphan, foreign} {
		if err := os.WriteFile(f, []byte("left over"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	srv = startServer(t, cfg)
	db := openTestDB(t, srv)
	var row struct{ State, Reason string }
	db.Raw("SELECT state, reason FROM jobs WHERE id = ?", id).Scan(&row)
	if row.State != "aborted" || row.Reason != "document-missing" {
		t.Errorf("job without its document: %+v, want aborted (document-missing)", row)
	}
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("a document without a job survived start-up: %v", err)
	}
	if !strings.Contains(srv.Log.String(), prefix+"-ORPHANDOCUMENT") {
		t.Errorf("the removal of %s was not logged:\n%s", orphan, srv.Log)
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Errorf("a document written for another database was removed: %v", err)
	}
}

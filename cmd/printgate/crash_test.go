package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
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
	cmd    *exec.Cmd
	log    *syncBuffer
	exited chan struct{} // closed once the process has been waited for
}

// processListeners are the listening sockets of printgate processes, bound
// by the test and handed to each process by socket activation, so that the
// port stays the test's across kills and restarts.
type processListeners struct {
	lns []*net.TCPListener
}

// bindProcess binds every address cfg listens on until the test ends.
func bindProcess(t testing.TB, cfg Config) *processListeners {
	t.Helper()
	pl := &processListeners{}
	for _, ln := range bindAll(t, cfg) {
		pl.lns = append(pl.lns, ln.(*net.TCPListener))
	}
	return pl
}

// refuseUntil closes each connection made while no printgate runs, as a
// closed port would refuse it, until done is closed.
func (pl *processListeners) refuseUntil(done <-chan struct{}) {
	var wg sync.WaitGroup
	for _, ln := range pl.lns {
		wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		})
	}
	<-done
	for _, ln := range pl.lns {
		ln.SetDeadline(time.Unix(1, 0))
	}
	wg.Wait()
	for _, ln := range pl.lns {
		ln.SetDeadline(time.Time{})
	}
}

// startProcess runs "printgate serve" with cfg on listeners bound for it
// and waits until it serves.
func startProcess(t testing.TB, cfg Config) *process {
	t.Helper()
	return startProcessOn(t, cfg, bindProcess(t, cfg))
}

// readyLine is what serve prints once every listener is in place.
const readyLine = "printgate: data in "

// startProcessOn runs "printgate serve" with cfg, handing it pl's
// listeners by socket activation, and waits until it serves.
func startProcessOn(t testing.TB, cfg Config, pl *processListeners) *process {
	t.Helper()
	path := writeConfig(t, cfg)
	p := &process{log: &syncBuffer{}, exited: make(chan struct{})}
	// LISTEN_PID must name printgate itself: the shell learns its own
	// process id and execs printgate, which keeps it.
	p.cmd = exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" "$@"`, printgateBinary(t), "serve", "--config", path)
	p.cmd.Env = append(os.Environ(), "LISTEN_FDS="+strconv.Itoa(len(pl.lns)))
	for _, ln := range pl.lns {
		f, err := ln.File()
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close() // the child holds its own copy
		p.cmd.ExtraFiles = append(p.cmd.ExtraFiles, f)
	}
	ready := &readyWriter{buf: p.log, ready: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = ready, ready
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if leaks := leakedSecrets(p.log.String()); len(leaks) > 0 {
			t.Errorf("server log shows secrets %v:\n%s", leaks, p.log)
		}
	})
	select {
	case <-ready.ready:
	case <-p.exited:
		t.Fatalf("printgate did not start: %s\n%s", p.cmd.ProcessState, p.log)
	case <-time.After(60 * time.Second):
		t.Fatalf("printgate did not start serving on %v\n%s", cfg.Server.Listen, p.log)
	}
	return p
}

// readyWriter keeps a process's output and closes ready once it shows
// readyLine.
type readyWriter struct {
	buf   *syncBuffer
	once  sync.Once
	ready chan struct{}
}

func (w *readyWriter) Write(b []byte) (int, error) {
	n, err := w.buf.Write(b)
	select {
	case <-w.ready:
	default:
		if strings.Contains(w.buf.String(), readyLine) {
			w.once.Do(func() { close(w.ready) })
		}
	}
	return n, err
}

func (p *process) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// TestCrashDuringUpload kills printgate with SIGKILL in the middle of an
// upload. After a restart the interrupted job has left nothing behind and
// the job acknowledged before the kill is intact.
func TestCrashDuringUpload(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		cfg := newConfig(t, dbURL)
		cfg.Log.Level = "info"
		pl := bindProcess(t, cfg) // the same port after the restart
		p := startProcessOn(t, cfg, pl)
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

		p = startProcessOn(t, cfg, pl)
		defer p.kill()
		db := openTestDB(t, &testServer{Config: cfg, DataDir: cfg.DataDir})
		rows := storedJobs(t, db)
		if len(rows) != 1 {
			t.Fatalf("%d job rows after the crash, want only the acknowledged one: %+v", len(rows), rows)
		}
		if docs, want := documents(cfg), documentNames(rows); !slices.Equal(docs, want) {
			t.Fatalf("documents kept: %v, want only the acknowledged job's %v", docs, want)
		}
		got, err := readDocument(openSpool(t, cfg), rows[0])
		if err != nil {
			t.Fatalf("read acknowledged document: %v", err)
		}
		want := sha256.Sum256(acked)
		if sha256.Sum256(got) != want || !bytes.Equal(rows[0].SHA256, want[:]) {
			t.Errorf("acknowledged document changed: SHA-256 %x (recorded %x), want %x", sha256.Sum256(got), rows[0].SHA256, want)
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

// TestStartupRecovery: at start-up a job whose document is gone, from its
// spool file, its spool segment or the database, is marked aborted, and a
// document that no job refers to, in any of them, is removed. Small
// documents are in the database without the journal, in a segment with it.
func TestStartupRecovery(t *testing.T) {
	for _, journal := range []bool{false, true} {
		t.Run(fmt.Sprintf("journal=%v", journal), func(t *testing.T) {
			testStartupRecovery(t, journal)
		})
	}
}

func testStartupRecovery(t *testing.T, journal bool) {
	cfg := newConfig(t, "")
	cfg.Database.Journal = new(journal)
	srv := startServer(t, cfg)
	uri := srv.PrinterURI("secure")
	r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "alice", mimeVal("application/pdf")),
		bigDocument("recovery"))
	id := attrValue(r.Job, "job-id")
	r = ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "alice", mimeVal("application/pdf")),
		testdocs.PDF(1, "recovery from the database", testdocs.A4))
	small := attrValue(r.Job, "job-id")
	srv.Stop(t)
	db := openTestDB(t, srv)
	spoolDir := filepath.Join(cfg.DataDir, "spool")
	files := mustReadDir(spoolDir)
	if want := map[bool]int{false: 1, true: 2}[journal]; len(files) != want {
		t.Fatalf("spool holds %v, want %d files", files, want)
	}
	for _, f := range files {
		os.Remove(filepath.Join(spoolDir, f)) // the large document, and the small one's segment
	}
	for _, q := range []string{"DELETE FROM job_documents WHERE job_id = " + small,
		"INSERT INTO job_documents (job_id, data) VALUES (999999, 'left over')"} {
		if err := db.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	// Start-up removes only documents written for this database: their
	// names start with the prefix the first job's document carries.
	prefix, _, ok := strings.Cut(files[0], "-")
	if !ok {
		t.Fatalf("document %s is not named after its database", files[0])
	}
	orphan := filepath.Join(spoolDir, prefix+"-ORPHANDOCUMENT.doc")
	orphanSegment := filepath.Join(spoolDir, spool.SegmentName(prefix+"-", 0xff))
	foreign := filepath.Join(spoolDir, "OTHERDATABASE-DOCUMENT.doc")
	foreignSegment := filepath.Join(spoolDir, spool.SegmentName("OTHERDATABASE-", 1))
	for _, f := range []string{orphan, orphanSegment, foreign, foreignSegment} {
		if err := os.WriteFile(f, []byte("left over"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	srv = startServer(t, cfg)
	for _, job := range []string{id, small} {
		var row struct{ State, Reason string }
		db.Raw("SELECT state, reason FROM jobs WHERE id = ?", job).Scan(&row)
		if row.State != "aborted" || row.Reason != "document-missing" {
			t.Errorf("job %s without its document: %+v, want aborted (document-missing)", job, row)
		}
	}
	if docs := documents(cfg); slices.Contains(docs, "db:999999") {
		t.Errorf("a document without a job survived start-up in the database: %v", docs)
	}
	for _, f := range []string{orphan, orphanSegment} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s, which no job's document is in, survived start-up: %v", filepath.Base(f), err)
		}
	}
	if !strings.Contains(srv.Log.String(), prefix+"-ORPHANDOCUMENT") {
		t.Errorf("the removal of %s was not logged:\n%s", orphan, srv.Log)
	}
	for _, f := range []string{foreign, foreignSegment} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("a document written for another database was removed: %v", err)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testenv"
)

// runLoad runs the command in-process and returns its exit status, the
// decoded RESULT line and the whole output.
func runLoad(t *testing.T, env map[string]string, args ...string) (int, summary, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb, func(k string) string { return env[k] })
	var s summary
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last, ok := strings.CutPrefix(lines[len(lines)-1], "RESULT ")
	if !ok {
		t.Fatalf("printgate-load %v: exit %d, no RESULT line:\n%s%s", args, code, out.String(), errb.String())
	}
	if err := json.Unmarshal([]byte(last), &s); err != nil {
		t.Fatalf("RESULT line: %v\n%s", err, last)
	}
	return code, s, out.String() + errb.String()
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// TestMain removes the printgate binary that the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// printgateBinary builds ./cmd/printgate once per test run.
func printgateBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "printgate-load-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "printgate")
		out, err := exec.Command("go", "build", "-tags", "nomsgpack", "-o", binPath, "../printgate").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ../printgate: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// printgateServer is a printgate process with one hold queue named hold.
type printgateServer struct {
	bin, config, addr string
}

func newPrintgate(t *testing.T) *printgateServer {
	t.Helper()
	dir := t.TempDir()
	s := &printgateServer{bin: printgateBinary(t), config: filepath.Join(dir, "printgate.yaml"),
		addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t)))}
	cfg := fmt.Sprintf("data_dir: %s\nserver:\n  listen: [%q]\nlog:\n  level: warn\nqueues:\n  - name: hold\n    mode: hold\n",
		filepath.Join(dir, "var"), s.addr)
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// cli runs a printgate subcommand with stdin.
func (s *printgateServer) cli(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(s.bin, append(args, "--config", s.config)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("printgate %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// start runs printgate serve until the test ends.
func (s *printgateServer) start(t *testing.T) {
	t.Helper()
	var log bytes.Buffer
	cmd := exec.Command(s.bin, "serve", "--config", s.config)
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("printgate did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var tokenLine = regexp.MustCompile(`(?m)^token: (\S+)$`)

// TestAgainstPrintgate submits, lists and releases jobs on a real printgate
// process and checks the counts in the summary.
func TestAgainstPrintgate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs printgate")
	}
	// The device's printer: an AppSocket listener that counts documents.
	printer, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer printer.Close()
	var printed atomic.Int64
	go func() {
		for {
			c, err := printer.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if n, _ := io.Copy(io.Discard, c); n > 0 {
					printed.Add(1)
				}
			}()
		}
	}()

	pg := newPrintgate(t)
	pg.cli(t, "bob-password-1\n", "user", "add", "bob")
	pg.cli(t, "4821\n", "user", "set-pin", "bob")
	// The jobs' owner: a hold queue refuses names it does not know.
	pg.cli(t, "alice-password-1\n", "user", "add", "alice")
	m := tokenLine.FindStringSubmatch(pg.cli(t, "", "device", "add", "mfp", "--printer", "socket://"+printer.Addr().String(),
		"--queue", "hold", "--auth", "id+pin"))
	if m == nil {
		t.Fatal("printgate device add printed no token")
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(m[1]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pg.start(t)
	target := "--target=ipp://" + pg.addr + "/ipp/print/hold"

	t.Run("print-job", func(t *testing.T) {
		code, s, out := runLoad(t, nil, target, "--generate-pdf=10KB", "--jobs=50", "--concurrency=4", "--user-name=alice")
		if code != 0 || s.Requested != 50 || s.Completed != 50 || s.OK != 50 || s.Errors != 0 || s.DocumentBytes != 10000 {
			t.Errorf("exit %d, summary %+v\n%s", code, s, out)
		}
		if s.PerSecond <= 0 || s.Latency.P50 <= 0 || s.Latency.P50 > s.Latency.P99 || s.Latency.P99 > s.Latency.Max {
			t.Errorf("implausible rate or latency: %+v", s.phase)
		}
	})
	t.Run("large document from disk", func(t *testing.T) {
		code, s, out := runLoad(t, nil, target, "--generate-pdf=3MiB", "--jobs=4", "--concurrency=2", "--user-name=alice")
		if code != 0 || s.OK != 4 || s.DocumentBytes != 3<<20 {
			t.Errorf("exit %d, summary %+v\n%s", code, s, out)
		}
	})
	t.Run("get-jobs", func(t *testing.T) {
		code, s, out := runLoad(t, nil, target, "--op=get-jobs", "--jobs=5", "--concurrency=2")
		if code != 0 || s.OK != 5 || s.JobsReturned == nil || *s.JobsReturned != [2]int{54, 54} {
			t.Errorf("exit %d, summary %+v\n%s", code, s, out)
		}
	})
	t.Run("release", func(t *testing.T) {
		env := map[string]string{envPIN: "4821"}
		code, s, out := runLoad(t, env, target, "--generate-pdf=10KB", "--jobs=12", "--concurrency=4",
			"--release-api=http://"+pg.addr, "--device-token-file="+tokenFile, "--pin-user=bob")
		if code != 0 || s.OK != 12 || s.Release == nil || s.Release.Requested != 12 || s.Release.OK != 12 || s.Release.Errors != 0 {
			t.Fatalf("exit %d, summary %+v, release %+v\n%s", code, s, s.Release, out)
		}
		deadline := time.Now().Add(30 * time.Second)
		for printed.Load() < 12 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if n := printed.Load(); n != 12 {
			t.Errorf("the printer got %d documents, want 12", n)
		}
		if strings.Contains(out, "4821") || strings.Contains(out, m[1]) {
			t.Errorf("output shows the PIN or the device token:\n%s", out)
		}
	})
	t.Run("warm-up", func(t *testing.T) {
		code, s, out := runLoad(t, nil, target, "--generate-pdf=10KB", "--warmup=10", "--jobs=20", "--concurrency=4", "--user-name=alice")
		if code != 0 || s.Requested != 20 || s.OK != 20 || s.Warmup == nil || s.Warmup.Requested != 10 || s.Warmup.OK != 10 || s.Warmup.PerSecond <= 0 {
			t.Fatalf("exit %d, summary %+v, warm-up %+v\n%s", code, s, s.Warmup, out)
		}
		// make bench reads the counted figures as the first of their
		// names in the RESULT line, and the warm-up's after "warmup".
		result := out[strings.Index(out, "RESULT "):]
		if w := strings.Index(result, `"warmup":`); w < 0 || strings.Index(result, `"per_s"`) > w || !strings.Contains(result[w:], `"per_s"`) {
			t.Errorf("the warm-up's figures are not last in %s", result)
		}
	})
	t.Run("wrong PIN", func(t *testing.T) {
		env := map[string]string{envPIN: "9731"}
		code, s, out := runLoad(t, env, target, "--generate-pdf=10KB", "--jobs=2",
			"--release-api=http://"+pg.addr, "--device-token-file="+tokenFile, "--pin-user=bob")
		if code != 1 || s.Release == nil || s.Release.ErrorsByStatus["session:http:401"] != 1 || s.Release.OK != 0 {
			t.Errorf("exit %d, release %+v\n%s", code, s.Release, out)
		}
	})
}

// TestClosedPort reports a target that refuses connections as errors and
// returns promptly.
func TestClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	start := time.Now()
	code, s, out := runLoad(t, nil, "--target=ipp://"+addr+"/ipp/print/hold", "--generate-pdf=10KB",
		"--jobs=50", "--concurrency=4", "--timeout=5s")
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("took %v against a closed port", elapsed)
	}
	if code != 1 || s.Completed != 50 || s.OK != 0 || s.ErrorsByStatus["transport:connection-refused"] != 50 {
		t.Errorf("exit %d, summary %+v\n%s", code, s, out)
	}
}

// TestStalledServer gives up on a server that accepts and never answers,
// after --timeout, and stops at --duration.
func TestStalledServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // hold it open, say nothing
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	start := time.Now()
	code, s, out := runLoad(t, nil, "--target=ipp://"+ln.Addr().String()+"/q", "--op=get-jobs",
		"--duration=500ms", "--concurrency=2", "--timeout=300ms")
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("took %v", elapsed)
	}
	if code != 1 || s.Requested != 0 || s.OK != 0 || s.Completed < 2 || s.ErrorsByStatus["transport:timeout"] != s.Completed {
		t.Errorf("exit %d, summary %+v\n%s", code, s, out)
	}
}

// TestStatusesAndBasicAuth runs against an IPPS server that wants HTTP
// Basic: the password comes from a file, --insecure accepts its
// certificate, and IPP and HTTP errors are counted by status.
func TestStatusesAndBasicAuth(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "s3cret-pw" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		var req goipp.Message
		if err := req.Decode(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.Copy(io.Discard, r.Body)
		status := goipp.StatusOk
		if goipp.Op(req.Code) == goipp.OpPrintJob {
			status = goipp.StatusErrorNotPossible
		}
		reply := goipp.NewResponse(req.Version, status, req.RequestID)
		reply.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
		reply.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
		if status == goipp.StatusOk {
			reply.Groups = goipp.Groups{{Tag: goipp.TagOperationGroup, Attrs: reply.Operation}}
			for id := 1; id <= 3; id++ {
				reply.Groups = append(reply.Groups, goipp.Group{Tag: goipp.TagJobGroup, Attrs: goipp.Attributes{
					goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(id))}})
			}
		}
		w.Header().Set("Content-Type", goipp.ContentType)
		reply.Encode(w)
	}))
	// The refused certificates are the point of a case, not news.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	target := "--target=ipps://" + strings.TrimPrefix(srv.URL, "https://") + "/ipp/print/q"
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		key  string // the error class every request must end in; "" for success
	}{
		{name: "get-jobs", args: []string{"--op=get-jobs", "--insecure", "--user=alice", "--password-file=" + pwFile}},
		{name: "password from environment", env: map[string]string{envPassword: "s3cret-pw"},
			args: []string{"--op=get-jobs", "--insecure", "--user=alice"}},
		{name: "IPP error", args: []string{"--generate-pdf=10KB", "--insecure", "--user=alice", "--password-file=" + pwFile},
			code: 1, key: "ipp:client-error-not-possible"},
		{name: "wrong password", env: map[string]string{envPassword: "guess"}, args: []string{"--op=get-jobs", "--insecure", "--user=alice"},
			code: 1, key: "http:401"},
		{name: "certificate not trusted", args: []string{"--op=get-jobs", "--user=alice", "--password-file=" + pwFile},
			code: 1, key: "transport:tls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, s, out := runLoad(t, tt.env, append([]string{target, "--jobs=6", "--concurrency=3"}, tt.args...)...)
			if code != tt.code || s.Completed != 6 {
				t.Fatalf("exit %d, summary %+v\n%s", code, s, out)
			}
			if tt.key == "" {
				if s.OK != 6 || s.JobsReturned == nil || *s.JobsReturned != [2]int{3, 3} {
					t.Errorf("summary %+v", s)
				}
			} else if s.ErrorsByStatus[tt.key] != 6 || len(s.ErrorsByStatus) != 1 {
				t.Errorf("errors %v, want 6 × %s\n%s", s.ErrorsByStatus, tt.key, out)
			}
			if strings.Contains(out, "s3cret-pw") {
				t.Errorf("output shows the password:\n%s", out)
			}
		})
	}
}

// TestRemoteRefused exits with status 2 before sending anything.
func TestRemoteRefused(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"--target=ipp://192.0.2.7/ipp/print/q", "--jobs=1", "--op=get-jobs"},
		&out, &errb, func(string) string { return "" })
	if code != 2 || out.Len() != 0 || !strings.Contains(errb.String(), "--allow-remote") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

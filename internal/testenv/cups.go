package testenv

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// CUPSServer is a running private cupsd.
type CUPSServer struct {
	// Server is host:port of the scheduler, as CUPS_SERVER wants it.
	Server string
	// Dir holds the configuration (ServerRoot), state, spool and logs.
	Dir string
}

// cupsdConf lets anyone on loopback do anything without authentication:
// the scheduler is private to one test. A failing backend aborts its job
// instead of stopping the queue, so that a test sees the failure at once.
const cupsdConf = `LogLevel debug
MaxLogSize 0
Listen 127.0.0.1:{{port}}
ServerName 127.0.0.1
WebInterface No
Browsing Off
DefaultAuthType None
ErrorPolicy abort-job
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
`

// cupsFilesConf keeps every file of the scheduler under one folder. cupsd
// refuses "User root", so filters and backends run as Debian's lp user,
// which is why the folder is readable by others.
const cupsFilesConf = `ServerRoot {{dir}}/etc
StateDir {{dir}}/run
CacheDir {{dir}}/cache
RequestRoot {{dir}}/spool
TempDir {{dir}}/tmp
AccessLog {{dir}}/log/access_log
ErrorLog {{dir}}/log/error_log
PageLog {{dir}}/log/page_log
FileDevice Yes
SystemGroup root
`

// CUPS starts Debian's cupsd in the foreground on a free loopback port
// with its own configuration, and stops it in t.Cleanup. Use Run to point
// lpadmin, lp and lpstat at it.
func CUPS(t testing.TB) *CUPSServer {
	t.Helper()
	cupsd := Tool(t, "cupsd")
	dir := sharedDir(t, "pg-cups-")
	for _, sub := range []string{"etc", "run", "cache", "spool", "tmp", "log"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatalf("testenv: cupsd: %v", err)
		}
	}
	files := filepath.Join(dir, "etc", "cups-files.conf")
	conf := filepath.Join(dir, "etc", "cupsd.conf")
	if err := os.WriteFile(files, []byte(expand(cupsFilesConf, map[string]string{"dir": dir})), 0o644); err != nil {
		t.Fatalf("testenv: cupsd: %v", err)
	}

	c := &CUPSServer{Dir: dir}
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("testenv: cupsd: %v", err)
		}
		text := expand(cupsdConf, map[string]string{"port": strconv.Itoa(port)})
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatalf("testenv: cupsd: %v", err)
		}
		c.Server = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		p, err := startProcess("cupsd", cupsd, nil, "-f", "-c", conf, "-s", files)
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		lastErr = p.waitReady(dialReady(c.Server))
		if lastErr == nil {
			t.Cleanup(p.stop)
			return c
		}
		p.stop()
	}
	t.Fatalf("testenv: %v\n%s", lastErr, c.ErrorLog())
	return nil
}

// Command returns a command for the named CUPS tool (lpadmin, lp, lpstat,
// cancel, …) that talks to this scheduler. Its environment may be extended
// before it runs.
func (c *CUPSServer) Command(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(Tool(t, name), args...)
	cmd.Env = append(cmd.Environ(), c.env()...)
	return cmd
}

// Run runs the named CUPS tool against this scheduler and returns its
// standard output and error together.
func (c *CUPSServer) Run(t testing.TB, name string, args ...string) (string, error) {
	t.Helper()
	return runTool(Tool(t, name), "", c.env(), args...)
}

func (c *CUPSServer) env() []string {
	// LANG=C keeps messages in English for tests that read them.
	return []string{"CUPS_SERVER=" + c.Server, "LANG=C", "LC_ALL=C"}
}

// ErrorLog returns the end (64 KiB at most) of the scheduler's log, written
// at debug level, which says why a queue or job failed.
func (c *CUPSServer) ErrorLog() string {
	b, err := os.ReadFile(filepath.Join(c.Dir, "log", "error_log"))
	if err != nil {
		return "(no cupsd error_log: " + err.Error() + ")"
	}
	if over := len(b) - 64<<10; over > 0 {
		b = b[over:]
	}
	return strings.TrimSpace(string(b))
}

// AddEverywhereQueue adds the queue name for the IPP printer at uri the
// way an administrator would (lpadmin -E -m everywhere) and waits until
// the scheduler has loaded the PPD it generates from the printer's
// attributes: lpadmin returns before that, and a job printed meanwhile is
// aborted as one the queue "cannot convert".
func (c *CUPSServer) AddEverywhereQueue(t testing.TB, name, uri string) {
	t.Helper()
	if out, err := c.Run(t, "lpadmin", "-p", name, "-E", "-v", uri, "-m", "everywhere"); err != nil {
		t.Fatalf("testenv: lpadmin: %v\n%s\ncupsd log:\n%s", err, out, c.ErrorLog())
	}
	ppd := filepath.Join(c.Dir, "etc", "ppd", name+".ppd")
	data := filepath.Join(c.Dir, "cache", name+".data")
	WaitFor(t, "cupsd to load the PPD of queue "+name, func() bool {
		p, err := os.Stat(ppd)
		if err != nil {
			return false
		}
		b, err := os.ReadFile(ppd)
		if err != nil || !strings.Contains(string(b), "*cupsFilter2:") {
			return false
		}
		// cupsd saves the data it took from the PPD once it has loaded it.
		d, err := os.Stat(data)
		return err == nil && !d.ModTime().Before(p.ModTime())
	})
}

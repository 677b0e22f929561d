package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// PGCluster is a private PostgreSQL server a test may stop and start, for
// checking what happens while the database is away.
type PGCluster struct {
	// URL connects to its postgres database.
	URL    string
	t      testing.TB
	dir    string
	port   int
	pgCtl  string
	runAs  []string
	stdout string
}

// PrivatePostgres initialises and starts a PostgreSQL cluster of its own
// in a temporary folder, on a free loopback port, stopped at the end of
// the test. initdb and postgres refuse to run as root, so as root they run
// as the postgres user.
func PrivatePostgres(t testing.TB) *PGCluster {
	t.Helper()
	initdb, err := pgBin("initdb")
	Need(t, "PostgreSQL server binaries (initdb)", err)
	pgCtl, err := pgBin("pg_ctl")
	Need(t, "PostgreSQL server binaries (pg_ctl)", err)
	dir, err := os.MkdirTemp("", "printgate-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c := &PGCluster{t: t, dir: dir, pgCtl: pgCtl}
	if os.Geteuid() == 0 {
		c.runAs = []string{"runuser", "-u", "postgres", "--"}
		if err := exec.Command("chown", "postgres:postgres", dir).Run(); err != nil {
			t.Fatalf("testenv: chown %s: %v", dir, err)
		}
	}
	t.Cleanup(func() {
		c.run("-m", "immediate", "-w", "stop")
		os.RemoveAll(dir)
	})
	if out, err := c.command(initdb, "-D", c.data(), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8").CombinedOutput(); err != nil {
		t.Fatalf("testenv: initdb: %v\n%s", err, out)
	}
	c.port = FreePort(t)
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
	c.Start()
	return c
}

func (c *PGCluster) data() string { return filepath.Join(c.dir, "data") }

func (c *PGCluster) command(bin string, args ...string) *exec.Cmd {
	argv := append(append([]string{}, c.runAs...), bin)
	argv = append(argv, args...)
	return exec.Command(argv[0], argv[1:]...)
}

func (c *PGCluster) run(args ...string) ([]byte, error) {
	all := append([]string{"-D", c.data()}, args...)
	return c.command(c.pgCtl, all...).CombinedOutput()
}

// Start starts the server and waits until it accepts connections.
func (c *PGCluster) Start() {
	c.t.Helper()
	opts := "-c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -p " + strconv.Itoa(c.port)
	if out, err := c.run("-l", filepath.Join(c.dir, "server.log"), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		c.t.Fatalf("testenv: start PostgreSQL: %v\n%s\n%s", err, out, log)
	}
}

// Stop stops the server at once, as a crash or an administrator would.
func (c *PGCluster) Stop() {
	c.t.Helper()
	if out, err := c.run("-m", "fast", "-w", "stop"); err != nil {
		c.t.Fatalf("testenv: stop PostgreSQL: %v\n%s", err, out)
	}
}

// pgBin finds a PostgreSQL server program in Debian's versioned folders.
func pgBin(name string) (string, error) {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(matches) > 0 {
		return matches[len(matches)-1], nil
	}
	return exec.LookPath(name)
}

// Package testenv starts real outside servers and tools for printgate's
// tests: PostgreSQL databases, OpenLDAP's slapd, CUPS's ippeveprinter and
// cupsd, ipptool, Chromium, Avahi's daemon with avahi-browse, and rsyslog
// (a SIEM's collector), all from Debian's packages.
//
// A helper whose tool or server is missing skips the test, unless the
// environment variable PRINTGATE_TEST_STRICT is "1", in which case it fails
// it: CI sets that so that a missing install step cannot pass unnoticed.
//
// Every process a helper starts listens on loopback only, lives in folders
// of its own and is stopped by t.Cleanup. Children are also started with a
// parent-death signal so that a test binary killed by a timeout leaves none
// behind.
package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// StrictEnv is the environment variable that turns skips into failures.
const StrictEnv = "PRINTGATE_TEST_STRICT"

// Strict reports whether missing tools and servers fail tests instead of
// skipping them.
func Strict() bool { return os.Getenv(StrictEnv) == "1" }

// Need stops the test when err is not nil: it skips it, or fails it in
// strict mode. what names the missing piece for the reader of the test
// log, as in "PostgreSQL at 127.0.0.1:5432".
//
// With go test -short, every outside server and tool is left out, present
// or not: that is the fast `make check`.
func Need(t testing.TB, what string, err error) {
	t.Helper()
	if testing.Short() {
		t.Skipf("testenv: %s left out by -short", what)
	}
	if err == nil {
		return
	}
	if Strict() {
		t.Fatalf("testenv: %s is required (%s=1): %v", what, StrictEnv, err)
	}
	t.Skipf("testenv: %s not available: %v", what, err)
}

// LookTool finds an executable in PATH or in the sbin folders, which are
// searched too because Debian puts slapd, cupsd, lpadmin and ippeveprinter
// there and a non-login shell may lack them in PATH.
func LookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	sbinDirs := []string{"/usr/local/sbin", "/usr/sbin", "/sbin"}
	for _, dir := range sbinDirs {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH or %v", name, sbinDirs)
}

// Tool returns the path of the named executable, or stops the test as Need
// does when it is missing.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := LookTool(name)
	Need(t, "tool "+name, err)
	return p
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// Another process may take it before the caller binds it; the helpers that
// start servers retry on a fresh port when that happens.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("testenv: find a free port: %v", err)
	}
	return port
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("listener address is not TCP")
	}
	return addr.Port, nil
}

// Chromium returns the path of Debian's Chromium browser.
func Chromium(t testing.TB) string {
	t.Helper()
	const debian = "/usr/bin/chromium"
	if fi, err := os.Stat(debian); err == nil && !fi.IsDir() {
		Need(t, "Chromium", nil)
		return debian
	}
	return Tool(t, "chromium")
}

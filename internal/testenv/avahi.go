package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// avahiLock serialises the tests that run an Avahi daemon, across test
// binaries: avahi-daemon keeps its pid file in /run/avahi-daemon whatever
// its configuration, so a second one refuses to start, and two daemons on
// loopback would each hear the other's services.
const avahiLock = "/tmp/printgate-testenv-avahi.lock"

// avahiSystemConf is the private D-Bus system bus's configuration: every
// client may own names and talk to every other, as on a test machine.
const avahiSystemConf = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={{dir}}/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/>
    <allow send_type="method_call"/><allow send_type="signal"/>
    <allow send_type="method_return"/><allow send_type="error"/>
    <allow receive_type="method_call"/><allow receive_type="signal"/>
    <allow receive_type="method_return"/><allow receive_type="error"/>
  </policy>
</busconfig>
`

// avahiConf keeps the daemon on loopback, IPv4 only.
const avahiConf = `[server]
use-ipv4=yes
use-ipv6=no
allow-interfaces=lo
enable-dbus=yes
[publish]
publish-addresses=yes
[reflector]
[rlimits]
`

// Avahi is a private Avahi (mDNS/DNS-SD) daemon on loopback with a D-Bus
// system bus of its own.
type Avahi struct {
	// Bus is the D-Bus address of its system bus, for
	// DBUS_SYSTEM_BUS_ADDRESS.
	Bus    string
	t      testing.TB
	dir    string
	daemon *process
}

// StartAvahi starts Debian's dbus-daemon and avahi-daemon on loopback and
// stops them in t.Cleanup. Tests that call it run one at a time, across
// packages too (see avahiLock); it must be run as root, as avahi-daemon
// is.
func StartAvahi(t testing.TB) *Avahi {
	t.Helper()
	dbusBin := Tool(t, "dbus-daemon")
	Tool(t, "avahi-daemon")
	Tool(t, "avahi-browse")
	if os.Geteuid() != 0 {
		Need(t, "root, to run avahi-daemon", errors.New("not root"))
	}
	lockAvahi(t)
	a := &Avahi{t: t, dir: sharedDir(t, "pg-avahi-")}
	a.Bus = "unix:path=" + filepath.Join(a.dir, "bus")
	write := func(name, text string) string {
		path := filepath.Join(a.dir, name)
		if err := os.WriteFile(path, []byte(expand(text, map[string]string{"dir": a.dir})), 0o600); err != nil {
			t.Fatalf("testenv: avahi: %v", err)
		}
		return path
	}
	conf := write("system.conf", avahiSystemConf)
	write("avahi.conf", avahiConf)
	bus, err := startProcess("dbus-daemon", dbusBin, nil, "--config-file="+conf, "--nofork", "--nopidfile")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(bus.stop)
	if err := bus.waitReady(unixReady(filepath.Join(a.dir, "bus"))); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	a.Start()
	t.Cleanup(a.Stop)
	return a
}

// lockAvahi takes avahiLock until t ends.
func lockAvahi(t testing.TB) {
	f, err := os.OpenFile(avahiLock, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("testenv: avahi lock: %v", err)
	}
	deadline := time.Now().Add(waitDeadline)
	for syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		if time.Now().After(deadline) {
			f.Close()
			t.Fatalf("testenv: another test kept the Avahi daemon for %v", waitDeadline)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() { f.Close() }) // closing unlocks
}

// Start starts the daemon, after Stop; StartAvahi starts it first.
func (a *Avahi) Start() {
	a.t.Helper()
	p, err := startProcess("avahi-daemon", mustTool("avahi-daemon"), []string{"DBUS_SYSTEM_BUS_ADDRESS=" + a.Bus},
		"-f", filepath.Join(a.dir, "avahi.conf"), "--no-chroot", "--no-drop-root", "--no-rlimits", "--no-proc-title")
	if err != nil {
		a.t.Fatalf("testenv: %v", err)
	}
	err = p.waitReady(func(context.Context) error {
		if !strings.Contains(p.out.String(), "Server startup complete") {
			return errors.New("no 'Server startup complete' yet")
		}
		return nil
	})
	if err != nil {
		p.stop()
		a.t.Fatalf("testenv: %v", err)
	}
	a.daemon = p
}

// Stop stops the daemon; the bus stays.
func (a *Avahi) Stop() {
	if a.daemon != nil {
		a.daemon.stop()
		a.daemon = nil
	}
}

// Log returns the daemon's recent output.
func (a *Avahi) Log() string {
	if a.daemon == nil {
		return ""
	}
	return a.daemon.out.String()
}

// Service is one service as avahi-browse resolved it.
type Service struct {
	Name, Type, Host, Address string
	Port                      int
	// TXT holds the TXT record's key=value strings by key.
	TXT map[string]string
}

// Browse runs avahi-browse -rtp for typ ("_ipp._tcp", or a subtype as
// "_print._sub._ipp._tcp") and returns what it resolved, one entry per
// service name (avahi-browse reports each once per address family).
func (a *Avahi) Browse(typ string) ([]Service, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, mustTool("avahi-browse"), "-rtp", "--no-db-lookup", typ)
	cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+a.Bus)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("avahi-browse %s: %w\n%s", typ, err, out)
	}
	return ParseBrowse(string(out))
}

// ParseBrowse parses the resolved ("=") lines of avahi-browse -p output.
func ParseBrowse(out string) ([]Service, error) {
	var list []Service
	seen := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "=;") {
			continue
		}
		f := strings.SplitN(line, ";", 10)
		if len(f) != 10 {
			return nil, fmt.Errorf("avahi-browse line %q: want 10 fields", line)
		}
		port, err := strconv.Atoi(f[8])
		if err != nil {
			return nil, fmt.Errorf("avahi-browse line %q: port: %w", line, err)
		}
		s := Service{Name: unescapeLabel(f[3]), Type: f[4], Host: f[6], Address: f[7], Port: port,
			TXT: map[string]string{}}
		for _, kv := range txtStrings(f[9]) {
			k, v, _ := strings.Cut(kv, "=")
			s.TXT[k] = v
		}
		if key := s.Name + "\x00" + s.Type; !seen[key] {
			seen[key] = true
			list = append(list, s)
		}
	}
	return list, nil
}

// unescapeLabel undoes avahi-browse's escapes of a name: \DDD (decimal)
// and \c.
func unescapeLabel(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b = append(b, s[i])
			continue
		}
		if i+3 < len(s) {
			if n, err := strconv.Atoi(s[i+1 : i+4]); err == nil && n < 256 {
				b = append(b, byte(n))
				i += 3
				continue
			}
		}
		b = append(b, s[i+1])
		i++
	}
	return string(b)
}

// txtStrings splits avahi-browse's `"a=1" "b=2"` into its strings.
func txtStrings(s string) []string {
	var out []string
	var cur []byte
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case !in && c == '"':
			in, cur = true, nil
		case in && c == '"':
			in = false
			out = append(out, string(cur))
		case in && c == '\\' && i+1 < len(s):
			i++
			cur = append(cur, s[i])
		case in:
			cur = append(cur, c)
		}
	}
	return out
}

// mustTool is LookTool for a tool StartAvahi has found.
func mustTool(name string) string {
	p, _ := LookTool(name)
	return p
}

// unixReady succeeds once a unix socket accepts connections.
func unixReady(path string) func(context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "unix", path)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// BrowseUntil waits until avahi-browse finds n services of typ for which
// ok (when not nil) holds, and returns them by instance name; it fails
// t when they do not come.
func (a *Avahi) BrowseUntil(t testing.TB, typ string, n int, ok func(map[string]Service) bool) map[string]Service {
	t.Helper()
	var found map[string]Service
	var last error
	if !Eventually(func() bool {
		list, err := a.Browse(typ)
		if last = err; err != nil {
			return false
		}
		found = map[string]Service{}
		for _, s := range list {
			found[s.Name] = s
		}
		return len(found) == n && (ok == nil || ok(found))
	}) {
		t.Fatalf("avahi-browse %s: want %d services, found %v (%v)\n%s", typ, n, found, last, a.Log())
	}
	return found
}

package packaging

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/testenv"
)

// testVersion is the version the test builds the package with; the
// installed binary must report it.
const testVersion = "0.0.0+packagetest"

// maxExposure is the most `systemd-analyze security` may rate the unit
// (0 is fully confined, 10 is an unconfined root service); the unit as
// written rates 2.7. Loosening its hardening raises the number.
const maxExposure = 3.0

// TestDebInstallsAndRuns builds the .deb with `make package`, installs it
// with dpkg into an empty root (dpkg --root, the maintainer scripts run
// with DPKG_ROOT), and checks what the package promises: printgate's own
// system user, the binary that runs and reports the version it was built
// with, the configuration readable by root and printgate's group only,
// and the unit.
func TestDebInstallsAndRuns(t *testing.T) {
	for _, tool := range []string{"make", "dpkg", "dpkg-deb", "useradd"} {
		testenv.Tool(t, tool)
	}
	if os.Geteuid() != 0 {
		testenv.Need(t, "root (dpkg sets the package's owners)", os.ErrPermission)
	}
	deb := buildPackage(t)
	root := emptyRoot(t)
	run(t, "dpkg", "--root="+root, "--force-script-chrootless", "--force-depends", "--log=/dev/null", "-i", deb)

	out := run(t, filepath.Join(root, "usr/bin/printgate"), "version")
	if strings.TrimSpace(out) != "printgate "+testVersion {
		t.Errorf("installed printgate version says %q, want %q", out, "printgate "+testVersion)
	}
	passwd, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^printgate:x:(\d+):(\d+):[^:]*:/var/lib/printgate:/usr/sbin/nologin$`).FindSubmatch(passwd)
	if m == nil {
		t.Fatalf("postinst made no system user printgate with home /var/lib/printgate and no shell:\n%s", passwd)
	}
	if uid, _ := strconv.Atoi(string(m[1])); uid >= 1000 {
		t.Errorf("printgate's uid %d is not a system user's", uid)
	}
	gid, _ := strconv.Atoi(string(m[2]))
	for path, mode := range map[string]os.FileMode{
		"etc/printgate":                        os.ModeDir | 0o750,
		"etc/printgate/printgate.yaml":         0o640,
		"lib/systemd/system/printgate.service": 0o644,
		"usr/bin/printgate":                    0o755,
	} {
		fi, err := os.Stat(filepath.Join(root, path))
		if err != nil {
			t.Errorf("package did not install /%s: %v", path, err)
			continue
		}
		if fi.Mode() != mode {
			t.Errorf("/%s has mode %v, want %v", path, fi.Mode(), mode)
		}
	}
	for _, path := range []string{"etc/printgate", "etc/printgate/printgate.yaml"} {
		if g := groupOf(t, filepath.Join(root, path)); g != gid {
			t.Errorf("/%s belongs to group %d, want printgate's %d", path, g, gid)
		}
	}
	// The configuration the package installs is one printgate accepts.
	// The configurations the package and the container image install are
	// ones printgate accepts.
	for _, cfg := range []string{filepath.Join(root, "etc/printgate/printgate.yaml"), "container.yaml"} {
		run(t, filepath.Join(root, "usr/bin/printgate"), "config", "check", "--config", cfg, "--data", t.TempDir())
	}

	t.Run("unit", func(t *testing.T) { verifyUnit(t, root) })
}

// verifyUnit runs systemd-analyze verify on the installed unit (its
// ExecStart pointed at the installed binary: verify checks it exists) and
// rates its confinement with systemd-analyze security.
func verifyUnit(t *testing.T, root string) {
	analyze := testenv.Tool(t, "systemd-analyze")
	unit, err := os.ReadFile(filepath.Join(root, "lib/systemd/system/printgate.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"User=printgate", "ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes",
		"StateDirectory=printgate", "ConfigurationDirectory=printgate", "LogsDirectory=printgate", "--config /etc/printgate/printgate.yaml", "LimitCORE=0"} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("unit lacks %s", want)
		}
	}
	unit = bytes.Replace(unit, []byte("ExecStart=/usr/bin/printgate"), []byte("ExecStart="+root+"/usr/bin/printgate"), 1)
	path := filepath.Join(t.TempDir(), "printgate.service")
	if err := os.WriteFile(path, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	// verify exits 0 on settings it ignores; what it prints is the verdict.
	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err := exec.Command(analyze, "security", "--offline=yes", path).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for printgate.service: (\d+\.\d+)`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > maxExposure {
		t.Errorf("systemd-analyze security rates the unit %.1f, want at most %.1f:\n%s", level, maxExposure, out)
	}
}

// buildPackage runs `make package` in the source tree and returns the .deb.
func buildPackage(t *testing.T) string {
	t.Helper()
	src, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "-C", src, "package", "VERSION="+testVersion)
	cmd.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")+":/usr/local/go/bin")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make package: %v\n%s", err, out)
	}
	deb := filepath.Join(src, "dist", "printgate_"+testVersion+"_"+goarch(t)+".deb")
	if _, err := os.Stat(deb); err != nil {
		t.Fatalf("make package made no %s: %v", deb, err)
	}
	t.Cleanup(func() { os.Remove(deb) })
	return deb
}

func goarch(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOARCH").Output()
	if err != nil {
		t.Fatalf("go env GOARCH: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// emptyRoot makes a root for dpkg --root: an empty package database and
// this machine's user and group files, for the postinst to add to.
func emptyRoot(t *testing.T) string {
	root := t.TempDir()
	for _, dir := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string][]byte{"var/lib/dpkg/status": nil, "etc/shadow": nil, "etc/gshadow": nil}
	for _, name := range []string{"etc/passwd", "etc/group"} {
		b, err := os.ReadFile("/" + name)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(root, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// run runs a command and returns its output, failing the test if it fails.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a server may take to answer on its port.
const startTimeout = 20 * time.Second

// stopTimeout is how long a server gets to exit after SIGTERM before it is
// killed.
const stopTimeout = 10 * time.Second

// process is a server run in the foreground as a child of the test binary.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{} // closed once Wait returned; err is set before
	err  error
}

// startProcess starts path with args. env is added to the test's own
// environment. Standard output and error are kept (the last few KiB) for
// failure messages.
func startProcess(name, path string, env []string, args ...string) (*process, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	out := &tailBuffer{max: 16 << 10}
	cmd.Stdout = out
	cmd.Stderr = out
	// Pdeathsig kills the child if the test binary dies (a -timeout panic
	// runs no cleanup). Setpgid gives it a process group of its own, which
	// stop signals whole, and keeps a terminal's ^C to the test binary.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the process and whatever it started (a print command,
// cupsd's filters) with SIGTERM to its process group, or SIGKILL when the
// server lingers, and waits for the server. Stopping an ended process does
// nothing.
func (p *process) stop() {
	if p.exited() {
		return
	}
	pgid := -p.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = syscall.Kill(pgid, syscall.SIGKILL)
		<-p.done
	}
	// Children that ignored SIGTERM, or were left running, go too.
	_ = syscall.Kill(pgid, syscall.SIGKILL)
}

// failure describes why a process is not usable, with its recent output.
func (p *process) failure(err error) error {
	if p.exited() {
		return fmt.Errorf("%s exited (%v): %w\n%s", p.name, p.err, err, p.out.String())
	}
	return fmt.Errorf("%s: %w\n%s", p.name, err, p.out.String())
}

// errExited reports that a server ended before it answered.
var errExited = errors.New("process ended before it answered")

// waitReady calls ready until it succeeds, the process ends or startTimeout
// passes.
func (p *process) waitReady(ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		err := ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return p.failure(errExited)
		case <-ctx.Done():
			return p.failure(fmt.Errorf("not ready after %v: %w", startTimeout, err))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// dialReady returns a readiness check that succeeds once addr accepts TCP
// connections.
func dialReady(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		d := net.Dialer{Timeout: time.Second}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// sharedDir makes a folder outside t.TempDir, removed by t.Cleanup. Its
// path is short (unix socket paths are limited to 108 bytes, and test names
// make t.TempDir long) and it can be opened by other users (cupsd runs its
// filters as lp; t.TempDir's parent is private to root).
func sharedDir(t testing.TB, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatalf("testenv: make folder: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("testenv: make folder: %v", err)
	}
	return dir
}

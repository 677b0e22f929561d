package convert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Limits bound one converter process.
type Limits struct {
	// Memory is the process's address space in bytes.
	Memory int64
	// CPU is the processor time it may use.
	CPU time.Duration
	// Wall is how long it may run, whatever it does meanwhile.
	Wall time.Duration
	// Input is the largest document it is given, in bytes.
	Input int64
	// Output is the most it may write, in bytes.
	Output int64
	// Parallel is how many conversions run at once (at least 1); the
	// others wait their turn.
	Parallel int
}

// DefaultLimits are generous for office documents and still keep a
// hostile one from taking the machine: a PDF of a few hundred pages
// converts to raster in well under a minute.
func DefaultLimits() Limits {
	return Limits{Memory: 1 << 30, CPU: 2 * time.Minute, Wall: 3 * time.Minute,
		Input: 256 << 20, Output: 4 << 30, Parallel: 2}
}

// ErrLimit says a converter was stopped at one of its limits.
var ErrLimit = errors.New("convert: the converter went over its limits")

// sandbox runs programs under prlimit's resource limits, in a process
// group that is killed as a whole when the run ends or printgate dies.
//
// With bubblewrap (bwrap set), each run has namespaces of its own for
// mounts, processes, network, users, IPC and host name: it sees /usr and
// the few folders of /etc and /var that Ghostscript reads, read-only
// (binds), an empty /tmp in memory as its only writable place, its own
// /proc and a minimal /dev, and no network, not even loopback. printgate's
// data folder, its keys, its spool, /etc/passwd and the other processes
// are not there to be read.
//
// Without bubblewrap it falls back to namespaces of its own for network,
// users and IPC only: the program sees the file system as printgate's
// user does.
type sandbox struct {
	limits  Limits
	prlimit string
	// bwrap is bubblewrap's path; "" for the fallback.
	bwrap string
	// nice, when set, is the path of nice(1): the run gets the lowest
	// processor priority, as work nobody waits for.
	nice string
}

// readOnly are the folders a sandboxed Ghostscript is shown besides /usr,
// when they exist: its font maps and CMaps (Debian keeps them under /etc
// and /var, with symbolic links from /usr/share/ghostscript), fontconfig's
// settings and cache, and the alternatives that some font links in
// /usr/share/fonts go through.
var readOnly = []string{"/etc/ghostscript", "/etc/fonts", "/etc/alternatives",
	"/var/lib/ghostscript", "/var/cache/fontconfig"}

// rootLinks are the top-level folders that merged-/usr systems make links
// into /usr; programs and the dynamic loader are found through them.
var rootLinks = []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}

// scratchTmp is where the program's temporary files go under bubblewrap.
const scratchTmp = "/tmp"

// command returns path run with args in the sandbox. in, when not nil,
// is the child's file descriptor 3.
func (s sandbox) command(ctx context.Context, in *os.File, path string, args ...string) *exec.Cmd {
	secs := int64(s.limits.CPU.Round(time.Second) / time.Second)
	argv := append([]string{
		"--as=" + strconv.FormatInt(s.limits.Memory, 10),
		"--cpu=" + strconv.FormatInt(max(secs, 1), 10),
		"--core=0", "--nofile=64",
		// Files it writes (its own temporary ones) stay below the
		// output budget; the output itself is a pipe.
		"--fsize=" + strconv.FormatInt(s.limits.Output, 10),
		"--", path}, args...)
	var cmd *exec.Cmd
	if s.bwrap != "" {
		cmd = exec.CommandContext(ctx, s.bwrap, append(append(s.bwrapArgs(), "--", s.prlimit), argv...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	} else {
		cmd = exec.CommandContext(ctx, s.prlimit, argv...)
		cmd.SysProcAttr = &syscall.SysProcAttr{
			// A process namespace of its own too: the program is its first
			// process, and when it ends the kernel ends every process it
			// started, even one that left its process group (setsid).
			Cloneflags:  syscall.CLONE_NEWNET | syscall.CLONE_NEWUSER | syscall.CLONE_NEWIPC | syscall.CLONE_NEWPID,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: os.Getuid(), HostID: os.Getuid(), Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: os.Getgid(), HostID: os.Getgid(), Size: 1}},
		}
	}
	if s.nice != "" {
		cmd.Args = append([]string{s.nice, "-n", "19", cmd.Path}, cmd.Args[1:]...)
		cmd.Path = s.nice
	}
	if in != nil {
		cmd.ExtraFiles = []*os.File{in}
	}
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C"}
	// A session of its own, without a terminal (as bwrap's --new-session
	// would give, against TIOCSTI), whose one process group holds bwrap,
	// the namespace's first process and the program: start kills the
	// group once the first process has ended, even while bwrap was still
	// setting the namespace up. bwrap's --die-with-parent does not cover
	// that moment: its first process asks for the signal only once set
	// up, and one whose bwrap was killed earlier lived on with the
	// document. (If printgate itself dies in that moment, the program
	// lives until it has read the document and finds its output gone.)
	cmd.SysProcAttr.Setsid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	// Only the first process, by its pidfd: exec may call Cancel after
	// Wait has reaped it, when its process group ID may be another's;
	// start kills the rest of the group.
	cmd.Cancel = func() error { return cmd.Process.Kill() }
	cmd.WaitDelay = time.Second
	return cmd
}

// run is a sandboxed program started by start.
type run struct {
	*exec.Cmd
	// ended is closed once the first process has ended and the rest of
	// its group has been killed.
	ended chan struct{}
}

// start starts cmd, from command, and once its first process ends,
// however it ends (its own exit, a signal from outside, its limits),
// kills whatever is left of its process group: a program left running
// would keep the document, and hold the output pipe open for as long
// as it ran. The group is killed before the first process is reaped
// (Wait), while its ID can be no one else's.
func start(cmd *exec.Cmd) (*run, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &run{Cmd: cmd, ended: make(chan struct{})}
	pid := cmd.Process.Pid
	go func() {
		defer close(r.ended)
		var info unix.Siginfo
		var err error = unix.EINTR
		for errors.Is(err, unix.EINTR) {
			err = unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		}
		if err == nil {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	}()
	return r, nil
}

// Wait waits for the run's process group to be gone and reaps its first
// process, as exec.Cmd.Wait does.
func (r *run) Wait() error {
	<-r.ended
	return r.Cmd.Wait()
}

// bwrapArgs are bubblewrap's options for a run: what the program sees and
// which namespaces it has. The tmpfs is bounded like the program's memory.
func (s sandbox) bwrapArgs() []string {
	args := []string{"--ro-bind", "/usr", "/usr"}
	for _, p := range rootLinks {
		if target, err := os.Readlink(p); err == nil {
			args = append(args, "--symlink", target, p)
		} else if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			args = append(args, "--ro-bind", p, p)
		}
	}
	for _, p := range readOnly {
		args = append(args, "--ro-bind-try", p, p)
	}
	return append(args,
		"--size", strconv.FormatInt(s.limits.Memory, 10), "--tmpfs", scratchTmp,
		"--proc", "/proc", "--dev", "/dev", "--chdir", scratchTmp,
		"--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534",
		"--die-with-parent", "--cap-drop", "ALL")
}

// check runs gs --version in the sandbox: bubblewrap may be installed
// where it cannot run (user namespaces turned off), or Ghostscript may
// need a file the sandbox does not show.
func (s sandbox) check(ctx context.Context, gs string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := s.command(ctx, nil, gs, "--version")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	r, err := start(cmd)
	if err == nil {
		err = r.Wait()
	}
	out := stdout.Bytes()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) && stderr.Len() > 0 {
		return fmt.Errorf("run Ghostscript in bubblewrap: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	if err != nil {
		return fmt.Errorf("run Ghostscript in bubblewrap: %w", err)
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return errors.New("run Ghostscript in bubblewrap: it printed no version")
	}
	return nil
}

// memFile returns an anonymous in-memory file holding what r gives, up to
// limit bytes: a converter reads the document from it as from a file, and
// no plaintext reaches a disk.
func memFile(r io.Reader, limit int64) (*os.File, error) {
	fd, err := unix.MemfdCreate("printgate-document", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("convert: memory file: %w", err)
	}
	f := os.NewFile(uintptr(fd), "printgate-document")
	n, err := io.Copy(f, io.LimitReader(r, limit+1))
	if err == nil && n > limit {
		err = fmt.Errorf("%w: the document is larger than %d bytes", ErrLimit, limit)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("convert: %w", err)
	}
	return f, nil
}

// exitError explains how a sandboxed process ended, without its own
// words: a converter's messages may quote the document. Under bubblewrap
// (wrapped), a program killed by a signal shows as bwrap's exit status
// 128 plus the signal, as in a shell.
func exitError(err error, ctxErr error, wrapped bool) error {
	var ee *exec.ExitError
	switch {
	case errors.Is(ctxErr, context.DeadlineExceeded):
		return fmt.Errorf("%w: it ran out of time", ErrLimit)
	case ctxErr != nil:
		return ctxErr
	case errors.As(err, &ee):
		if sig, ok := signal(ee, wrapped); ok {
			switch sig {
			case syscall.SIGXCPU, syscall.SIGKILL:
				return fmt.Errorf("%w: it was killed (%s)", ErrLimit, sig)
			case syscall.SIGXFSZ:
				return fmt.Errorf("%w: it wrote too much", ErrLimit)
			}
			return fmt.Errorf("convert: the converter died (%s)", sig)
		}
		return fmt.Errorf("convert: the converter failed (exit status %d)", ee.ExitCode())
	}
	return fmt.Errorf("convert: %w", err)
}

// signal returns the signal that ended a process, if one did.
func signal(ee *exec.ExitError, wrapped bool) (syscall.Signal, bool) {
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal(), true
	}
	if code := ee.ExitCode(); wrapped && code > 128 && code <= 128+31 {
		return syscall.Signal(code - 128), true
	}
	return 0, false
}

// scratchDir makes a private folder for a converter's temporary files, in
// memory (/dev/shm) where the system has it, so that what Ghostscript
// spills of a document reaches no disk.
func scratchDir() (string, error) {
	base := os.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		base = "/dev/shm"
	}
	dir, err := os.MkdirTemp(base, "printgate-convert-")
	if err != nil {
		return "", fmt.Errorf("convert: scratch folder: %w", err)
	}
	return dir, nil
}

package convert

import (
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

// sandbox runs programs each in a network namespace of its own (no
// network at all, not even loopback to printgate), in a user namespace
// that maps only printgate's own user, under prlimit's resource limits,
// in a process group that is killed as a whole when the run ends or
// printgate dies.
type sandbox struct {
	limits  Limits
	prlimit string
}

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
	cmd := exec.CommandContext(ctx, s.prlimit, argv...)
	if in != nil {
		cmd.ExtraFiles = []*os.File{in}
	}
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWNET | syscall.CLONE_NEWUSER | syscall.CLONE_NEWIPC,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: os.Getuid(), HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: os.Getgid(), HostID: os.Getgid(), Size: 1}},
		Setpgid:     true,
		Pdeathsig:   syscall.SIGKILL,
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	return cmd
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
// words: a converter's messages may quote the document.
func exitError(err error, ctxErr error) error {
	var ee *exec.ExitError
	switch {
	case errors.Is(ctxErr, context.DeadlineExceeded):
		return fmt.Errorf("%w: it ran out of time", ErrLimit)
	case ctxErr != nil:
		return ctxErr
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			switch ws.Signal() {
			case syscall.SIGXCPU, syscall.SIGKILL:
				return fmt.Errorf("%w: it was killed (%s)", ErrLimit, ws.Signal())
			case syscall.SIGXFSZ:
				return fmt.Errorf("%w: it wrote too much", ErrLimit)
			}
			return fmt.Errorf("convert: the converter died (%s)", ws.Signal())
		}
		return fmt.Errorf("convert: the converter failed (exit status %d)", ee.ExitCode())
	}
	return fmt.Errorf("convert: %w", err)
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

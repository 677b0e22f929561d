package convert

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/printgate/printgate/internal/testenv"
)

// wrappedBox returns the sandbox with bubblewrap, as New makes it.
func wrappedBox(t *testing.T, l Limits) sandbox {
	t.Helper()
	box := sandbox{limits: l, prlimit: testenv.Tool(t, "prlimit"), bwrap: testenv.Tool(t, "bwrap")}
	if err := box.check(context.Background(), testenv.Tool(t, "gs")); err != nil {
		testenv.Need(t, "bubblewrap that can run here", err)
	}
	return box
}

// dataDir returns a folder outside /tmp and /usr, as printgate's data
// folder (/var/lib/printgate) is: /var/tmp where it can be written, else
// the package's own folder.
func dataDir(t *testing.T) string {
	t.Helper()
	if dir, err := os.MkdirTemp("/var/tmp", "printgate-sandbox-test-"); err == nil {
		t.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	return "."
}

// secretFile writes a file that only its marker could reveal, in dir, and
// returns its path and marker.
func secretFile(t *testing.T, dir, name string) (path, marker string) {
	t.Helper()
	marker = fmt.Sprintf("PRINTGATE-SECRET-%d-%s", time.Now().UnixNano(), name)
	f, err := os.CreateTemp(dir, ".sandbox-"+name+"-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(f.Name()) })
	if _, err := f.WriteString(marker + "\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return abs, marker
}

// spyProgram is a PostScript program that, run without -dSAFER, prints
// what it can read of each file and what a connection attempt through a
// shell says.
func spyProgram(files []string, port string) string {
	var b strings.Builder
	b.WriteString("%!PS\n/buf 4096 string def\n" +
		"/spy { dup print (: ) print mark exch { (r) file buf readstring pop print }" +
		" stopped { cleartomark (DENIED) print } { pop } ifelse (\\n) print } def\n")
	for _, f := range files {
		fmt.Fprintf(&b, "(%s) spy\n", f)
	}
	fmt.Fprintf(&b, "(%%pipe%%bash -c 'exec 3<>/dev/tcp/127.0.0.1/%s && echo CONN\"\"ECTED') spy\n", port)
	return b.String()
}

// listen accepts and closes connections on loopback until the test ends.
func listen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// TestSandboxPrivate runs a hostile PostScript program with Ghostscript's
// -dSAFER turned off (as if the document had found a way around it),
// outside the sandbox, where it reads a key file in printgate's folders,
// a file in the temporary folder and /etc/passwd, connects to loopback
// and sees printgate's process, and inside, where it can do none of it.
func TestSandboxPrivate(t *testing.T) {
	gs := testenv.Tool(t, "gs")
	box := wrappedBox(t, DefaultLimits())
	key, keyMarker := secretFile(t, dataDir(t), "key")
	tmp, tmpMarker := secretFile(t, t.TempDir(), "spool")
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil || len(passwd) == 0 {
		t.Fatalf("/etc/passwd: %v", err)
	}
	passwdLine, _, _ := strings.Cut(string(passwd), "\n")
	// printgate's own command line, as another process would read it.
	proc := fmt.Sprintf("/proc/%d/cmdline", os.Getpid())
	prog := spyProgram([]string{key, tmp, "/etc/passwd", proc}, listen(t))
	args := []string{"-q", "-dNOSAFER", "-dNODISPLAY", "-dBATCH", "-dNOPAUSE", "/dev/fd/3"}

	run := func(wrap func(in *os.File) *exec.Cmd) string {
		in, err := memFile(strings.NewReader(prog), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		cmd := wrap(in)
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			t.Logf("%v: %s", err, stderr.Bytes())
		}
		return out.String()
	}
	outside := run(func(in *os.File) *exec.Cmd {
		cmd := exec.Command(gs, args...)
		cmd.ExtraFiles = []*os.File{in}
		return cmd
	})
	for _, want := range []string{keyMarker, tmpMarker, passwdLine, "CONNECTED", os.Args[0]} {
		if !strings.Contains(outside, want) {
			t.Fatalf("outside the sandbox the program did not get %q: the test proves nothing\n%s", want, outside)
		}
	}

	inside := run(func(in *os.File) *exec.Cmd { return box.command(context.Background(), in, gs, args...) })
	for _, secret := range []string{keyMarker, tmpMarker, passwdLine, "CONNECTED", os.Args[0]} {
		if strings.Contains(inside, secret) {
			t.Errorf("inside the sandbox the program got %q", secret)
		}
	}
	for _, f := range []string{key, tmp, "/etc/passwd", proc} {
		if !strings.Contains(inside, f+": DENIED") {
			t.Errorf("inside the sandbox the program did not try %s, or read it", f)
		}
	}
	t.Logf("inside the sandbox:\n%s", inside)
}

// TestConvertHostileReads: through the whole conversion, as printgate
// runs it, a PostScript document that tries to read a key file, the
// temporary folder, /etc/passwd and printgate's process, and to put what
// it read into the PDF it becomes, gets none of it into the output.
func TestConvertHostileReads(t *testing.T) {
	c := newConverter(t, DefaultLimits())
	key, keyMarker := secretFile(t, dataDir(t), "key")
	tmp, tmpMarker := secretFile(t, t.TempDir(), "spool")
	proc := fmt.Sprintf("/proc/%d/cmdline", os.Getpid())
	var doc strings.Builder
	doc.WriteString("%!PS\n/buf 4096 string def\n" +
		"/grab { mark exch { (r) file buf readstring pop } stopped { cleartomark (DENIED) } { exch pop } ifelse } def\n" +
		"/setsafe where { pop false { setsafe } stopped pop } if\n")
	for i, f := range []string{key, tmp, "/etc/passwd", proc} {
		fmt.Fprintf(&doc, "[ /Keywords%d (%s) grab /DOCINFO pdfmark\n", i, f)
	}
	// The canary shows that what the document puts in the document
	// information reaches the output, so the absence of the rest means
	// something.
	doc.WriteString("[ /Title (CANARY-TITLE) /DOCINFO pdfmark\n" +
		"/Helvetica findfont 20 scalefont setfont 72 720 moveto (hostile) show showpage\n")
	out, err := convert(t, c, []byte(doc.String()), PostScript, Target{Format: PDF})
	if err != nil {
		t.Logf("the conversion failed: %v", err)
		return
	}
	if !bytes.Contains(out, []byte("CANARY-TITLE")) {
		t.Fatalf("the document information is not in the output as written: the test proves nothing")
	}
	for _, secret := range []string{keyMarker, tmpMarker, "root:x:0:0", os.Args[0]} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("the output holds %q", secret)
		}
	}
}

// TestSandboxStopLeavesNothing stops runs at every moment of their
// start, bubblewrap's set-up included, in the two ways a run ends early:
// its context ends, or its first process dies alone (as when a signal
// meant for it, or its parent's death, reaches only it). The program, a
// shell, has started a second process that holds the document too. No
// process of theirs may live on holding the document. bubblewrap's
// --die-with-parent alone left the namespace's first process and the
// program running, with the document, when bwrap died before it had set
// the namespace up.
func TestSandboxStopLeavesNothing(t *testing.T) {
	sh := testenv.Tool(t, "sh")
	boxes := map[string]func(t *testing.T) sandbox{
		"bubblewrap": func(t *testing.T) sandbox { return wrappedBox(t, DefaultLimits()) },
		"fallback": func(t *testing.T) sandbox {
			return sandbox{limits: DefaultLimits(), prlimit: testenv.Tool(t, "prlimit")}
		},
	}
	stops := map[string]func(r *run, cancel context.CancelFunc){
		"cancel":      func(_ *run, cancel context.CancelFunc) { cancel() },
		"first alone": func(r *run, _ context.CancelFunc) { _ = r.Process.Kill() },
	}
	for name, newBox := range boxes {
		for how, stop := range stops {
			t.Run(name+"/"+how, func(t *testing.T) {
				box := newBox(t)
				mark := fmt.Sprintf("printgate-stop-test-%d", time.Now().UnixNano())
				for i := range 40 {
					fd, err := unix.MemfdCreate(mark, unix.MFD_CLOEXEC)
					if err != nil {
						t.Fatal(err)
					}
					in := os.NewFile(uintptr(fd), mark)
					ctx, cancel := context.WithCancel(context.Background())
					r, err := start(box.command(ctx, in, sh, "-c", "sleep 60 & sleep 60"))
					if err != nil {
						t.Fatal(err)
					}
					if i == 0 {
						// The control: a run that has started is seen holding
						// the document, so that none seen later means none.
						waitHolders(t, mark, func(n int) bool { return n > 0 }, "no process is seen holding the document of a running run")
					}
					time.Sleep(time.Duration(i%20) * 250 * time.Microsecond)
					stop(r, cancel)
					_ = r.Wait()
					cancel()
					in.Close()
				}
				// The kill is sent; the processes end a moment later.
				waitHolders(t, mark, func(n int) bool { return n == 0 }, "processes still hold the document after their runs were stopped")
			})
		}
	}
}

// waitHolders waits up to 5 s for the number of processes holding a
// memory file named mark to satisfy ok, and fails the test with msg if
// it does not.
func waitHolders(t *testing.T, mark string, ok func(int) bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		holders := holdersOf(t, mark)
		if ok(len(holders)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", msg, holders)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// holdersOf returns the processes with an open memory file named mark.
func holdersOf(t *testing.T, mark string) []string {
	t.Helper()
	fds, err := filepath.Glob("/proc/[0-9]*/fd/*")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, fd := range fds {
		if target, err := os.Readlink(fd); err == nil && strings.Contains(target, mark) {
			pids = append(pids, strings.Split(fd, "/")[2])
		}
	}
	return slices.Compact(pids)
}

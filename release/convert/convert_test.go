package convert

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/printgate/printgate/audit/pages"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

func newConverter(t testing.TB, l Limits) *Converter {
	t.Helper()
	testenv.Tool(t, "gs")
	testenv.Tool(t, "prlimit")
	c, err := New(l)
	if err != nil {
		t.Fatal(err)
	}
	if testenv.Strict() {
		// Without bubblewrap the converter works with a lesser sandbox;
		// CI must test the one printgate is meant to run with.
		testenv.Tool(t, "bwrap")
		if err := c.PrivateFS(); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func convert(t testing.TB, c *Converter, doc []byte, from string, to Target) ([]byte, error) {
	t.Helper()
	out, err := c.Convert(context.Background(), bytes.NewReader(doc), from, to)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	return io.ReadAll(out)
}

func TestChoose(t *testing.T) {
	for _, tc := range []struct {
		from     string
		accepts  []string
		want     string
		convert  bool
		possible bool
	}{
		{PDF, []string{PDF, PWGRaster}, PDF, false, true},
		{PDF, []string{PWGRaster}, PWGRaster, true, true},
		{PDF, []string{PCL, "image/urf"}, PCL, true, true},
		{PDF, []string{PostScript, PCL}, PCL, true, true},
		{PostScript, []string{PDF}, PDF, true, true},
		{"image/jpeg", []string{PWGRaster}, "", false, false},
		{"image/jpeg", []string{"image/jpeg"}, "image/jpeg", false, true},
		{PDF, []string{"text/plain"}, "", false, false},
		{PDF, nil, "", false, false},
	} {
		got, conv, ok := Choose(tc.from, tc.accepts)
		if got != tc.want || conv != tc.convert || ok != tc.possible {
			t.Errorf("Choose(%s, %v) = %q, %v, %v; want %q, %v, %v", tc.from, tc.accepts, got, conv, ok, tc.want, tc.convert, tc.possible)
		}
	}
}

// TestConvert turns documents into each raster and page description
// format, with one output page per page of the document.
func TestConvert(t *testing.T) {
	c := newConverter(t, DefaultLimits())
	pdf := testdocs.PDF(3, "convert me", testdocs.A4)
	for _, tc := range []struct {
		from  string
		doc   []byte
		to    Target
		magic string
		count string // pages format for counting, "" to skip
	}{
		{PDF, pdf, Target{Format: PWGRaster, Resolution: 150}, "RaS2", pages.FormatPWGRaster},
		{PDF, pdf, Target{Format: PWGRaster, Resolution: 150, Color: true}, "RaS2", pages.FormatPWGRaster},
		{PDF, pdf, Target{Format: PostScript}, "%!PS", ""},
		{PDF, pdf, Target{Format: PCLXL, Resolution: 150}, ") HP-PCL XL", ""},
		{PDF, pdf, Target{Format: PCL, Resolution: 150}, "\x1bE", ""},
		{PostScript, testdocs.DSC(3, "from PostScript", testdocs.A4), Target{Format: PWGRaster, Resolution: 100}, "RaS2", pages.FormatPWGRaster},
	} {
		t.Run(tc.to.Format+"-"+strconv.FormatBool(tc.to.Color), func(t *testing.T) {
			out, err := convert(t, c, tc.doc, tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(out[:min(len(out), 256)], []byte(tc.magic)) {
				t.Fatalf("output starts %q; want %q", out[:min(len(out), 16)], tc.magic)
			}
			if tc.count == "" {
				return
			}
			res, err := pages.Count(context.Background(), tc.count, bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			if res.Pages != 3 {
				t.Errorf("%d pages; want 3", res.Pages)
			}
		})
	}
}

// TestPWGRasterColorSpace checks that grey and colour reach the raster's
// header: a monochrome printer is sent grey, a colour one sRGB.
func TestPWGRasterColorSpace(t *testing.T) {
	c := newConverter(t, DefaultLimits())
	for _, color := range []bool{false, true} {
		out, err := convert(t, c, testdocs.PDF(1, "colour", testdocs.A4), PDF, Target{Format: PWGRaster, Resolution: 100, Color: color})
		if err != nil {
			t.Fatal(err)
		}
		// RaS2, then the page header: cupsColorSpace at offset 400.
		space := binary.BigEndian.Uint32(out[4+400:])
		want := uint32(18)
		if color {
			want = 19
		}
		if space != want {
			t.Errorf("color %v: cupsColorSpace %d; want %d", color, space, want)
		}
	}
}

// TestNoInjection: what a PostScript document prints itself (a PJL
// command to the printer, say) does not reach the output.
func TestNoInjection(t *testing.T) {
	c := newConverter(t, DefaultLimits())
	doc := "%!PS\n(\033%-12345X@PJL SET COPIES=99\r\n) print\n/Helvetica findfont 20 scalefont setfont 72 720 moveto (x) show showpage\n"
	for _, to := range []Target{{Format: PWGRaster, Resolution: 72}, {Format: PCL, Resolution: 150}} {
		out, err := convert(t, c, []byte(doc), PostScript, to)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(out, []byte("COPIES=99")) {
			t.Errorf("%s: the document's own bytes reached the output: %q", to.Format, out[:min(len(out), 48)])
		}
	}
}

// TestScratchRemoved: a converter killed at its limits leaves none of its
// temporary files behind.
func TestScratchRemoved(t *testing.T) {
	c := newConverter(t, Limits{Memory: 256 << 20, CPU: time.Second, Wall: 5 * time.Second, Input: 1 << 20, Output: 64 << 20})
	// Under bubblewrap the scratch space is the sandbox's own /tmp, and
	// no folder is made: the fallback sandbox is the one that makes one.
	c.box.bwrap = ""
	scratch, err := scratchDir()
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(scratch)
	pattern := filepath.Join(filepath.Dir(scratch), "printgate-convert-*")
	before, _ := filepath.Glob(pattern)
	out, err := c.Convert(context.Background(), bytes.NewReader([]byte("%!PS\n{ 1 pop } loop\n")), PostScript, Target{Format: PostScript})
	if err != nil {
		t.Fatal(err)
	}
	during, _ := filepath.Glob(pattern)
	if len(during) <= len(before) {
		t.Fatalf("no scratch folder while converting (%d before, %d during): nothing here to remove", len(before), len(during))
	}
	if _, err := io.ReadAll(out); err == nil {
		t.Error("an endless loop converted")
	}
	out.Close()
	after, _ := filepath.Glob(pattern)
	if len(after) > len(before) {
		t.Errorf("scratch folders left: %v", after)
	}
}

// TestParallel: conversions beyond Limits.Parallel wait for a running
// one to end.
func TestParallel(t *testing.T) {
	l := DefaultLimits()
	l.Parallel = 1
	c := newConverter(t, l)
	doc := testdocs.PDF(1, "one at a time", testdocs.A4)
	first, err := c.Convert(context.Background(), bytes.NewReader(doc), PDF, Target{Format: PWGRaster, Resolution: 72})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := c.Convert(ctx, bytes.NewReader(doc), PDF, Target{Format: PWGRaster, Resolution: 72}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second conversion started beside the first: %v", err)
	}
	first.Close()
	if _, err := convert(t, c, doc, PDF, Target{Format: PWGRaster, Resolution: 72}); err != nil {
		t.Fatalf("after the first ended: %v", err)
	}
}

// TestBadDocument fails with an error that quotes nothing of the document.
func TestBadDocument(t *testing.T) {
	c := newConverter(t, DefaultLimits())
	secret := "SECRET-PAYSLIP-TEXT"
	_, err := convert(t, c, []byte("%PDF-1.4\n"+secret+"\n garbage"), PDF, Target{Format: PWGRaster})
	if err == nil {
		t.Fatal("a broken PDF converted")
	}
	if bytes.Contains([]byte(err.Error()), []byte(secret)) {
		t.Errorf("the error quotes the document: %v", err)
	}
}

// TestHostileInput: a document that loops for ever, or allocates without
// end, is killed at its limits and said to be.
func TestHostileInput(t *testing.T) {
	l := Limits{Memory: 256 << 20, CPU: 2 * time.Second, Wall: 20 * time.Second, Input: 1 << 20, Output: 1 << 20}
	c := newConverter(t, l)
	for _, tc := range []struct {
		name, doc string
		limit     bool // killed by the sandbox, not stopped by Ghostscript itself
	}{
		{"endless loop", "%!PS\n{ 1 pop } loop\n", true},
		// Ghostscript meets the address-space limit as a VMerror and
		// stops with an error of its own.
		{"memory", "%!PS\n/a 0 def { /a [ a 65535 array ] def } loop\n", false},
		{"output", "%!PS\n{ showpage } loop\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := convert(t, c, []byte(tc.doc), PostScript, Target{Format: PWGRaster, Resolution: 300})
			if err == nil || tc.limit && !errors.Is(err, ErrLimit) {
				t.Fatalf("err %v; want ErrLimit", err)
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("stopped after %v", d)
			}
		})
	}
	_, err := convert(t, newConverter(t, Limits{Memory: 256 << 20, CPU: time.Second, Wall: time.Second, Input: 100, Output: 1 << 20}),
		testdocs.PDF(1, "too big", testdocs.A4), PDF, Target{Format: PWGRaster})
	if !errors.Is(err, ErrLimit) {
		t.Errorf("a document over the input limit: %v; want ErrLimit", err)
	}
}

// TestSandboxNoNetwork runs the same connection attempt to a listener on
// loopback outside the sandbox (it connects) and inside (it cannot).
func TestSandboxNoNetwork(t *testing.T) {
	bash := testenv.Tool(t, "bash")
	prlimit := testenv.Tool(t, "prlimit")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	script := "exec 3<>/dev/tcp/127.0.0.1/" + port
	if out, err := exec.Command(bash, "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("outside the sandbox the connection fails too (%v: %s): the test proves nothing", err, out)
	}
	for name, box := range map[string]sandbox{
		"bubblewrap": wrappedBox(t, DefaultLimits()),
		"fallback":   {limits: DefaultLimits(), prlimit: prlimit},
	} {
		out, err := box.command(context.Background(), nil, bash, "-c", script).CombinedOutput()
		if err == nil {
			t.Fatalf("%s: inside the sandbox a connection to 127.0.0.1:%s succeeded", name, port)
		}
		t.Logf("%s: inside the sandbox: %v: %s", name, err, out)
	}
}

// FuzzConvert feeds arbitrary bytes to the converter as PDF and as
// PostScript: it must end, within its limits, with output or an error.
func FuzzConvert(f *testing.F) {
	c := newConverter(f, Limits{Memory: 256 << 20, CPU: 2 * time.Second, Wall: 5 * time.Second, Input: 1 << 20, Output: 8 << 20})
	f.Add([]byte(testdocs.PDF(1, "fuzz", testdocs.A4)), true)
	f.Add([]byte("%!PS\n{ } loop"), false)
	f.Add([]byte{}, true)
	f.Fuzz(func(t *testing.T, doc []byte, asPDF bool) {
		from := PostScript
		if asPDF {
			from = PDF
		}
		start := time.Now()
		_, _ = convert(t, c, doc, from, Target{Format: PWGRaster, Resolution: 72})
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("a conversion took %v", d)
		}
	})
}

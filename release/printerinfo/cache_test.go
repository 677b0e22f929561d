package printerinfo

import (
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// TestCheckIPPEvePrinters asks real printers what they can do: an office
// printer (PDF, colour, two-sided) and a plain one (monochrome, one-sided,
// PWG raster only).
func TestCheckIPPEvePrinters(t *testing.T) {
	office := testenv.IPPEvePrinter(t, testenv.WithDuplex(), testenv.WithColor(), testenv.WithFormats("application/pdf", "image/pwg-raster"))
	plain := testenv.IPPEvePrinter(t, testenv.WithFormats("image/pwg-raster"))
	c := New(Options{})

	info := c.Check(t.Context(), office.URI)
	if why := info.Unavailable(); why != "" || !info.Answered || info.State != Idle || !info.Accepting {
		t.Fatalf("office printer: unavailable %q, status %+v", why, info.Status)
	}
	caps := info.Caps
	for _, check := range []struct {
		what string
		ok   bool
	}{
		{"known", caps.Known},
		{"PDF", slices.Contains(caps.Formats, "application/pdf")},
		{"colour", caps.Color && slices.Contains(caps.ColorModes, "color")},
		{"two-sided", slices.Contains(caps.Sides, "two-sided-long-edge")},
		{"A4", slices.Contains(caps.Media, "iso_a4_210x297mm")},
		{"media ready", len(caps.MediaReady) > 0},
		{"resolutions", len(caps.Resolutions) > 0},
		{"PWG raster resolutions", len(caps.PWGRasterResolutions) > 0},
		{"copies", caps.CopiesMax >= 99},
	} {
		if !check.ok {
			t.Errorf("office printer: %s not seen in %+v", check.what, caps)
		}
	}
	if info.CapsFetched.IsZero() || info.Checked.IsZero() || info.Seen.IsZero() {
		t.Errorf("times not set: %+v", info)
	}

	caps = c.Check(t.Context(), plain.URI).Caps
	if !slices.Equal(caps.Sides, []string{"one-sided"}) || !slices.Equal(caps.ColorModes, []string{"monochrome"}) || caps.Color ||
		slices.Contains(caps.Formats, "application/pdf") {
		t.Errorf("plain printer: %+v", caps)
	}
}

// TestCheckFreshness: a burst of releases asks once; once the status is
// older than Fresh the printer is asked again, and a printer switched off
// is then unreachable. Capabilities stay known meanwhile.
func TestCheckFreshness(t *testing.T) {
	p := testenv.IPPEvePrinter(t)
	clock := testenv.NewClock()
	c := New(Options{Now: clock.Now, Fresh: 5 * time.Second, Timeout: 2 * time.Second})
	if why := c.Check(t.Context(), p.URI).Unavailable(); why != "" {
		t.Fatalf("running printer unavailable: %s", why)
	}
	p.Stop()
	clock.Advance(4 * time.Second)
	if info := c.Check(t.Context(), p.URI); !info.Reachable {
		t.Fatal("asked again within the fresh window")
	}
	clock.Advance(2 * time.Second)
	info := c.Check(t.Context(), p.URI)
	if why := info.Unavailable(); why != "printer-unreachable" {
		t.Fatalf("stopped printer: unavailable %q, status %+v", why, info.Status)
	}
	if !info.Caps.Known {
		t.Error("capabilities forgotten when the printer went away")
	}
	p.Start()
	clock.Advance(6 * time.Second)
	if why := c.Check(t.Context(), p.URI).Unavailable(); why != "" {
		t.Errorf("printer back: unavailable %q", why)
	}
}

// TestCheckCUPSQueue: a CUPS queue disabled with cupsdisable is stopped;
// one refusing jobs (cupsreject) is not accepting.
func TestCheckCUPSQueue(t *testing.T) {
	printer := testenv.IPPEvePrinter(t)
	cups := testenv.CUPS(t)
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := cups.Run(t, name, args...); err != nil {
			t.Fatalf("%s: %v\n%s\n%s", name, err, out, cups.ErrorLog())
		}
	}
	run("lpadmin", "-p", "front", "-E", "-v", printer.URI, "-m", "everywhere")
	uri := "ipp://" + cups.Server + "/printers/front"
	// cupsd sets a driverless queue up in the background and starts it
	// when done, whatever was done to it meanwhile: wait for that.
	var ask ipp.Client
	testenv.WaitFor(t, "cupsd to set the queue up", func() bool {
		attrs, err := ask.PrinterAttributes(t.Context(), uri, "printer-make-and-model")
		return err == nil && len(attrs) > 0 && attrs[0].Values[0].V.String() != "Local Raw Printer"
	})
	clock := testenv.NewClock()
	c := New(Options{Now: clock.Now})
	if info := c.Check(t.Context(), uri); info.Unavailable() != "" || !info.Caps.Known {
		t.Fatalf("enabled queue: %+v", info)
	}
	// cupsd takes a moment to show a state change: ask until it does.
	checkUntil := func(what, want string) Info {
		t.Helper()
		var info Info
		testenv.WaitFor(t, what, func() bool {
			clock.Advance(time.Minute)
			info = c.Check(t.Context(), uri)
			return info.Unavailable() == want
		})
		return info
	}
	run("cupsdisable", "-r", "out of paper", "front")
	info := checkUntil("the disabled queue to be stopped", "printer-stopped")
	if info.State != Stopped || !slices.Contains(info.Reasons, "paused") {
		t.Fatalf("disabled queue: status %+v", info.Status)
	}
	run("cupsenable", "front")
	run("cupsreject", "front")
	checkUntil("the rejecting queue to refuse jobs", "printer-not-accepting-jobs")
}

// TestCheckSocket: an AppSocket printer is only connected to, at most
// once for many releases at once, and nothing is written to it.
func TestCheckSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted, written atomic.Int32
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer conn.Close()
				if n, _ := conn.Read(make([]byte, 1)); n > 0 {
					written.Add(1)
				}
			}()
		}
	}()
	uri := "socket://" + ln.Addr().String()
	clock := testenv.NewClock()
	c := New(Options{Now: clock.Now})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if info := c.Check(t.Context(), uri); info.Unavailable() != "" || info.Answered || info.Caps.Known {
				t.Errorf("socket printer: %+v", info)
			}
		})
	}
	wg.Wait()
	testenv.WaitFor(t, "the probe to be accepted", func() bool { return accepted.Load() > 0 })
	if n := accepted.Load(); n != 1 {
		t.Errorf("%d connections for 20 checks at once, want 1", n)
	}
	ln.Close()
	clock.Advance(time.Minute)
	if why := c.Check(t.Context(), uri).Unavailable(); why != "printer-unreachable" {
		t.Errorf("closed socket printer: unavailable %q", why)
	}
	if written.Load() != 0 {
		t.Error("the probe wrote to the printer")
	}
}

// TestCheckSilentPrinter: a printer that takes the connection but never
// answers costs one Timeout, and is unreachable.
func TestCheckSilentPrinter(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	c := New(Options{Timeout: 300 * time.Millisecond})
	start := time.Now()
	info := c.Check(t.Context(), "ipp://"+ln.Addr().String()+"/ipp/print")
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("check took %v with a 300ms timeout", took)
	}
	if why := info.Unavailable(); why != "printer-unreachable" {
		t.Errorf("silent printer: unavailable %q", why)
	}
}

// TestRefreshAll: the refresh asks every printer named, capabilities
// included, and forgets a printer no device names once nobody used it
// for two periods.
func TestRefreshAll(t *testing.T) {
	a, b := testenv.IPPEvePrinter(t), testenv.IPPEvePrinter(t, testenv.WithDuplex())
	clock := testenv.NewClock()
	c := New(Options{Now: clock.Now, Refresh: time.Minute})
	c.RefreshAll(t.Context(), []string{a.URI, b.URI})
	for _, uri := range []string{a.URI, b.URI} {
		if info, ok := c.Cached(uri); !ok || !info.Caps.Known || !info.Reachable {
			t.Errorf("%s after refresh: %v %+v", uri, ok, info)
		}
	}
	clock.Advance(90 * time.Second)
	c.Check(t.Context(), a.URI)
	clock.Advance(40 * time.Second)
	c.RefreshAll(t.Context(), nil)
	if _, ok := c.Cached(b.URI); ok {
		t.Error("a printer nobody names or uses is still cached")
	}
	if _, ok := c.Cached(a.URI); !ok {
		t.Error("a printer used a moment ago was forgotten")
	}
}

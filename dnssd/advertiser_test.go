package dnssd_test

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/dnssd"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// queues is an ipp.Backend with queues only; a test may change them.
type queues struct {
	ipp.Backend
	mu sync.Mutex
	m  map[string]ipp.Printer
}

func (q *queues) Printer(_ context.Context, name string) (ipp.Printer, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	p, ok := q.m[name]
	if !ok {
		return ipp.Printer{}, ipp.ErrNotFound
	}
	return p, nil
}

func (q *queues) set(p ipp.Printer) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.m[p.Name] = p
}

func testQueues() *queues {
	return &queues{m: map[string]ipp.Printer{
		"secure": {Name: "secure", Info: "Secure release", Location: "3F", Hold: true, Accepting: true, Color: true,
			Formats: []string{"application/pdf", "image/urf", "image/jpeg"}, MaxSize: 1 << 20, Auth: "basic",
			Caps: ipp.Capabilities{Sides: []string{"one-sided", "two-sided-long-edge"}, URF: []string{"V1.4", "W8", "SRGB24"}}},
		"payroll": {Name: "payroll", Info: "Payroll", Hold: true, Accepting: true, Formats: []string{"application/pdf"},
			MaxSize: 1 << 20, Auth: "basic"},
		"mono": {Name: "mono", Accepting: true, Formats: []string{"application/pdf"}, MaxSize: 1 << 20,
			Auth: "requesting-user-name", Caps: ipp.Capabilities{Sides: []string{"one-sided"}}},
	}}
}

// start advertises the queues of b on a plain and a TLS loopback port.
func start(t *testing.T, av *testenv.Avahi, b ipp.Backend, refresh time.Duration) (*dnssd.Advertiser, int, int) {
	t.Helper()
	plain, tls := testenv.FreePort(t), testenv.FreePort(t)
	a, err := dnssd.Start(context.Background(), dnssd.Options{
		Bus: av.Bus, Required: true, Refresh: refresh,
		Queues: []dnssd.Queue{{Name: "secure"}, {Name: "mono"}, {Name: "payroll", TLSOnly: true}},
		Listeners: []dnssd.Listener{
			{Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: plain}},
			{Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: tls}, TLSVersion: "1.2"},
		},
		Describer: ipp.NewServer(b, nil), Log: testLog(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, plain, tls
}

// browse waits until avahi-browse finds n services of typ, and returns
// them by instance name.
func browse(t *testing.T, av *testenv.Avahi, typ string, n int, ok func(map[string]testenv.Service) bool) map[string]testenv.Service {
	t.Helper()
	return av.BrowseUntil(t, typ, n, ok)
}

// TestAdvertise browses the queues with avahi-browse, an independent
// client, and checks each service's TXT keys, then that Close withdraws
// them.
func TestAdvertise(t *testing.T) {
	av := testenv.StartAvahi(t)
	b := testQueues()
	a, plain, tls := start(t, av, b, time.Hour)
	srv := ipp.NewServer(b, nil)

	// payroll takes passwords over TLS only: it is not an _ipp._tcp service.
	ipps := browse(t, av, dnssd.TypeIPPS, 3, nil)
	for typ, n := range map[string]int{dnssd.TypeIPP: 2, dnssd.TypeIPPS: 3} {
		found := browse(t, av, typ, n, nil)
		for _, queue := range []string{"secure", "mono", "payroll"}[:n] {
			name := map[string]string{"secure": "Secure release", "payroll": "Payroll"}[queue]
			var s testenv.Service
			for n, svc := range found {
				if n == name || name == "" && strings.HasPrefix(n, "mono @ ") {
					s = svc
				}
			}
			if s.Name == "" {
				t.Fatalf("%s: queue %s not found among %v", typ, queue, found)
			}
			port, scheme, wantTLS := plain, "ipp", ""
			if typ == dnssd.TypeIPPS {
				port, scheme, wantTLS = tls, "ipps", "1.2"
			}
			if s.Port != port || s.Address != "127.0.0.1" {
				t.Errorf("%s %s at %s:%d, want 127.0.0.1:%d", typ, queue, s.Address, s.Port, port)
			}
			d, err := srv.Describe(context.Background(), queue, scheme, net.JoinHostPort(s.Host, strconv.Itoa(port)))
			if err != nil {
				t.Fatal(err)
			}
			checkTXT(t, typ+" "+queue, s.TXT, d, wantTLS)
		}
	}
	for sub, n := range map[string]int{"_print._sub._ipp._tcp": 2, "_universal._sub._ipp._tcp": 2,
		"_print._sub._ipps._tcp": 3, "_universal._sub._ipps._tcp": 3} {
		browse(t, av, sub, n, nil)
	}
	if ipps["Secure release"].TXT["air"] != "username,password" {
		t.Errorf("auth: basic queue: air=%q, want username,password", ipps["Secure release"].TXT["air"])
	}

	a.Close()
	browse(t, av, dnssd.TypeIPP, 0, nil)
	browse(t, av, dnssd.TypeIPPS, 0, nil)
}

// checkTXT checks every TXT key of a service against the queue's
// description d.
func checkTXT(t *testing.T, what string, txt map[string]string, d ipp.Description, wantTLS string) {
	t.Helper()
	flag := map[bool]string{true: "T", false: "F"}
	urf := strings.Join(d.URF, ",")
	if urf == "" {
		urf = "none"
	}
	want := map[string]string{
		"txtvers": "1", "qtotal": "1", "rp": "ipp/print/" + d.Name, "ty": d.MakeAndModel, "adminurl": d.MoreInfo,
		"note": d.Location, "priority": "0", "product": "(" + d.MakeAndModel + ")",
		"pdl": strings.Join(d.Formats, ","), "URF": urf, "UUID": d.UUID, "Color": flag[d.Color],
		"Duplex": flag[d.Duplex], "kind": "document", "air": map[string]string{"basic": "username,password"}[d.Auth],
	}
	if want["air"] == "" {
		want["air"] = "none"
	}
	if wantTLS != "" {
		want["TLS"] = wantTLS
	}
	for k, v := range want {
		if got, ok := txt[k]; !ok || got != v {
			t.Errorf("%s: TXT %s=%q (present %v), want %q", what, k, got, ok, v)
		}
	}
	for k := range txt {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected TXT key %s=%q", what, k, txt[k])
		}
	}
}

// TestAdvertiseFollows checks that the advertisement follows what
// happens: a name taken by another service is replaced with Avahi's
// alternative; a queue whose capabilities change gets a new TXT record.
func TestAdvertiseFollows(t *testing.T) {
	av := testenv.StartAvahi(t)
	// Another responder holds the name of the queue "secure" first.
	pub := exec.Command(testenv.Tool(t, "avahi-publish"), "-s", "Secure release", dnssd.TypeIPP, "9", "other=1")
	pub.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+av.Bus)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Process.Kill(); pub.Wait() })
	browse(t, av, dnssd.TypeIPP, 1, nil)

	b := testQueues()
	start(t, av, b, 50*time.Millisecond)
	found := browse(t, av, dnssd.TypeIPP, 3, nil) // the other's, secure's and mono's
	if s, ok := found["Secure release #2"]; !ok || s.TXT["rp"] != "ipp/print/secure" {
		t.Fatalf("the queue whose name was taken is not advertised as %q: %v", "Secure release #2", found)
	}

	p, _ := b.Printer(context.Background(), "mono")
	p.Color = true
	b.set(p)
	browse(t, av, dnssd.TypeIPP, 3, func(m map[string]testenv.Service) bool {
		for n, s := range m {
			if strings.HasPrefix(n, "mono @ ") {
				return s.TXT["Color"] == "T"
			}
		}
		return false
	})

}

// TestAdvertiseWithoutAvahi checks server.dnssd's auto and on where no
// bus answers, and where a bus has no Avahi on it; in auto, that the
// queues are advertised once Avahi starts, and again after it restarted
// (on its signals: the refresh is too far off to do it).
func TestAdvertiseWithoutAvahi(t *testing.T) {
	l := []dnssd.Listener{{Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 631}}}
	o := dnssd.Options{Bus: "unix:path=" + t.TempDir() + "/none", Queues: []dnssd.Queue{{Name: "mono"}}, Listeners: l, Log: testLog(t),
		Describer: ipp.NewServer(testQueues(), nil)}
	a, err := dnssd.Start(context.Background(), o)
	if err != nil {
		t.Fatalf("auto without a bus: %v, want nothing advertised and no error", err)
	}
	a.Close()
	o.Required = true
	if _, err := dnssd.Start(context.Background(), o); err == nil || !strings.Contains(err.Error(), "D-Bus") {
		t.Errorf("on without a bus: %v, want an error naming D-Bus", err)
	}
	av := testenv.StartAvahi(t)
	av.Stop()
	o.Bus = av.Bus
	if _, err := dnssd.Start(context.Background(), o); err == nil || !strings.Contains(err.Error(), "Avahi") {
		t.Errorf("on with a bus but no Avahi: %v, want an error naming Avahi", err)
	}
	// auto waits for an Avahi daemon that starts later.
	o.Required, o.Refresh = false, time.Hour
	a, err = dnssd.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	av.Start()
	browse(t, av, dnssd.TypeIPP, 1, nil)
	av.Stop()
	av.Start()
	browse(t, av, dnssd.TypeIPP, 1, nil)
}

// testLog logs to t.
func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

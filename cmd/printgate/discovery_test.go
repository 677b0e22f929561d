package main

import (
	"cmp"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testenv"
)

// TestDiscovery starts printgate with a plain and a TLS listener where an
// Avahi daemon runs, finds every queue with avahi-browse, checks that the
// TXT keys say what the queue's Get-Printer-Attributes answer says, that
// a queue taking passwords only over TLS is advertised only as IPPS, and
// that stopping printgate withdraws them.
func TestDiscovery(t *testing.T) {
	av := testenv.StartAvahi(t)
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", av.Bus) // the "system" bus serve finds
	cfg := newConfig(t, "",
		QueueConfig{Name: "secure", Mode: "hold", Auth: "basic", Info: "Secure release", Location: "3F"},
		QueueConfig{Name: "lobby", Mode: "direct", Printer: "ipp://127.0.0.1:9/ipp/print"})
	tlsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t)))
	cfg.Server.TLSListen = []string{tlsAddr}
	cfg.Server.DNSSD = "on"
	runCLI(t, cfg, "alice-secret\n", "user", "add", "alice")
	srv := startServer(t, cfg)

	// secure takes passwords over TLS only: it is no _ipp._tcp service.
	for typ, n := range map[string]int{"_ipp._tcp": 1, "_ipps._tcp": 2} {
		found := browseQueues(t, av, typ, n)
		for name, s := range found {
			queue := strings.TrimPrefix(s.TXT["rp"], "ipp/print/")
			scheme, addr := "ipp", srv.Addr
			if typ == "_ipps._tcp" {
				scheme, addr = "ipps", tlsAddr
			}
			if want := map[string]string{"secure": "Secure release", "lobby": "lobby @ "}[queue]; !strings.HasPrefix(name, want) {
				t.Errorf("%s: queue %q advertised as %q, want %q...", typ, queue, name, want)
			}
			if _, port, _ := net.SplitHostPort(addr); strconv.Itoa(s.Port) != port {
				t.Errorf("%s %s: port %d, want %s", typ, queue, s.Port, port)
			}
			attrs := queueAttrs(t, scheme, addr, queue)
			color := map[string]string{"true": "T", "false": "F"}[strings.Join(values(attrs, "color-supported"), "")]
			duplex := "F"
			if slices.ContainsFunc(values(attrs, "sides-supported"), func(v string) bool { return strings.HasPrefix(v, "two-sided") }) {
				duplex = "T"
			}
			air := map[string]string{"basic": "username,password", "requesting-user-name": "none"}[strings.Join(values(attrs, "uri-authentication-supported"), "")]
			want := map[string]string{
				"txtvers": "1", "rp": "ipp/print/" + queue, "ty": strings.Join(values(attrs, "printer-make-and-model"), ""),
				"note": strings.Join(values(attrs, "printer-location"), ""),
				"pdl":  strings.Join(values(attrs, "document-format-supported"), ","),
				"UUID": strings.TrimPrefix(strings.Join(values(attrs, "printer-uuid"), ""), "urn:uuid:"),
				"URF":  cmp.Or(strings.Join(values(attrs, "urf-supported"), ","), "none"), "Color": color,
				"Duplex": duplex, "kind": "document", "air": air,
				"adminurl": scheme + "://" + s.Host + ":" + strconv.Itoa(s.Port) + "/ipp/print/" + queue,
			}
			if scheme == "ipps" {
				want["TLS"] = "1.2"
				want["adminurl"] = "https" + strings.TrimPrefix(want["adminurl"], "ipps")
			} else {
				want["adminurl"] = "http" + strings.TrimPrefix(want["adminurl"], "ipp")
			}
			for k, v := range want {
				if got, ok := s.TXT[k]; !ok || got != v {
					t.Errorf("%s %s: TXT %s=%q (present %v), want %q", typ, queue, k, got, ok, v)
				}
			}
			if _, ok := s.TXT["TLS"]; ok && scheme == "ipp" {
				t.Errorf("%s %s: TLS key on a plain listener, which takes no TLS upgrade", typ, queue)
			}
		}
	}
	srv.Stop(t)
	browseQueues(t, av, "_ipp._tcp", 0)
	browseQueues(t, av, "_ipps._tcp", 0)
}

// TestDiscoveryOff checks that server.dnssd: off advertises nothing where
// Avahi runs.
func TestDiscoveryOff(t *testing.T) {
	av := testenv.StartAvahi(t)
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", av.Bus)
	cfg := newConfig(t, "")
	cfg.Server.DNSSD = "off"
	startServer(t, cfg)
	// A marker service registered after printgate started is found only
	// once what was registered before it would be: by then a queue
	// advertised by mistake would be found too.
	pub := exec.Command(testenv.Tool(t, "avahi-publish"), "-s", "marker", "_ipp._tcp", "9")
	pub.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+av.Bus)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Process.Kill(); pub.Wait() })
	if found := browseQueues(t, av, "_ipp._tcp", 1); found["marker"].Port != 9 {
		t.Errorf("server.dnssd off: avahi-browse found %v, want the marker only", found)
	}
}

// queueAttrs returns every attribute of queue over IPP or IPPS (as alice,
// whose password the basic queue wants).
func queueAttrs(t *testing.T, scheme, addr, queue string) goipp.Attributes {
	t.Helper()
	if scheme == "ipp" {
		return printerAttrs(t, "ipp://"+addr+"/ipp/print/"+queue)
	}
	uri := "ipps://" + addr + "/ipp/print/" + queue
	code, r := ippsDo(t, addr, queue, "alice", "alice-secret",
		ippRequest(goipp.OpGetPrinterAttributes, uri, "alice", keywordVal("requested-attributes", "all")), nil)
	if code != http.StatusOK || status(r) != goipp.StatusOk {
		t.Fatalf("Get-Printer-Attributes %s: HTTP %d", uri, code)
	}
	return r.Printer
}

// browseQueues waits until avahi-browse finds n services of typ and
// returns them by name.
func browseQueues(t *testing.T, av *testenv.Avahi, typ string, n int) map[string]testenv.Service {
	t.Helper()
	return av.BrowseUntil(t, typ, n, nil)
}

package testenv

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"
)

// DefaultPrinterFormats returns the document formats an IPPEvePrinter
// accepts unless WithFormats says otherwise.
func DefaultPrinterFormats() []string {
	return []string{
		"application/pdf", "image/jpeg", "image/pwg-raster", "image/urf",
		"application/postscript", "application/octet-stream",
	}
}

// Printer is a running ippeveprinter, CUPS's IPP Everywhere printer
// simulator.
type Printer struct {
	// URI is the printer's IPP address, ipp://127.0.0.1:PORT/ipp/print.
	URI string
	// IPPSURI is the same printer over TLS; see TLSConfig.
	IPPSURI string
	// Addr is host:port of the listener.
	Addr string
	// Dir holds the documents of the current run, named
	// "JOBID-JOBNAME.EXT". On a restart the previous run's documents move
	// to a subfolder "run-N" (job IDs start again at 1). The print
	// command's output files (*.prn) sit beside them; Files skips them.
	Dir string

	t       testing.TB
	bin     string
	args    []string
	env     []string
	keyDir  string
	mu      sync.Mutex
	proc    *process
	runs    int
	tlsConf *tls.Config
}

// PrinterOption changes how IPPEvePrinter starts the printer.
type PrinterOption func(*printerConfig)

type printerConfig struct {
	name    string
	formats []string
	command string
	duplex  bool
	color   bool
}

// WithPrinterName sets the printer-name (default "Test Printer").
func WithPrinterName(name string) PrinterOption {
	return func(c *printerConfig) { c.name = name }
}

// WithFormats sets document-format-supported.
func WithFormats(formats ...string) PrinterOption {
	return func(c *printerConfig) { c.formats = formats }
}

// WithCommand sets the program run for each job with the document's path
// (default /bin/true, which finishes jobs at once). A command that sleeps
// keeps jobs in the processing state; one that fails aborts them.
func WithCommand(path string) PrinterOption {
	return func(c *printerConfig) { c.command = path }
}

// WithDuplex makes the printer support two-sided printing.
func WithDuplex() PrinterOption {
	return func(c *printerConfig) { c.duplex = true }
}

// WithColor makes the printer print in colour; without it ippeveprinter
// is a monochrome printer (print-color-mode-supported monochrome).
func WithColor() PrinterOption {
	return func(c *printerConfig) { c.color = true }
}

// IPPEvePrinter starts Debian's ippeveprinter on a free loopback port,
// keeping every document it receives, and stops it in t.Cleanup.
func IPPEvePrinter(t testing.TB, opts ...PrinterOption) *Printer {
	t.Helper()
	cfg := printerConfig{name: "Test Printer", formats: DefaultPrinterFormats(), command: "/bin/true"}
	for _, o := range opts {
		o(&cfg)
	}
	bin := Tool(t, "ippeveprinter")
	bus := dbusBus(t)

	p := &Printer{
		t:      t,
		bin:    bin,
		env:    []string{"DBUS_SYSTEM_BUS_ADDRESS=" + bus},
		Dir:    filepath.Join(t.TempDir(), "spool"),
		keyDir: filepath.Join(t.TempDir(), "keys"),
	}
	for _, d := range []string{p.Dir, p.keyDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatalf("testenv: ippeveprinter: %v", err)
		}
	}
	// -r off: no DNS-SD registration; -k: keep documents; -n localhost
	// matches the name in the certificate made for ipps.
	base := []string{"-n", "localhost", "-r", "off", "-k", "-K", p.keyDir, "-d", p.Dir,
		"-c", cfg.command, "-f", strings.Join(cfg.formats, ",")}
	if cfg.duplex {
		base = append(base, "-2")
	}
	if cfg.color {
		// -s PPM,COLOR-PPM: a colour speed above 0 makes a colour printer.
		base = append(base, "-s", "10,10")
	}

	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("testenv: ippeveprinter: %v", err)
		}
		p.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		p.URI = "ipp://" + p.Addr + "/ipp/print"
		p.IPPSURI = "ipps://" + p.Addr + "/ipp/print"
		p.args = append(slices.Clone(base), "-p", strconv.Itoa(port), cfg.name)
		if lastErr = p.start(); lastErr == nil {
			t.Cleanup(p.Stop)
			return p
		}
	}
	t.Fatalf("testenv: %v", lastErr)
	return nil
}

// Start starts the printer again on the same port after Stop. It fails the
// test if the printer does not come up.
func (p *Printer) Start() {
	p.t.Helper()
	p.mu.Lock()
	running := p.proc != nil && !p.proc.exited()
	p.mu.Unlock()
	if running {
		return
	}
	if err := p.archiveRun(); err != nil {
		p.t.Fatalf("testenv: ippeveprinter: %v", err)
	}
	if err := p.start(); err != nil {
		p.t.Fatalf("testenv: %v", err)
	}
}

func (p *Printer) start() error {
	proc, err := startProcess("ippeveprinter", p.bin, p.env, p.args...)
	if err != nil {
		return err
	}
	if err := proc.waitReady(p.ready); err != nil {
		proc.stop()
		return err
	}
	p.mu.Lock()
	p.proc = proc
	p.runs++
	p.mu.Unlock()
	return nil
}

// Stop stops the printer, as if it were switched off: connections are
// refused until Start.
func (p *Printer) Stop() {
	p.mu.Lock()
	proc := p.proc
	p.mu.Unlock()
	if proc != nil {
		proc.stop()
	}
}

// archiveRun moves the documents of the run that ended into Dir/run-N.
func (p *Printer) archiveRun() error {
	p.mu.Lock()
	run := p.runs
	p.mu.Unlock()
	entries, err := os.ReadDir(p.Dir)
	if err != nil {
		return err
	}
	dest := filepath.Join(p.Dir, "run-"+strconv.Itoa(run))
	if err := os.Mkdir(dest, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			if err := os.Rename(filepath.Join(p.Dir, e.Name()), filepath.Join(dest, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// Files returns the paths of the documents received so far, earlier runs
// first, then by job ID.
func (p *Printer) Files() []string {
	p.t.Helper()
	p.mu.Lock()
	runs := p.runs
	p.mu.Unlock()
	var files []string
	for run := 1; run < runs; run++ {
		files = append(files, p.docs(filepath.Join(p.Dir, "run-"+strconv.Itoa(run)))...)
	}
	return append(files, p.docs(p.Dir)...)
}

// docs lists the documents in dir ordered by job ID.
func (p *Printer) docs(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		p.t.Fatalf("testenv: ippeveprinter: %v", err)
	}
	type doc struct {
		id   int
		path string
	}
	var docs []doc
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasSuffix(name, ".prn") {
			continue
		}
		idText, _, _ := strings.Cut(name, "-")
		id, _ := strconv.Atoi(idText)
		docs = append(docs, doc{id, filepath.Join(dir, name)})
	}
	slices.SortFunc(docs, func(a, b doc) int { return a.id - b.id })
	paths := make([]string, len(docs))
	for i, d := range docs {
		paths[i] = d.path
	}
	return paths
}

// TLSConfig returns a client configuration that trusts the printer's
// self-signed certificate, for IPPSURI. ippeveprinter makes the certificate
// on the first TLS connection, so this connects once first.
func (p *Printer) TLSConfig() *tls.Config {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tlsConf != nil {
		return p.tlsConf.Clone()
	}
	// This handshake only provokes the certificate; nothing is sent.
	c, err := tls.Dial("tcp", p.Addr, &tls.Config{ServerName: "localhost", InsecureSkipVerify: true})
	if err != nil {
		p.t.Fatalf("testenv: ippeveprinter: TLS: %v", err)
	}
	c.Close()
	pemData, err := os.ReadFile(filepath.Join(p.keyDir, "localhost.crt"))
	if err != nil {
		p.t.Fatalf("testenv: ippeveprinter: TLS: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		p.t.Fatalf("testenv: ippeveprinter: TLS: no certificate in localhost.crt")
	}
	p.tlsConf = &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
	return p.tlsConf.Clone()
}

// ready succeeds once the printer answers Get-Printer-Attributes.
func (p *Printer) ready(ctx context.Context) error {
	req := goipp.NewRequest(goipp.DefaultVersion, goipp.OpGetPrinterAttributes, 1)
	req.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	req.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	req.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(p.URI)))
	req.Operation.Add(goipp.MakeAttribute("requested-attributes", goipp.TagKeyword, goipp.String("printer-state")))
	body, err := req.EncodeBytes()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+p.Addr+"/ipp/print", bytes.NewReader(body))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", goipp.ContentType)
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var msg goipp.Message
	if err := msg.Decode(io.LimitReader(resp.Body, 1<<20)); err != nil {
		return fmt.Errorf("decode Get-Printer-Attributes response: %w", err)
	}
	if s := goipp.Status(msg.Code); s != goipp.StatusOk {
		return fmt.Errorf("Get-Printer-Attributes: %v", s)
	}
	return nil
}

// dbusBus starts a private D-Bus daemon, which ippeveprinter needs for
// Avahi even with DNS-SD off, and returns its address.
func dbusBus(t testing.TB) string {
	t.Helper()
	bin := Tool(t, "dbus-daemon")
	sock := filepath.Join(sharedDir(t, "pg-dbus-"), "bus")
	addr := "unix:path=" + sock
	proc, err := startProcess("dbus-daemon", bin, nil, "--session", "--nofork", "--nopidfile", "--address="+addr)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(proc.stop)
	err = proc.waitReady(func(context.Context) error {
		c, err := net.Dial("unix", sock)
		if err != nil {
			return err
		}
		return c.Close()
	})
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return addr
}

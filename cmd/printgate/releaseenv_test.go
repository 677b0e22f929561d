package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testenv"
)

// releaseEnv is printgate with a hold queue, a real ippeveprinter behind
// registered devices, and the user bob with PIN 4821 and card 04A1B2C3.
type releaseEnv struct {
	t       *testing.T
	srv     *testServer
	printer *testenv.Printer
	cfg     Config
	devices map[string]string // name → token
}

var tokenLine = regexp.MustCompile(`token: (pgd_\S+)`)

// newReleaseEnv starts it all; tweak may change the config first, edit the
// app.
func newReleaseEnv(t *testing.T, dbURL string, tweak func(*Config), edit ...func(*app)) *releaseEnv {
	t.Helper()
	return newReleaseEnvAt(t, dbURL, testenv.IPPEvePrinter(t), tweak, edit...)
}

// newReleaseEnvAt is newReleaseEnv with the devices at printer.
func newReleaseEnvAt(t *testing.T, dbURL string, printer *testenv.Printer, tweak func(*Config), edit ...func(*app)) *releaseEnv {
	t.Helper()
	e := &releaseEnv{t: t, printer: printer, devices: map[string]string{}}
	e.cfg = newConfig(t, dbURL)
	e.cfg.Release.SweepEvery = 200 * time.Millisecond
	if tweak != nil {
		tweak(&e.cfg)
		holdUnknownOwners(&e.cfg)
		if err := e.cfg.validate(); err != nil {
			t.Fatalf("config: %v", err)
		}
	}
	runCLI(t, e.cfg, "bob-secret\n", "user", "add", "bob", "--display-name", "Bob User", "--employee-number", "1002")
	runCLI(t, e.cfg, "alice-secret\n", "user", "add", "alice", "--role", "admin")
	runCLI(t, e.cfg, "4821\n", "user", "set-pin", "bob")
	runCLI(t, e.cfg, "04A1B2C3\n", "card", "add", "bob")
	e.addDevice("mfp1", "card,id+pin,card+pin")
	e.addDevice("mfp2", "card,id+pin,card+pin")
	e.srv = startServer(t, e.cfg, edit...)
	return e
}

func (e *releaseEnv) addDevice(name, methods string, extra ...string) {
	args := append([]string{"device", "add", name, "--printer", e.printer.URI, "--queue", "secure", "--auth", methods}, extra...)
	out := runCLI(e.t, e.cfg, "", args...)
	m := tokenLine.FindStringSubmatch(out)
	if m == nil {
		e.t.Fatalf("device add printed no token:\n%s", out)
	}
	e.devices[name] = m[1]
}

// submit prints doc over IPP as user, with extra operation attributes.
func (e *releaseEnv) submit(user string, doc []byte, extra ...goipp.Attribute) int64 {
	e.t.Helper()
	uri := e.srv.PrinterURI("secure")
	attrs := append([]goipp.Attribute{nameVal("job-name", "payslip"), mimeVal("application/pdf")}, extra...)
	r := ippDo(e.t, uri, ippRequest(goipp.OpPrintJob, uri, user, attrs...), doc)
	if status(r) != goipp.StatusOk {
		e.t.Fatalf("Print-Job: %s", status(r))
	}
	id, _ := strconv.ParseInt(attrValue(r.Job, "job-id"), 10, 64)
	return id
}

// printDoc prints doc, of format, to the queue as user, with attrs (a
// job-name, say), and returns its job ID.
func (e *releaseEnv) printDoc(user, format string, doc []byte, attrs ...goipp.Attribute) int64 {
	e.t.Helper()
	uri := e.srv.PrinterURI("secure")
	r := ippDo(e.t, uri, ippRequest(goipp.OpPrintJob, uri, user, append(attrs, mimeVal(format))...), doc)
	if status(r) != goipp.StatusOk {
		e.t.Fatalf("Print-Job: %s", status(r))
	}
	id, _ := strconv.ParseInt(attrValue(r.Job, "job-id"), 10, 64)
	return id
}

// call sends one release API request with the device's token.
func (e *releaseEnv) call(device, method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+e.srv.Addr+"/api/v1"+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if tok, ok := e.devices[device]; ok {
		req.Header.Set("Authorization", "Bearer "+tok)
	} else if device != "" {
		req.Header.Set("Authorization", "Bearer "+device)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			e.t.Fatalf("%s %s: HTTP %d, not JSON: %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, out
}

// login opens a session and returns its token; it fails the test unless
// the API answers 201.
func (e *releaseEnv) login(device string, body map[string]string) string {
	e.t.Helper()
	code, out := e.call(device, http.MethodPost, "/release/sessions", body)
	if code != http.StatusCreated {
		e.t.Fatalf("login %v at %s: HTTP %d %v", keys(body), device, code, out)
	}
	return out["session"].(string)
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// waitState waits for the job to reach state.
func (e *releaseEnv) waitState(device, session string, id int64, state string) map[string]any {
	e.t.Helper()
	var out map[string]any
	testenv.WaitFor(e.t, fmt.Sprintf("job %d to reach %s", id, state), func() bool {
		var code int
		code, out = e.call(device, http.MethodGet, "/release/sessions/"+session+"/jobs/"+strconv.FormatInt(id, 10), nil)
		return code == http.StatusOK && out["state"] == state
	})
	return out
}

// received returns the SHA-256 of every document the printer received.
func (e *releaseEnv) received() [][32]byte {
	var out [][32]byte
	for _, f := range e.printer.Files() {
		b, err := os.ReadFile(f)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, sha256.Sum256(b))
	}
	return out
}

// spoolFiles lists the documents left, in spool files and in the
// database.
func (e *releaseEnv) spoolFiles() []string { return documents(e.srv.Config) }

func jobIDs(out map[string]any) []int64 {
	var ids []int64
	jobs, _ := out["jobs"].([]any)
	for _, j := range jobs {
		ids = append(ids, int64(j.(map[string]any)["id"].(float64)))
	}
	return ids
}

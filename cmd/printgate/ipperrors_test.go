package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// errEnv is a printgate with a hold queue "secure" (documents up to 1 MB)
// and a direct queue "lobby" printing on a real ippeveprinter.
type errEnv struct {
	srv *testServer
	pdf []byte
}

// state is what a refused request must leave as it was.
type state struct {
	jobs  int      // jobs of every state on "secure"
	spool []string // files in the spool directory
}

// ippErrorCase is one request and the reply it must get.
type ippErrorCase struct {
	name string
	// queue is the queue in the request path; "secure" when empty.
	queue string
	// request returns the bytes to POST: the IPP header, then the
	// document. It may first make the jobs the request acts on.
	request func(t *testing.T, e *errEnv) []byte
	// exchange, when set, replaces the POST of request's bytes and
	// returns the reply to check.
	exchange func(t *testing.T, e *errEnv) *goipp.Message
	status   goipp.Status
	// check makes assertions beyond the status; before is the state
	// just before the request was sent.
	check func(t *testing.T, e *errEnv, before state, reply *goipp.Message)
}

// TestIPPErrors sends malformed and refused requests, in the order of the
// checks of RFC 8011 §4.1, and checks the exact status of each reply.
func TestIPPErrors(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		printer := testenv.IPPEvePrinter(t)
		e := &errEnv{
			srv: startServer(t, newConfig(t, dbURL,
				QueueConfig{Name: "secure", Mode: "hold", MaxDocumentMB: 1},
				QueueConfig{Name: "lobby", Mode: "direct", Printer: printer.URI})),
			pdf: testdocs.PDF(1, "ipp errors", testdocs.A4),
		}
		for _, tc := range ippErrorCases() {
			t.Run(tc.name, func(t *testing.T) {
				var reply *goipp.Message
				var before state
				if tc.exchange != nil {
					before = e.state(t)
					reply = tc.exchange(t, e)
				} else {
					body := tc.request(t, e)
					before = e.state(t)
					reply = e.post(t, cmp.Or(tc.queue, "secure"), body)
				}
				if got := status(reply); got != tc.status {
					t.Errorf("status %s, want %s (status-message %q)", got, tc.status, attrValue(reply.Operation, "status-message"))
				}
				if tc.check != nil {
					tc.check(t, e, before, reply)
				}
			})
		}
		for _, tc := range httpCases() {
			t.Run(tc.name, func(t *testing.T) { tc.run(t, e) })
		}
		if strings.Contains(e.srv.Log.String(), "panic") {
			t.Errorf("server log reports a panic:\n%s", e.srv.Log)
		}
	})
}

func ippErrorCases() []ippErrorCase {
	gpa := func(t *testing.T, e *errEnv) *goipp.Message {
		return ippRequest(goipp.OpGetPrinterAttributes, e.srv.PrinterURI("secure"), "alice")
	}
	// edit returns a request func that builds Get-Printer-Attributes and
	// changes it with f.
	edit := func(f func(m *goipp.Message)) func(*testing.T, *errEnv) []byte {
		return func(t *testing.T, e *errEnv) []byte {
			m := gpa(t, e)
			f(m)
			return encode(t, m)
		}
	}
	printJob := func(fidelity bool) func(*testing.T, *errEnv) []byte {
		return func(t *testing.T, e *errEnv) []byte {
			m := ippRequest(goipp.OpPrintJob, e.srv.PrinterURI("secure"), "alice", mimeVal("application/pdf"))
			if fidelity {
				m.Operation.Add(boolVal("ipp-attribute-fidelity", true))
			}
			m.Job.Add(intVal("foo-bar", 7))
			m.Job.Add(keywordVal("sides", "three-sided"))
			return append(encode(t, m), e.pdf...)
		}
	}
	unsupportedEchoed := func(t *testing.T, _ *errEnv, _ state, reply *goipp.Message) {
		t.Helper()
		if got := attrValue(reply.Unsupported, "foo-bar"); got != "7" {
			t.Errorf("unsupported group has foo-bar = %q, want 7 (group: %v)", got, reply.Unsupported)
		}
		if got := attrValue(reply.Unsupported, "sides"); got != "three-sided" {
			t.Errorf("unsupported group has sides = %q, want three-sided (group: %v)", got, reply.Unsupported)
		}
	}
	return []ippErrorCase{
		{name: "version 0.0", request: edit(func(m *goipp.Message) { m.Version = goipp.MakeVersion(0, 0) }),
			status: goipp.StatusErrorVersionNotSupported},
		{name: "version 3.0", request: edit(func(m *goipp.Message) { m.Version = goipp.MakeVersion(3, 0) }),
			status: goipp.StatusErrorVersionNotSupported},
		{name: "request-id 0", request: edit(func(m *goipp.Message) { m.RequestID = 0 }),
			status: goipp.StatusErrorBadRequest},
		{name: "no operation group", status: goipp.StatusErrorBadRequest,
			request: edit(func(m *goipp.Message) { m.Job, m.Operation = m.Operation, nil })},
		{name: "operation group not first", status: goipp.StatusErrorBadRequest,
			request: edit(func(m *goipp.Message) {
				m.Groups = goipp.Groups{
					{Tag: goipp.TagJobGroup, Attrs: goipp.Attributes{intVal("copies", 1)}},
					{Tag: goipp.TagOperationGroup, Attrs: m.Operation},
				}
			})},
		{name: "operation group repeated", status: goipp.StatusErrorBadRequest,
			request: edit(func(m *goipp.Message) {
				m.Groups = goipp.Groups{
					{Tag: goipp.TagOperationGroup, Attrs: m.Operation},
					{Tag: goipp.TagOperationGroup, Attrs: goipp.Attributes{keywordVal("requested-attributes", "all")}},
				}
			})},
		{name: "charset missing", status: goipp.StatusErrorBadRequest,
			request: edit(func(m *goipp.Message) { m.Operation = m.Operation[1:] })},
		{name: "natural-language missing", status: goipp.StatusErrorBadRequest,
			request: edit(func(m *goipp.Message) { m.Operation = slices.Delete(m.Operation, 1, 2) })},
		{name: "natural-language before charset", status: goipp.StatusErrorBadRequest,
			request: edit(func(m *goipp.Message) { m.Operation[0], m.Operation[1] = m.Operation[1], m.Operation[0] })},
		{name: "charset not supported", status: goipp.StatusErrorCharset,
			request: edit(func(m *goipp.Message) {
				m.Operation[0] = goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("iso-8859-1"))
			}),
			check: func(t *testing.T, _ *errEnv, _ state, reply *goipp.Message) {
				if got := attrValue(reply.Unsupported, "attributes-charset"); got != "iso-8859-1" {
					t.Errorf("unsupported group has attributes-charset = %q, want iso-8859-1", got)
				}
			}},
		{name: "job-name not UTF-8", status: goipp.StatusErrorBadRequest,
			request: func(t *testing.T, e *errEnv) []byte {
				m := ippRequest(goipp.OpPrintJob, e.srv.PrinterURI("secure"), "alice", nameVal("job-name", "caf\xe9"))
				return append(encode(t, m), e.pdf...)
			},
			check: func(t *testing.T, e *errEnv, before state, reply *goipp.Message) { e.unchanged(t, before) }},
		{name: "requesting-user-name with NUL", status: goipp.StatusErrorBadRequest,
			request: func(t *testing.T, e *errEnv) []byte {
				m := ippRequest(goipp.OpPrintJob, e.srv.PrinterURI("secure"), "alice\x00root", mimeVal("application/pdf"))
				return append(encode(t, m), e.pdf...)
			},
			check: func(t *testing.T, e *errEnv, before state, reply *goipp.Message) { e.unchanged(t, before) }},
		{name: "printer-uri missing", status: goipp.StatusErrorBadRequest,
			request: edit(func(m *goipp.Message) { m.Operation = slices.Delete(m.Operation, 2, 3) })},
		{name: "printer-uri of another queue", status: goipp.StatusErrorNotFound,
			request: func(t *testing.T, e *errEnv) []byte {
				return encode(t, ippRequest(goipp.OpGetPrinterAttributes, e.srv.PrinterURI("lobby"), "alice"))
			}},
		{name: "unknown operation 0x4000", status: goipp.StatusErrorOperationNotSupported,
			request: edit(func(m *goipp.Message) { m.Code = 0x4000 })},
		{name: "Print-URI", status: goipp.StatusErrorOperationNotSupported,
			request: edit(func(m *goipp.Message) { m.Code = goipp.Code(goipp.OpPrintURI) })},
		{name: "unsupported job attributes", status: goipp.StatusOkIgnoredOrSubstituted,
			request: printJob(false),
			check: func(t *testing.T, e *errEnv, before state, reply *goipp.Message) {
				unsupportedEchoed(t, e, before, reply)
				if attrValue(reply.Job, "job-id") == "" || attrValue(reply.Job, "job-state") != "4" {
					t.Errorf("no held job made despite the success status: %v", reply.Job)
				}
				if after := e.state(t); after.jobs != before.jobs+1 {
					t.Errorf("%d jobs after the request, want %d", after.jobs, before.jobs+1)
				}
			}},
		{name: "unsupported job attributes with fidelity", status: goipp.StatusErrorAttributesOrValues,
			request: printJob(true),
			check: func(t *testing.T, e *errEnv, before state, reply *goipp.Message) {
				unsupportedEchoed(t, e, before, reply)
				e.unchanged(t, before)
			}},
		{name: "document-format not supported", status: goipp.StatusErrorDocumentFormatNotSupported,
			request: func(t *testing.T, e *errEnv) []byte {
				m := ippRequest(goipp.OpPrintJob, e.srv.PrinterURI("secure"), "alice", mimeVal("text/html"))
				return append(encode(t, m), "<p>hi</p>"...)
			},
			check: func(t *testing.T, e *errEnv, before state, reply *goipp.Message) { e.unchanged(t, before) }},
		{name: "compression gzip", status: goipp.StatusErrorCompressionNotSupported,
			request: func(t *testing.T, e *errEnv) []byte {
				m := ippRequest(goipp.OpPrintJob, e.srv.PrinterURI("secure"), "alice", keywordVal("compression", "gzip"))
				return append(encode(t, m), e.pdf...)
			},
			check: func(t *testing.T, e *errEnv, before state, reply *goipp.Message) { e.unchanged(t, before) }},
		{name: "document larger than max_document_mb", status: goipp.StatusErrorRequestEntity,
			request: func(t *testing.T, e *errEnv) []byte {
				m := ippRequest(goipp.OpPrintJob, e.srv.PrinterURI("secure"), "alice", mimeVal("application/pdf"))
				doc := append(bytes.Clone(e.pdf), bytes.Repeat([]byte("%padding\n"), (2<<20)/9)...)
				return append(encode(t, m), doc...)
			},
			check: func(t *testing.T, e *errEnv, before state, reply *goipp.Message) { e.unchanged(t, before) }},
		{name: "Get-Job-Attributes of unknown job", status: goipp.StatusErrorNotFound,
			request: func(t *testing.T, e *errEnv) []byte {
				return encode(t, ippRequest(goipp.OpGetJobAttributes, e.srv.PrinterURI("secure"), "alice", intVal("job-id", 999999)))
			}},
		{name: "Cancel-Job of unknown job", status: goipp.StatusErrorNotFound,
			request: func(t *testing.T, e *errEnv) []byte {
				return encode(t, ippRequest(goipp.OpCancelJob, e.srv.PrinterURI("secure"), "alice", intVal("job-id", 999999)))
			}},
		{name: "Cancel-Job of a canceled job", status: goipp.StatusErrorNotPossible,
			request: func(t *testing.T, e *errEnv) []byte {
				id := e.printJob(t, "alice")
				cancel := ippRequest(goipp.OpCancelJob, e.srv.PrinterURI("secure"), "alice", intVal("job-id", id))
				if r := ippDo(t, e.srv.PrinterURI("secure"), cancel, nil); status(r) != goipp.StatusOk {
					t.Fatalf("first Cancel-Job: %s", status(r))
				}
				return encode(t, ippRequest(goipp.OpCancelJob, e.srv.PrinterURI("secure"), "alice", intVal("job-id", id)))
			}},
		{name: "Cancel-Job of another user's job", status: goipp.StatusErrorNotAuthorized,
			request: func(t *testing.T, e *errEnv) []byte {
				id := e.printJob(t, "alice")
				return encode(t, ippRequest(goipp.OpCancelJob, e.srv.PrinterURI("secure"), "bob", intVal("job-id", id)))
			},
			check: func(t *testing.T, e *errEnv, before state, reply *goipp.Message) { e.unchanged(t, before) }},
		{name: "Release-Job on the hold queue", status: goipp.StatusErrorNotAuthorized,
			request: func(t *testing.T, e *errEnv) []byte {
				id := e.printJob(t, "alice")
				return encode(t, ippRequest(goipp.OpReleaseJob, e.srv.PrinterURI("secure"), "alice", intVal("job-id", id)))
			},
			check: func(t *testing.T, _ *errEnv, _ state, reply *goipp.Message) {
				if msg := attrValue(reply.Operation, "status-message"); !strings.Contains(msg, "released at the printer") {
					t.Errorf("status-message %q does not tell to release the job at the printer", msg)
				}
			}},
		{name: "Release-Job on the direct queue of a printed job", queue: "lobby", status: goipp.StatusErrorNotPossible,
			request: func(t *testing.T, e *errEnv) []byte {
				id := e.printedJob(t)
				return encode(t, ippRequest(goipp.OpReleaseJob, e.srv.PrinterURI("lobby"), "alice", intVal("job-id", id)))
			}},
		{name: "Send-Document without last-document", status: goipp.StatusErrorBadRequest,
			request: func(t *testing.T, e *errEnv) []byte {
				id := e.createJob(t)
				m := ippRequest(goipp.OpSendDocument, e.srv.PrinterURI("secure"), "alice", intVal("job-id", id))
				return append(encode(t, m), e.pdf...)
			},
			check: func(t *testing.T, e *errEnv, before state, reply *goipp.Message) { e.unchanged(t, before) }},
		{name: "second document", status: goipp.StatusErrorMultipleJobsNotSupported,
			request: func(t *testing.T, e *errEnv) []byte {
				id := e.createJob(t)
				first := ippRequest(goipp.OpSendDocument, e.srv.PrinterURI("secure"), "alice",
					intVal("job-id", id), boolVal("last-document", false))
				if r := ippDo(t, e.srv.PrinterURI("secure"), first, e.pdf); status(r) != goipp.StatusOk {
					t.Fatalf("first Send-Document: %s", status(r))
				}
				m := ippRequest(goipp.OpSendDocument, e.srv.PrinterURI("secure"), "alice",
					intVal("job-id", id), boolVal("last-document", true))
				return append(encode(t, m), e.pdf...)
			},
			check: func(t *testing.T, e *errEnv, before state, reply *goipp.Message) { e.unchanged(t, before) }},
		{name: "job-password of 300 octets", status: goipp.StatusErrorAttributesOrValues,
			request: func(t *testing.T, e *errEnv) []byte {
				m := ippRequest(goipp.OpPrintJob, e.srv.PrinterURI("secure"), "alice",
					goipp.MakeAttribute("job-password", goipp.TagString, goipp.Binary(strings.Repeat("7", 300))))
				return append(encode(t, m), e.pdf...)
			},
			check: func(t *testing.T, e *errEnv, before state, reply *goipp.Message) {
				e.unchanged(t, before)
				if strings.Contains(attrValue(reply.Unsupported, "job-password"), "777") {
					t.Errorf("the reply echoes the job-password")
				}
			}},
		{name: "Print-Job without document data", status: goipp.StatusErrorBadRequest,
			request: func(t *testing.T, e *errEnv) []byte {
				return encode(t, ippRequest(goipp.OpPrintJob, e.srv.PrinterURI("secure"), "alice", mimeVal("application/pdf")))
			},
			check: func(t *testing.T, e *errEnv, before state, reply *goipp.Message) { e.unchanged(t, before) }},
		{name: "40 nested collections", status: goipp.StatusErrorBadRequest,
			request: func(t *testing.T, e *errEnv) []byte {
				return append(rawHeader(e, goipp.OpPrintJob, func(w *wire) {
					w.tag(goipp.TagJobGroup)
					w.attr(goipp.TagBeginCollection, "media-col", "")
					for range 39 {
						w.attr(goipp.TagMemberName, "", "media-size")
						w.attr(goipp.TagBeginCollection, "", "")
					}
					for range 40 {
						w.attr(goipp.TagEndCollection, "", "")
					}
				}), e.pdf...)
			},
			check: func(t *testing.T, e *errEnv, before state, reply *goipp.Message) { e.unchanged(t, before) }},
		{name: "header over 256 KiB", status: goipp.StatusErrorBadRequest,
			request: func(t *testing.T, e *errEnv) []byte {
				return rawHeader(e, goipp.OpGetPrinterAttributes, func(w *wire) {
					w.attr(goipp.TagKeyword, "requested-attributes", strings.Repeat("x", 30000))
					for range 9 {
						w.attr(goipp.TagKeyword, "", strings.Repeat("x", 30000))
					}
				})
			}},
		{name: "header cut short, then half-closed", status: goipp.StatusErrorBadRequest,
			exchange: func(t *testing.T, e *errEnv) *goipp.Message {
				hdr := encode(t, ippRequest(goipp.OpGetPrinterAttributes, e.srv.PrinterURI("secure"), "alice"))
				return e.truncated(t, hdr, true)
			}},
		{name: "header cut short, then closed", status: goipp.StatusOk,
			exchange: func(t *testing.T, e *errEnv) *goipp.Message {
				hdr := encode(t, ippRequest(goipp.OpGetPrinterAttributes, e.srv.PrinterURI("secure"), "alice"))
				e.truncated(t, hdr, false)
				// The server must still answer.
				return e.post(t, "secure", encode(t, ippRequest(goipp.OpGetPrinterAttributes, e.srv.PrinterURI("secure"), "alice")))
			}},
	}
}

type httpCase struct {
	name string
	run  func(t *testing.T, e *errEnv)
}

func httpCases() []httpCase {
	return []httpCase{
		{"GET on the printer URI", func(t *testing.T, e *errEnv) {
			resp, err := http.Get(e.url("secure"))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
				!strings.Contains(string(body), "<h1>secure</h1>") {
				t.Errorf("GET: %s %q\n%s", resp.Status, resp.Header.Get("Content-Type"), body)
			}
		}},
		{"POST of text/plain", func(t *testing.T, e *errEnv) {
			hdr := encode(t, ippRequest(goipp.OpGetPrinterAttributes, e.srv.PrinterURI("secure"), "alice"))
			resp, err := http.Post(e.url("secure"), "text/plain", bytes.NewReader(hdr))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnsupportedMediaType {
				t.Errorf("POST text/plain: %s, want 415", resp.Status)
			}
		}},
		{"POST to an unknown queue", func(t *testing.T, e *errEnv) {
			hdr := encode(t, ippRequest(goipp.OpGetPrinterAttributes, e.srv.PrinterURI("nosuchqueue"), "alice"))
			resp, err := http.Post(e.url("nosuchqueue"), goipp.ContentType, bytes.NewReader(hdr))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("POST to /ipp/print/nosuchqueue: %s, want 404", resp.Status)
			}
		}},
		{"chunked Print-Job with Expect: 100-continue", func(t *testing.T, e *errEnv) {
			hdr := encode(t, ippRequest(goipp.OpPrintJob, e.srv.PrinterURI("secure"), "alice", mimeVal("application/pdf")))
			// A MultiReader has no known length, so the body goes chunked.
			req, err := http.NewRequest(http.MethodPost, e.url("secure"), io.MultiReader(bytes.NewReader(hdr), bytes.NewReader(e.pdf)))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", goipp.ContentType)
			req.Header.Set("Expect", "100-continue")
			var chunked, continued bool
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
				WroteHeaderField: func(k string, v []string) {
					chunked = chunked || k == "Transfer-Encoding" && slices.Contains(v, "chunked")
				},
				Got100Continue: func() { continued = true },
			}))
			client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 10 * time.Second}, Timeout: 30 * time.Second}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if !chunked || !continued {
				t.Errorf("chunked body sent: %v, 100 Continue received: %v; want both", chunked, continued)
			}
			reply := decodeReply(t, resp, hdr)
			if status(reply) != goipp.StatusOk || attrValue(reply.Job, "job-state") != "4" {
				t.Errorf("Print-Job: %s, job %v; want successful-ok and a held job", status(reply), reply.Job)
			}
		}},
	}
}

// state returns the number of jobs on "secure" and the documents kept.
func (e *errEnv) state(t *testing.T) state {
	t.Helper()
	m := ippRequest(goipp.OpGetJobs, e.srv.PrinterURI("secure"), "", keywordVal("which-jobs", "all"))
	reply := ippDo(t, e.srv.PrinterURI("secure"), m, nil)
	if status(reply) != goipp.StatusOk {
		t.Fatalf("Get-Jobs: %s", status(reply))
	}
	return state{jobs: len(jobGroups(reply)), spool: documents(e.srv.Config)}
}

// unchanged checks that a refused request left no job and no spool file.
func (e *errEnv) unchanged(t *testing.T, before state) {
	t.Helper()
	after := e.state(t)
	if after.jobs != before.jobs {
		t.Errorf("%d jobs after the refused request, %d before", after.jobs, before.jobs)
	}
	if !slices.Equal(after.spool, before.spool) {
		t.Errorf("documents after the refused request: %q, before: %q", after.spool, before.spool)
	}
}

func (e *errEnv) url(queue string) string {
	return "http://" + e.srv.Addr + "/ipp/print/" + queue
}

// printJob holds a job of user on "secure" and returns its id.
func (e *errEnv) printJob(t *testing.T, user string) int {
	t.Helper()
	m := ippRequest(goipp.OpPrintJob, e.srv.PrinterURI("secure"), user, mimeVal("application/pdf"))
	r := ippDo(t, e.srv.PrinterURI("secure"), m, e.pdf)
	if status(r) != goipp.StatusOk {
		t.Fatalf("Print-Job: %s", status(r))
	}
	return jobID(t, r)
}

// createJob makes a job of alice on "secure" that waits for its document.
func (e *errEnv) createJob(t *testing.T) int {
	t.Helper()
	r := ippDo(t, e.srv.PrinterURI("secure"), ippRequest(goipp.OpCreateJob, e.srv.PrinterURI("secure"), "alice"), nil)
	if status(r) != goipp.StatusOk {
		t.Fatalf("Create-Job: %s", status(r))
	}
	return jobID(t, r)
}

// printedJob prints a job of alice on "lobby" and waits until the
// printer has completed it.
func (e *errEnv) printedJob(t *testing.T) int {
	t.Helper()
	uri := e.srv.PrinterURI("lobby")
	r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "alice", mimeVal("application/pdf")), e.pdf)
	if status(r) != goipp.StatusOk {
		t.Fatalf("Print-Job: %s", status(r))
	}
	id := jobID(t, r)
	testenv.WaitFor(t, fmt.Sprintf("job %d on the direct queue to complete", id), func() bool {
		r := ippDo(t, uri, ippRequest(goipp.OpGetJobAttributes, uri, "alice", intVal("job-id", id)), nil)
		return attrValue(r.Job, "job-state") == "9"
	})
	return id
}

func jobID(t *testing.T, r *goipp.Message) int {
	t.Helper()
	var id int
	if _, err := fmt.Sscan(attrValue(r.Job, "job-id"), &id); err != nil || id <= 0 {
		t.Fatalf("reply has no job-id: %v", r.Job)
	}
	return id
}

// post sends body to queue over a raw connection and decodes the IPP
// reply. The body is written while the reply is read, as a server may
// answer (request-entity-too-large) before it has read the whole body.
func (e *errEnv) post(t *testing.T, queue string, body []byte) *goipp.Message {
	t.Helper()
	conn, err := net.DialTimeout("tcp", e.srv.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	written := make(chan struct{})
	go func() {
		defer close(written)
		fmt.Fprintf(conn, "POST /ipp/print/%s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
			queue, e.srv.Addr, goipp.ContentType, len(body))
		conn.Write(body) // fails when the server stops reading early
	}()
	defer func() { conn.Close(); <-written }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	defer resp.Body.Close()
	return decodeReply(t, resp, body)
}

// truncated sends a request that claims twice the length of hdr, then
// stops halfway through hdr, in the middle of an attribute. With
// halfClose it shuts its side for writing and returns the reply; without,
// it drops the connection and returns nil.
func (e *errEnv) truncated(t *testing.T, hdr []byte, halfClose bool) *goipp.Message {
	t.Helper()
	conn, err := net.DialTimeout("tcp", e.srv.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	cut := hdr[:len(hdr)/2]
	fmt.Fprintf(conn, "POST /ipp/print/secure HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
		e.srv.Addr, goipp.ContentType, 2*len(hdr), cut)
	if !halfClose {
		return nil
	}
	conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	defer resp.Body.Close()
	return decodeReply(t, resp, hdr)
}

// decodeReply checks that resp is an IPP reply to the request that
// starts with hdr, carrying a status-message, and decodes it.
func decodeReply(t *testing.T, resp *http.Response, hdr []byte) *goipp.Message {
	t.Helper()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != goipp.ContentType {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("HTTP %s %q, want 200 with an IPP reply: %s", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	var reply goipp.Message
	if err := reply.Decode(resp.Body); err != nil {
		t.Fatalf("decode reply: %v", err)
	}
	if attrValue(reply.Operation, "status-message") == "" {
		t.Errorf("reply %s has no status-message", status(&reply))
	}
	if id := binary.BigEndian.Uint32(hdr[4:8]); reply.RequestID != id {
		t.Errorf("reply request-id %d, want %d", reply.RequestID, id)
	}
	return &reply
}

func encode(t *testing.T, m *goipp.Message) []byte {
	t.Helper()
	b, err := m.EncodeBytes()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b
}

// wire writes IPP attributes byte by byte, for what goipp will not
// encode.
type wire struct{ bytes.Buffer }

func (w *wire) tag(t goipp.Tag) { w.WriteByte(byte(t)) }

func (w *wire) attr(t goipp.Tag, name, value string) {
	w.tag(t)
	binary.Write(&w.Buffer, binary.BigEndian, uint16(len(name)))
	w.WriteString(name)
	binary.Write(&w.Buffer, binary.BigEndian, uint16(len(value)))
	w.WriteString(value)
}

// rawHeader is a request of operation op to "secure" with the usual
// operation attributes, then what more writes.
func rawHeader(e *errEnv, op goipp.Op, more func(w *wire)) []byte {
	w := &wire{}
	binary.Write(&w.Buffer, binary.BigEndian, uint16(goipp.MakeVersion(2, 0)))
	binary.Write(&w.Buffer, binary.BigEndian, uint16(op))
	binary.Write(&w.Buffer, binary.BigEndian, requestIDs.Add(1))
	w.tag(goipp.TagOperationGroup)
	w.attr(goipp.TagCharset, "attributes-charset", "utf-8")
	w.attr(goipp.TagLanguage, "attributes-natural-language", "en")
	w.attr(goipp.TagURI, "printer-uri", e.srv.PrinterURI("secure"))
	w.attr(goipp.TagName, "requesting-user-name", "alice")
	more(w)
	w.tag(goipp.TagEnd)
	return w.Bytes()
}

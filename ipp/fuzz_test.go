package ipp_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/credential"
	"github.com/printgate/printgate/release/spool"
)

var update = flag.Bool("update", false, "rewrite the FuzzServer seed corpus in testdata/fuzz/FuzzServer")

// fuzzTimeout bounds one request; a request that takes longer hangs.
const fuzzTimeout = 5 * time.Second

// resetEvery is how many requests run between resets of the database, so
// that Get-Jobs replies do not grow with the length of a fuzzing run.
const resetEvery = 500

// Jobs every reset leaves in place, so that seeds naming a job find one.
const (
	heldJob     = 1 // pending-held, owned by "fuzz"
	incomingJob = 2 // Create-Job waiting for its document, owned by "fuzz"
	othersJob   = 3 // pending-held, owned by "someone-else"
)

// fuzzEnv is printgate's IPP handler over the real release backend:
// embedded SQLite and an encrypted spool in a temporary directory.
type fuzzEnv struct {
	handler http.Handler
	db      *database.DB
	spool   *spool.Spool
	runs    int
}

func newFuzzEnv(tb testing.TB) *fuzzEnv {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	db, err := database.Open(ctx, "", dir, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	for _, migrate := range []func(context.Context, *database.DB) error{release.Migrate, audit.Migrate} {
		if err := migrate(ctx, db); err != nil {
			tb.Fatal(err)
		}
	}
	key, err := spool.LoadOrCreateKey(filepath.Join(dir, "master.key"))
	if err != nil {
		tb.Fatal(err)
	}
	sp, err := spool.Open(filepath.Join(dir, "spool"), key)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sp.Close() })
	// The cheapest argon2id: job passwords are hashed on every
	// Print-Job, and the costs are not what is under test.
	creds, err := credential.New(db, []byte(rand.Text()+rand.Text()), credential.Policy{},
		secret.Params{Memory: 8, Time: 1, Threads: 1}, credential.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := release.New(release.Options{
		DB:    db,
		Spool: sp,
		Audit: audit.New(db, audit.Options{Key: []byte(rand.Text())}),
		Queues: []release.Queue{{
			Name:            "secure",
			Mode:            release.Hold,
			Formats:         []string{"application/pdf", "application/octet-stream", "image/jpeg"},
			MaxSize:         1 << 20,
			Auth:            "requesting-user-name",
			TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		}},
		Credentials: creds,
	})
	if err != nil {
		tb.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(svc.Close)
	e := &fuzzEnv{handler: ipp.NewServer(svc.IPP(), nil), db: db, spool: sp}
	e.reset(tb)
	return e
}

// reset empties the jobs table and the spool and puts the fixture jobs
// back.
func (e *fuzzEnv) reset(tb testing.TB) {
	tb.Helper()
	if err := e.db.Exec("DELETE FROM jobs").Error; err != nil {
		tb.Fatal(err)
	}
	names, err := e.spool.List()
	if err != nil {
		tb.Fatal(err)
	}
	for _, n := range names {
		if err := e.spool.Remove(n); err != nil {
			tb.Fatal(err)
		}
	}
	now := time.Now().UTC()
	for _, j := range []release.Job{
		{ID: heldJob, Queue: "secure", Owner: "fuzz", Name: "held", Format: "application/pdf",
			State: release.StateHeld, Reason: "job-hold-until-specified", Copies: 1},
		{ID: incomingJob, Queue: "secure", Owner: "fuzz", Name: "incoming",
			State: release.StateIncoming, Reason: "job-incoming", Copies: 1},
		{ID: othersJob, Queue: "secure", Owner: "someone-else", Name: "private", Format: "application/pdf",
			State: release.StateHeld, Reason: "job-hold-until-specified", Copies: 1},
	} {
		j.CreatedAt, j.UpdatedAt = now, now
		if err := e.db.Create(&j).Error; err != nil {
			tb.Fatal(err)
		}
	}
}

// serve runs one request with body through the handler and checks the
// reply. It fails tb on a panic, a hang or a reply that breaks the rules
// every IPP reply follows.
func (e *fuzzEnv) serve(tb testing.TB, body []byte) *goipp.Message {
	tb.Helper()
	if e.runs++; e.runs%resetEvery == 0 {
		e.reset(tb)
	}
	req := httptest.NewRequest(http.MethodPost, "http://localhost:8631/ipp/print/secure", bytes.NewReader(body))
	req.Header.Set("Content-Type", goipp.ContentType)
	req.RemoteAddr = "127.0.0.1:1234"
	rec := httptest.NewRecorder()
	panicked := make(chan string, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				panicked <- fmt.Sprintf("%v\n%s", p, debug.Stack())
				return
			}
			close(panicked)
		}()
		e.handler.ServeHTTP(rec, req)
	}()
	select {
	case p, ok := <-panicked:
		if ok {
			tb.Fatalf("handler panicked: %s", p)
		}
	case <-time.After(fuzzTimeout):
		tb.Fatalf("handler did not answer within %v", fuzzTimeout)
	}
	return checkReply(tb, body, rec.Result())
}

// checkReply checks what must hold for any request body: an HTTP 200 IPP
// reply that decodes, answers the request's request-id, starts with
// charset and language, carries a status-message, and is not an internal
// error, which on a working backend means a bug.
func checkReply(tb testing.TB, body []byte, res *http.Response) *goipp.Message {
	tb.Helper()
	if res.StatusCode != http.StatusOK {
		tb.Fatalf("HTTP status %s, want 200 with an IPP reply", res.Status)
	}
	if ct := res.Header.Get("Content-Type"); ct != goipp.ContentType {
		tb.Fatalf("Content-Type %q, want %q", ct, goipp.ContentType)
	}
	var m goipp.Message
	if err := m.Decode(res.Body); err != nil {
		tb.Fatalf("reply does not decode: %v", err)
	}
	if len(body) >= 8 {
		if id := binary.BigEndian.Uint32(body[4:8]); m.RequestID != id {
			tb.Errorf("reply request-id %d, want the request's %d", m.RequestID, id)
		}
	}
	op := m.Operation
	if len(op) < 3 || op[0].Name != "attributes-charset" || op[1].Name != "attributes-natural-language" {
		tb.Errorf("reply operation group starts %v, want charset, language, ...", op)
	}
	var msg string
	for _, a := range op {
		if a.Name == "status-message" && len(a.Values) == 1 {
			msg = a.Values[0].V.String()
		}
	}
	if msg == "" {
		tb.Errorf("reply %s has no status-message", goipp.Status(m.Code))
	}
	if st := goipp.Status(m.Code); st == goipp.StatusErrorInternal {
		tb.Errorf("reply is %s: %s", st, msg)
	}
	return &m
}

func FuzzServer(f *testing.F) {
	names, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzServer", "*"))
	if err != nil || len(names) < len(fuzzSeeds()) {
		// The committed corpus is the seed set; without it the fuzzer
		// would start from nothing.
		f.Fatalf("seed corpus missing from testdata/fuzz/FuzzServer (%d files, %v); run go test -run TestFuzzSeeds -update", len(names), err)
	}
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		e.serve(t, body)
	})
}

// TestFuzzSeeds keeps the committed seed corpus equal to fuzzSeeds (or
// rewrites it with -update), and checks the status each seed gets, so that
// the seeds reach the operations they are meant for.
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzServer")
	e := newFuzzEnv(t)
	for _, s := range fuzzSeeds() {
		t.Run(s.name, func(t *testing.T) {
			path := filepath.Join(dir, s.name)
			want := fmt.Appendf(nil, "go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(s.body)))
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s is missing or stale (%v); run go test -run TestFuzzSeeds -update", path, err)
			}
			e.reset(t)
			m := e.serve(t, s.body)
			if st := goipp.Status(m.Code); st != s.status {
				t.Errorf("status %s, want %s", st, s.status)
			}
		})
	}
}

// TestServerReplies feeds requests too large for the seed corpus through
// the same checks as the fuzzer.
func TestServerReplies(t *testing.T) {
	e := newFuzzEnv(t)
	long := strings.Repeat("x", 40000) // above the 32767 octets goipp encodes
	tests := []struct {
		name   string
		body   []byte
		status goipp.Status
	}{
		{"long unsupported value", raw(newWire(2, 0, goipp.OpPrintJob, 40).preamble().
			attr(0x45, "printer-uri", printerURI).tag(0x02).attr(0x41, "foo-bar", long).end()),
			goipp.StatusErrorBadRequest},
		{"long charset", raw(newWire(2, 0, goipp.OpGetPrinterAttributes, 41).tag(0x01).
			attr(0x47, "attributes-charset", long).
			attr(0x48, "attributes-natural-language", "en").end()), goipp.StatusErrorBadRequest},
		{"longest value", raw(newWire(2, 0, goipp.OpPrintJob, 42).preamble().
			attr(0x45, "printer-uri", printerURI).tag(0x02).attr(0x41, "foo-bar", long[:32767]).end()),
			goipp.StatusErrorRequestValue}, // text past 1023 octets
		{"header over 256 KiB", raw(newWire(2, 0, goipp.OpGetPrinterAttributes, 43).preamble().
			attr(0x41, "x", long[:30000]).attr(0x41, "", long[:30000]).attr(0x41, "", long[:30000]).
			attr(0x41, "", long[:30000]).attr(0x41, "", long[:30000]).attr(0x41, "", long[:30000]).
			attr(0x41, "", long[:30000]).attr(0x41, "", long[:30000]).attr(0x41, "", long[:30000]).end()),
			goipp.StatusErrorBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := e.serve(t, tc.body)
			if st := goipp.Status(m.Code); st != tc.status {
				t.Errorf("status %s, want %s", st, tc.status)
			}
		})
	}
}

const printerURI = "ipp://localhost:8631/ipp/print/secure"

// seed is one request of the seed corpus and the status it gets from a
// freshly reset backend.
type seed struct {
	name   string
	body   []byte
	status goipp.Status
}

// fuzzSeeds are the seed corpus: every operation with valid attributes,
// then the malformed and refused requests of RFC 8011 §4.1.
func fuzzSeeds() []seed {
	const pdf = "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
	held, incoming := goipp.Integer(heldJob), goipp.Integer(incomingJob)
	return []seed{
		{"get-printer-attributes", request(goipp.OpGetPrinterAttributes, 1, "fuzz").doc(""), goipp.StatusOk},
		{"get-printer-attributes-groups", request(goipp.OpGetPrinterAttributes, 2, "fuzz",
			op(keywords("requested-attributes", "job-template", "printer-description", "media-col-database")),
		).doc(""), goipp.StatusOk},
		{"print-job", request(goipp.OpPrintJob, 3, "fuzz",
			op(goipp.MakeAttribute("job-name", goipp.TagName, goipp.String("report")),
				goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String("application/pdf")),
				goipp.MakeAttribute("job-password", goipp.TagString, goipp.Binary("1234"))),
			job(goipp.MakeAttribute("copies", goipp.TagInteger, goipp.Integer(2)),
				keywords("sides", "two-sided-long-edge"),
				keywords("media", "a4"),
				keywords("print-color-mode", "monochrome"),
				keywords("job-hold-until", "indefinite"),
				goipp.MakeAttribute("media-col", goipp.TagBeginCollection, goipp.Collection{
					goipp.MakeAttribute("media-size", goipp.TagBeginCollection, goipp.Collection{
						goipp.MakeAttribute("x-dimension", goipp.TagInteger, goipp.Integer(21000)),
						goipp.MakeAttribute("y-dimension", goipp.TagInteger, goipp.Integer(29700)),
					}),
				})),
		).doc(pdf), goipp.StatusOk},
		{"validate-job", request(goipp.OpValidateJob, 4, "fuzz",
			op(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String("image/jpeg"))),
			job(goipp.MakeAttribute("orientation-requested", goipp.TagEnum, goipp.Integer(4))),
		).doc(""), goipp.StatusOk},
		{"create-job", request(goipp.OpCreateJob, 5, "fuzz",
			op(keywords("job-hold-until", "weekend")),
			job(goipp.MakeAttribute("print-quality", goipp.TagEnum, goipp.Integer(5))),
		).doc(""), goipp.StatusOk},
		{"send-document", request(goipp.OpSendDocument, 6, "fuzz",
			op(goipp.MakeAttribute("job-id", goipp.TagInteger, incoming),
				goipp.MakeAttribute("last-document", goipp.TagBoolean, goipp.Boolean(true)),
				goipp.MakeAttribute("document-name", goipp.TagName, goipp.String("a.pdf"))),
		).doc(pdf), goipp.StatusOk},
		{"send-document-no-data", request(goipp.OpSendDocument, 7, "fuzz",
			op(goipp.MakeAttribute("job-id", goipp.TagInteger, incoming),
				goipp.MakeAttribute("last-document", goipp.TagBoolean, goipp.Boolean(false))),
		).doc(""), goipp.StatusOk},
		{"close-job", request(goipp.OpCloseJob, 8, "fuzz",
			op(goipp.MakeAttribute("job-id", goipp.TagInteger, incoming))).doc(""), goipp.StatusOk},
		{"cancel-job", request(goipp.OpCancelJob, 9, "fuzz",
			op(goipp.MakeAttribute("job-id", goipp.TagInteger, held))).doc(""), goipp.StatusOk},
		{"cancel-job-of-other-user", request(goipp.OpCancelJob, 10, "fuzz",
			op(goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(othersJob)))).doc(""), goipp.StatusErrorNotAuthorized},
		{"cancel-my-jobs", request(goipp.OpCancelMyJobs, 11, "fuzz",
			op(ints("job-ids", heldJob, incomingJob))).doc(""), goipp.StatusOk},
		{"get-job-attributes", request(goipp.OpGetJobAttributes, 12, "fuzz",
			op(goipp.MakeAttribute("job-id", goipp.TagInteger, held),
				keywords("requested-attributes", "job-template", "job-description"))).doc(""), goipp.StatusOk},
		{"get-job-attributes-job-uri", withJobURI(13, printerURI+"/3"), goipp.StatusOk},
		{"get-jobs", request(goipp.OpGetJobs, 14, "fuzz",
			op(keywords("which-jobs", "all"),
				goipp.MakeAttribute("my-jobs", goipp.TagBoolean, goipp.Boolean(true)),
				goipp.MakeAttribute("limit", goipp.TagInteger, goipp.Integer(10)),
				ints("job-ids", heldJob, othersJob),
				keywords("requested-attributes", "job-id", "job-name", "job-state"))).doc(""), goipp.StatusOk},
		{"hold-job", request(goipp.OpHoldJob, 15, "fuzz",
			op(goipp.MakeAttribute("job-id", goipp.TagInteger, incoming),
				keywords("job-hold-until", "indefinite"))).doc(""), goipp.StatusOk},
		{"release-job", request(goipp.OpReleaseJob, 16, "fuzz",
			op(goipp.MakeAttribute("job-id", goipp.TagInteger, held))).doc(""), goipp.StatusErrorNotAuthorized},
		{"identify-printer", request(goipp.OpIdentifyPrinter, 17, "fuzz").doc(""), goipp.StatusOk},

		{"version-3.0", raw(newWire(3, 0, goipp.OpGetPrinterAttributes, 18).preamble().end()), goipp.StatusErrorVersionNotSupported},
		{"request-id-0", raw(newWire(2, 0, goipp.OpGetPrinterAttributes, 0).preamble().end()), goipp.StatusErrorBadRequest},
		{"no-operation-group", raw(newWire(2, 0, goipp.OpGetPrinterAttributes, 19).
			tag(byte(goipp.TagJobGroup)).attr(0x21, "copies", "\x00\x00\x00\x01").end()), goipp.StatusErrorBadRequest},
		{"language-before-charset", raw(newWire(2, 0, goipp.OpGetPrinterAttributes, 20).tag(0x01).
			attr(0x48, "attributes-natural-language", "en").
			attr(0x47, "attributes-charset", "utf-8").end()), goipp.StatusErrorBadRequest},
		{"charset-unsupported", raw(newWire(1, 1, goipp.OpGetPrinterAttributes, 21).tag(0x01).
			attr(0x47, "attributes-charset", "iso-8859-1").
			attr(0x48, "attributes-natural-language", "en").
			attr(0x45, "printer-uri", printerURI).end()), goipp.StatusErrorCharset},
		{"job-name-not-utf8", request(goipp.OpPrintJob, 35, "fuzz",
			op(goipp.MakeAttribute("job-name", goipp.TagName, goipp.String("caf\xe9")))).doc(pdf), goipp.StatusErrorBadRequest},
		{"no-printer-uri", raw(newWire(2, 0, goipp.OpGetPrinterAttributes, 22).preamble().end()), goipp.StatusErrorBadRequest},
		{"other-queue", raw(newWire(2, 0, goipp.OpGetPrinterAttributes, 23).preamble().
			attr(0x45, "printer-uri", "ipp://localhost/ipp/print/lobby").end()), goipp.StatusErrorNotFound},
		{"unknown-operation", raw(newWire(2, 0, 0x4000, 24).preamble().
			attr(0x45, "printer-uri", printerURI).end()), goipp.StatusErrorOperationNotSupported},
		{"unsupported-attributes-fidelity", request(goipp.OpPrintJob, 25, "fuzz",
			op(goipp.MakeAttribute("ipp-attribute-fidelity", goipp.TagBoolean, goipp.Boolean(true))),
			job(goipp.MakeAttribute("foo-bar", goipp.TagInteger, goipp.Integer(1)),
				keywords("sides", "three-sided")),
		).doc(pdf), goipp.StatusErrorAttributesOrValues},
		{"document-format-unsupported", request(goipp.OpPrintJob, 26, "fuzz",
			op(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String("text/html")))).doc(pdf),
			goipp.StatusErrorDocumentFormatNotSupported},
		{"compression-gzip", request(goipp.OpPrintJob, 27, "fuzz",
			op(keywords("compression", "gzip"))).doc(pdf), goipp.StatusErrorCompressionNotSupported},
		{"job-password-too-long", request(goipp.OpCreateJob, 28, "fuzz",
			op(goipp.MakeAttribute("job-password", goipp.TagString, goipp.Binary(strings.Repeat("9", 300))))).doc(""),
			goipp.StatusErrorAttributesOrValues},
		{"print-job-no-data", request(goipp.OpPrintJob, 29, "fuzz").doc(""), goipp.StatusErrorBadRequest},
		{"nested-40", raw(newWire(2, 0, goipp.OpPrintJob, 30).preamble().
			attr(0x45, "printer-uri", printerURI).tag(byte(goipp.TagJobGroup)).nested("media-col", 40).end()),
			goipp.StatusErrorBadRequest},
		{"truncated", raw(newWire(2, 0, goipp.OpGetPrinterAttributes, 31).preamble().
			attr(0x45, "printer-uri", printerURI).Bytes()[:60]), goipp.StatusErrorBadRequest},
		{"repeated-group", raw(newWire(2, 0, goipp.OpGetPrinterAttributes, 32).preamble().
			attr(0x45, "printer-uri", printerURI).tag(0x02).tag(0x02).end()), goipp.StatusErrorBadRequest},
		{"value-without-attribute", raw(newWire(2, 0, goipp.OpGetPrinterAttributes, 33).tag(0x01).
			attr(0x47, "", "utf-8").end()), goipp.StatusErrorBadRequest},
		{"extension-tag", raw(newWire(2, 0, goipp.OpGetJobs, 34).preamble().
			attr(0x45, "printer-uri", printerURI).attr(0x7f, "x-ext", "\x40\x00\x00\x01abc").end()), goipp.StatusOk},
		{"empty", nil, goipp.StatusErrorBadRequest},
		{"job-name-too-long", request(goipp.OpPrintJob, 35, "fuzz",
			op(goipp.MakeAttribute("job-name", goipp.TagName, goipp.String(strings.Repeat("長", 100))))).doc(pdf),
			goipp.StatusOkIgnoredOrSubstituted},
		{"requesting-user-name-too-long", request(goipp.OpGetJobs, 36, strings.Repeat("u", 300)).doc(""),
			goipp.StatusErrorRequestValue},
		{"text-as-pdf", request(goipp.OpPrintJob, 37, "fuzz",
			op(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String("application/pdf")))).doc("just text\n"),
			goipp.StatusErrorDocumentFormatError},
		{"pdf-as-octet-stream", request(goipp.OpPrintJob, 38, "fuzz",
			op(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String("application/octet-stream")))).doc(pdf),
			goipp.StatusOk},
	}
}

// option adds attributes to a request.
type option func(m *goipp.Message)

// op adds operation attributes.
func op(attrs ...goipp.Attribute) option {
	return func(m *goipp.Message) { m.Operation = append(m.Operation, attrs...) }
}

// job adds job template attributes.
func job(attrs ...goipp.Attribute) option {
	return func(m *goipp.Message) { m.Job = append(m.Job, attrs...) }
}

func keywords(name string, vals ...string) goipp.Attribute {
	a := goipp.Attribute{Name: name}
	for _, v := range vals {
		a.Values.Add(goipp.TagKeyword, goipp.String(v))
	}
	return a
}

func ints(name string, vals ...int) goipp.Attribute {
	a := goipp.Attribute{Name: name}
	for _, v := range vals {
		a.Values.Add(goipp.TagInteger, goipp.Integer(v))
	}
	return a
}

// header is an encoded IPP request header.
type header []byte

// doc returns the request with document data after the header.
func (h header) doc(data string) []byte { return append(bytes.Clone(h), data...) }

// request encodes a request to the fuzz queue with the usual operation
// attributes (charset, language, printer-uri, requesting-user-name).
func request(code goipp.Op, id uint32, user string, opts ...option) header {
	m := goipp.NewRequest(goipp.MakeVersion(2, 0), code, id)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(printerURI)))
	m.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String(user)))
	for _, o := range opts {
		o(m)
	}
	b, err := m.EncodeBytes()
	if err != nil {
		panic(fmt.Sprintf("encode seed request: %v", err))
	}
	return b
}

// withJobURI is Get-Job-Attributes addressed by job-uri instead of
// printer-uri and job-id.
func withJobURI(id uint32, jobURI string) []byte {
	return raw(newWire(1, 1, goipp.OpGetJobAttributes, id).preamble().
		attr(0x45, "job-uri", jobURI).attr(0x42, "requesting-user-name", "someone-else").end())
}

func raw(b []byte) []byte { return b }

// wire builds messages byte by byte, for what goipp's encoder will not
// produce.
type wire struct{ bytes.Buffer }

func newWire(major, minor byte, code goipp.Op, id uint32) *wire {
	w := &wire{}
	w.Write([]byte{major, minor})
	binary.Write(&w.Buffer, binary.BigEndian, uint16(code))
	binary.Write(&w.Buffer, binary.BigEndian, id)
	return w
}

func (w *wire) tag(t byte) *wire { w.WriteByte(t); return w }

func (w *wire) attr(t byte, name, value string) *wire {
	w.WriteByte(t)
	binary.Write(&w.Buffer, binary.BigEndian, uint16(len(name)))
	w.WriteString(name)
	binary.Write(&w.Buffer, binary.BigEndian, uint16(len(value)))
	w.WriteString(value)
	return w
}

func (w *wire) preamble() *wire {
	return w.tag(0x01).attr(0x47, "attributes-charset", "utf-8").attr(0x48, "attributes-natural-language", "en")
}

// nested writes attribute name as depth collections, one inside the other.
func (w *wire) nested(name string, depth int) *wire {
	w.attr(0x34, name, "")
	for range depth - 1 {
		w.attr(0x4a, "", "m")
		w.attr(0x34, "", "")
	}
	for range depth {
		w.attr(0x37, "", "")
	}
	return w
}

func (w *wire) end() []byte { w.tag(0x03); return bytes.Clone(w.Bytes()) }

package ipp_test

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/credential"
	"github.com/printgate/printgate/release/spool"
)

// serverEnv is printgate's IPP server over the real release backend
// (embedded SQLite, an encrypted spool), listening on loopback: queue
// "secure" holds its jobs, queue "lobby", when made with a printer,
// prints them there at once. Both trust requesting-user-name from
// loopback.
type serverEnv struct {
	url   string
	db    *database.DB
	audit *audit.Log
	pdf   []byte
}

func newServerEnv(t *testing.T, printer string) *serverEnv {
	t.Helper()
	dir := t.TempDir()
	db, err := database.Open(t.Context(), "", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, migrate := range []func(t *testing.T) error{
		func(t *testing.T) error { return release.Migrate(t.Context(), db) },
		func(t *testing.T) error { return audit.Migrate(t.Context(), db) },
	} {
		if err := migrate(t); err != nil {
			t.Fatal(err)
		}
	}
	key, err := spool.LoadOrCreateKey(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(filepath.Join(dir, "spool"), key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	creds, err := credential.New(db, []byte(rand.Text()+rand.Text()), credential.Policy{},
		secret.Params{Memory: 8, Time: 1, Threads: 1}, credential.Options{})
	if err != nil {
		t.Fatal(err)
	}
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	queues := []release.Queue{{Name: "secure", Mode: release.Hold, Formats: []string{"application/pdf"},
		MaxSize: 1 << 20, Auth: release.AuthRequestingUserName, TrustedNetworks: loopback}}
	if printer != "" {
		queues = append(queues, release.Queue{Name: "lobby", Mode: release.Direct, Printer: printer,
			Formats: []string{"application/pdf"}, MaxSize: 1 << 20, Auth: release.AuthRequestingUserName,
			TrustedNetworks: loopback})
	}
	alog := audit.New(db, audit.Options{Key: []byte(rand.Text())})
	svc, err := release.New(release.Options{DB: db, Spool: sp, Queues: queues, Credentials: creds, Audit: alog})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	srv := httptest.NewServer(ipp.NewServer(svc.IPP(), nil))
	t.Cleanup(srv.Close)
	return &serverEnv{url: srv.URL, db: db, audit: alog, pdf: testdocs.PDF(1, "intake", testdocs.A4)}
}

// request is an IPP request to queue as user, with attrs in its
// operation group after the usual ones.
func (e *serverEnv) request(code goipp.Op, queue, user string, attrs ...goipp.Attribute) *goipp.Message {
	m := goipp.NewRequest(goipp.MakeVersion(2, 0), code, 1)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(e.printerURI(queue))))
	m.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String(user)))
	m.Operation = append(m.Operation, attrs...)
	return m
}

func (e *serverEnv) printerURI(queue string) string {
	return "ipp" + e.url[len("http"):] + ipp.PathPrefix + queue
}

// post sends m, then doc, to queue over HTTP with the headers of hdr,
// and returns the HTTP response.
func (e *serverEnv) post(t *testing.T, queue string, m *goipp.Message, doc []byte, hdr http.Header) *http.Response {
	t.Helper()
	body, err := m.EncodeBytes()
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.url+ipp.PathPrefix+queue,
		bytes.NewReader(append(body, doc...)))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", goipp.ContentType)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// do sends m, then doc, to queue and returns the IPP reply.
func (e *serverEnv) do(t *testing.T, queue string, m *goipp.Message, doc []byte) *goipp.Message {
	t.Helper()
	res := e.post(t, queue, m, doc, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %s, want 200 with an IPP reply", res.Status)
	}
	var reply goipp.Message
	if err := reply.Decode(res.Body); err != nil {
		t.Fatalf("reply does not decode: %v", err)
	}
	return &reply
}

// madeJob is the job-id of reply, failing t when it made none.
func madeJob(t *testing.T, reply *goipp.Message) goipp.Integer {
	t.Helper()
	s, ok := attrOf(reply.Job, "job-id")
	if !ok {
		msg, _ := attrOf(reply.Operation, "status-message")
		t.Fatalf("%s made no job: %s", goipp.Status(reply.Code), msg)
	}
	return jobID(t, s)
}

// jobRow is the name and document name the jobs table holds for id.
func (e *serverEnv) jobRow(t *testing.T, id goipp.Integer) (name, document string) {
	t.Helper()
	var row struct{ Name, DocumentName string }
	if err := e.db.Raw("SELECT name, document_name FROM jobs WHERE id = ?", int(id)).Scan(&row).Error; err != nil {
		t.Fatal(err)
	}
	return row.Name, row.DocumentName
}

// jobCount is how many jobs the jobs table holds.
func (e *serverEnv) jobCount(t *testing.T) int {
	t.Helper()
	var n int64
	if err := e.db.Raw("SELECT COUNT(*) FROM jobs").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return int(n)
}

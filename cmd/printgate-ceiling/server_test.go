package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"
	"github.com/minio/sio"
)

// printJob encodes a Print-Job request followed by doc.
func printJob(t testing.TB, op goipp.Op, doc []byte) []byte {
	t.Helper()
	m := goipp.NewRequest(goipp.MakeVersion(2, 0), op, 7)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String("ipp://127.0.0.1/ipp/print/hold")))
	m.Operation.Add(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String("application/pdf")))
	b, err := m.EncodeBytes()
	if err != nil {
		t.Fatal(err)
	}
	return append(b, doc...)
}

// reply is what a client learnt from one request.
type reply struct {
	http   int
	status goipp.Status
	jobID  int
	state  int
	err    error
}

// post sends body; safe in any goroutine (it reports through reply.err).
func post(url string, body []byte) reply {
	resp, err := http.Post(url, goipp.ContentType, bytes.NewReader(body))
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	r := reply{http: resp.StatusCode}
	if resp.StatusCode != http.StatusOK {
		return r
	}
	var m goipp.Message
	if r.err = m.Decode(resp.Body); r.err != nil {
		return r
	}
	r.status = goipp.Status(m.Code)
	for _, a := range m.Job {
		switch a.Name {
		case "job-id":
			r.jobID = int(a.Values[0].V.(goipp.Integer))
		case "job-state":
			r.state = int(a.Values[0].V.(goipp.Integer))
		}
	}
	return r
}

// TestPrintJobDurableCiphertext sends eight Print-Jobs at once while the
// fsync is held back, and checks that nobody is answered before an fsync
// covers their document, that group mode shares fsyncs, and that the
// segment holds each document DARE-encrypted, never in plaintext.
func TestPrintJobDurableCiphertext(t *testing.T) {
	const clients = 8
	tests := []struct {
		mode string
		// fsyncs when the first one is held until all requests wait.
		minSyncs, maxSyncs int64
	}{
		// The held batch, then one for the rest that queued meanwhile.
		{modeGroup, 1, 2},
		{modeEach, clients, clients},
		{modeNone, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			s, err := newServer(filepath.Join(t.TempDir(), "segment"), tt.mode)
			if err != nil {
				t.Fatal(err)
			}
			gate := make(chan struct{})
			var entered atomic.Int64
			s.sync = func(f *os.File) error {
				entered.Add(1)
				<-gate
				return f.Sync()
			}
			var mu sync.Mutex
			keys := map[int64][]byte{}
			s.sealed = func(off int64, key []byte) {
				mu.Lock()
				keys[off] = bytes.Clone(key)
				mu.Unlock()
			}
			hs := httptest.NewServer(s)
			defer func() { hs.Close(); s.close() }()
			release := sync.OnceFunc(func() { close(gate) })
			defer release() // before the server closes, on failure too

			doc := bytes.Repeat([]byte("%PDF-1.7 secret plaintext line\n"), 400)
			replies := make(chan reply, clients)
			for range clients {
				go func() { replies <- post(hs.URL+"/ipp/print/hold", printJob(t, goipp.OpPrintJob, doc)) }()
			}
			if tt.mode != modeNone {
				// Wait until every request has written its document and
				// waits for an fsync, at least one of which is held.
				// A reply meanwhile is a document answered without one.
				deadline := time.After(20 * time.Second)
				for s.waiting.Load() < clients || entered.Load() == 0 {
					select {
					case r := <-replies:
						t.Fatalf("answered %+v before any fsync completed", r)
					case <-deadline:
						t.Fatalf("%d of %d requests wait for an fsync", s.waiting.Load(), clients)
					case <-time.After(time.Millisecond):
					}
				}
			}
			release()
			seen := map[int]bool{}
			for range clients {
				r := <-replies
				if r.err != nil || r.http != http.StatusOK || r.status != goipp.StatusOk || r.jobID == 0 || r.state != jobPendingHeld {
					t.Fatalf("reply %+v, want successful-ok with a job-id and pending-held", r)
				}
				seen[r.jobID] = true
			}
			if len(seen) != clients {
				t.Errorf("job-ids %v, want %d different ones", seen, clients)
			}
			if got := s.syncs.Load(); got < tt.minSyncs || got > tt.maxSyncs {
				t.Errorf("%d fsyncs for %d documents, want %d to %d", got, clients, tt.minSyncs, tt.maxSyncs)
			}
			checkSegment(t, s, doc, keys, clients)
		})
	}
}

// checkSegment reads the segment back: n regions, each the DARE
// encryption of doc under its own key, and no plaintext anywhere.
func checkSegment(t *testing.T, s *server, doc []byte, keys map[int64][]byte, n int) {
	t.Helper()
	raw, err := os.ReadFile(s.seg.Name())
	if err != nil {
		t.Fatal(err)
	}
	encSize, _ := sio.EncryptedSize(uint64(len(doc)))
	if len(raw) != n*int(encSize) || len(keys) != n {
		t.Fatalf("segment of %d bytes with %d keys, want %d documents of %d", len(raw), len(keys), n, encSize)
	}
	if bytes.Contains(raw, []byte("secret plaintext")) {
		t.Fatal("the segment holds the plaintext")
	}
	for off, key := range keys {
		var plain bytes.Buffer
		cfg := sio.Config{MinVersion: sio.Version20, MaxVersion: sio.Version20, Key: key}
		if _, err := sio.Decrypt(&plain, bytes.NewReader(raw[off:off+int64(encSize)]), cfg); err != nil {
			t.Fatalf("region at %d: %v", off, err)
		}
		if !bytes.Equal(plain.Bytes(), doc) {
			t.Fatalf("region at %d decrypts to something else", off)
		}
	}
}

// TestRefusals checks what is not a Print-Job: no job, no bytes stored.
func TestRefusals(t *testing.T) {
	s, err := newServer(filepath.Join(t.TempDir(), "segment"), modeGroup)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer func() { hs.Close(); s.close() }()
	tests := []struct {
		name     string
		body     []byte
		wantHTTP int
		want     goipp.Status
	}{
		{"get-jobs", printJob(t, goipp.OpGetJobs, nil), http.StatusOK, goipp.StatusErrorOperationNotSupported},
		{"not IPP", []byte("hello"), http.StatusBadRequest, 0},
		{"header beyond the budget", append(printJob(t, goipp.OpPrintJob, nil)[:8], bytes.Repeat([]byte{0x01}, maxHeader+10)...), http.StatusBadRequest, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(hs.URL, tt.body)
			if r.err != nil || r.http != tt.wantHTTP || r.status != tt.want || r.jobID != 0 {
				t.Errorf("reply %+v, want HTTP %d, %v, no job", r, tt.wantHTTP, tt.want)
			}
		})
	}
	if s.stored.Load() != 0 || s.end.Load() != 0 {
		t.Errorf("%d stored, %d bytes reserved after refusals", s.stored.Load(), s.end.Load())
	}
}

func TestCheckLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:8632": true, "[::1]:0": true, "0.0.0.0:8632": false, ":8632": false,
		"192.0.2.1:631": false, "localhost:631": false, "nonsense": false,
	} {
		if err := checkLoopback(addr); (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v, want ok %v", addr, err, ok)
		}
	}
}

// FuzzServe sends arbitrary bodies: the server answers each without
// crashing and stores a document only for a decodable Print-Job.
func FuzzServe(f *testing.F) {
	f.Add(printJob(f, goipp.OpPrintJob, []byte("%PDF-1.7\n")))
	f.Add(printJob(f, goipp.OpGetJobs, nil))
	f.Add([]byte{0x02, 0x00, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x47, 0xff, 0xff})
	s, err := newServer(filepath.Join(f.TempDir(), "segment"), modeNone)
	if err != nil {
		f.Fatal(err)
	}
	defer s.close()
	f.Fuzz(func(t *testing.T, body []byte) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		s.ServeHTTP(w, r)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Fatalf("HTTP %d: %s", w.Code, strings.TrimSpace(w.Body.String()))
		}
	})
}

package main

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/OpenPrinting/goipp"
	"github.com/minio/sio"
)

// Fsync modes: how a document becomes durable before its answer.
const (
	modeGroup = "group" // a committer fsyncs once for every document that arrived meanwhile
	modeEach  = "each"  // every request fsyncs the segment itself
	modeNone  = "none"  // no fsync: the figure without durability
)

// Budgets for what a client sends.
const (
	// maxHeader bounds the IPP message before the document: goipp keeps
	// every attribute it decodes in memory. The same bound as ipp.Server.
	maxHeader = 256 << 10
	// maxDocument bounds one document, so that a runaway client cannot fill
	// the disk through one request.
	maxDocument = 4 << 30
)

// server answers Print-Job by storing each document encrypted and hashed
// in one append-only segment file, durable before the answer.
type server struct {
	mode string
	seg  *os.File
	end  atomic.Int64 // the segment's next free offset
	// sync makes the segment durable; (*os.File).Sync outside tests.
	sync func(*os.File) error
	// sealed, when set (in tests), learns where each document went and
	// under which key, before the key is cleared.
	sealed func(off int64, key []byte)
	commit chan chan error // group mode: requests waiting for an fsync
	done   chan struct{}   // closed when the committer has stopped

	jobs   atomic.Int64 // job-ids handed out
	stored atomic.Int64 // documents stored and answered successful-ok
	syncs  atomic.Int64 // fsyncs of the segment
	// waiting counts requests whose document is written and that wait for
	// an fsync.
	waiting atomic.Int64

	readers sync.Pool // *bufio.Reader
}

// newServer opens a fresh segment file at path. In group mode it starts
// the committer, which close stops.
func newServer(path, mode string) (*server, error) {
	switch mode {
	case modeGroup, modeEach, modeNone:
	default:
		return nil, fmt.Errorf("fsync mode %q: want %s, %s or %s", mode, modeGroup, modeEach, modeNone)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("segment: %w", err)
	}
	s := &server{mode: mode, seg: f, sync: (*os.File).Sync, done: make(chan struct{})}
	s.readers.New = func() any { return bufio.NewReaderSize(nil, 32<<10) }
	if mode == modeGroup {
		s.commit = make(chan chan error, 4096)
		go s.committer()
	} else {
		close(s.done)
	}
	return s, nil
}

// close stops the committer and closes the segment. Call it after the
// HTTP server has finished every request.
func (s *server) close() error {
	if s.commit != nil {
		close(s.commit)
	}
	<-s.done
	return s.seg.Close()
}

// committer is the group commit: it takes every request waiting, fsyncs
// the segment once, and answers them all. A request joins only after its
// bytes are written, so the fsync covers them; requests that arrive during
// an fsync form the next batch.
func (s *server) committer() {
	defer close(s.done)
	var batch []chan error
	for first := range s.commit {
		batch = append(batch[:0], first)
	drain:
		for {
			select {
			case w, ok := <-s.commit:
				if !ok {
					break drain
				}
				batch = append(batch, w)
			default:
				break drain
			}
		}
		err := s.fsync()
		for _, w := range batch {
			w <- err
		}
	}
}

func (s *server) fsync() error {
	s.syncs.Add(1)
	return s.sync(s.seg)
}

// durable returns once the bytes this request wrote are on disk.
func (s *server) durable() error {
	s.waiting.Add(1)
	defer s.waiting.Add(-1)
	switch s.mode {
	case modeEach:
		return s.fsync()
	case modeGroup:
		w := make(chan error, 1)
		s.commit <- w
		return <-w
	}
	return nil
}

// ServeHTTP answers an IPP request: Print-Job with successful-ok once the
// document is stored, anything else with operation-not-supported.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "IPP requests are POSTed", http.StatusMethodNotAllowed)
		return
	}
	if r.ContentLength < 0 {
		// The segment space is reserved up front, from the length.
		http.Error(w, "a Content-Length is required", http.StatusLengthRequired)
		return
	}
	br := s.readers.Get().(*bufio.Reader)
	br.Reset(http.MaxBytesReader(w, r.Body, maxHeader+maxDocument))
	defer func() { br.Reset(nil); s.readers.Put(br) }()

	head := &io.LimitedReader{R: br, N: maxHeader}
	var req goipp.Message
	if err := req.Decode(head); err != nil {
		http.Error(w, "undecodable IPP request", http.StatusBadRequest)
		return
	}
	status, jobID := goipp.StatusErrorOperationNotSupported, 0
	if goipp.Op(req.Code) == goipp.OpPrintJob {
		docLen := r.ContentLength - (maxHeader - head.N)
		var err error
		if jobID, err = s.store(br, docLen); err != nil {
			status = goipp.StatusErrorInternal
		} else {
			status = goipp.StatusOk
		}
	}
	reply := answer(&req, status, jobID, r.Host)
	w.Header().Set("Content-Type", goipp.ContentType)
	reply.Encode(w)
}

// store encrypts the document (DARE 2.0 under a fresh random key, as the
// spool does), hashes it, writes it at a reserved place in the segment and
// waits until it is durable. It returns the new job's id.
func (s *server) store(doc io.Reader, size int64) (int, error) {
	if size < 0 || size > maxDocument {
		return 0, fmt.Errorf("document of %d bytes", size)
	}
	encSize, err := sio.EncryptedSize(uint64(size))
	if err != nil {
		return 0, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	defer clear(key)
	off := s.end.Add(int64(encSize)) - int64(encSize)
	enc, err := sio.EncryptWriter(&at{f: s.seg, off: off}, sio.Config{
		MinVersion: sio.Version20, MaxVersion: sio.Version20, Key: key,
	})
	if err != nil {
		return 0, err
	}
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(sum, enc), doc)
	if cerr := enc.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != size {
		err = fmt.Errorf("document of %d bytes, %d announced", n, size)
	}
	if err != nil {
		return 0, err
	}
	// The digest would go into the job's row; there is none here.
	_ = sum.Sum(nil)
	if s.sealed != nil {
		s.sealed(off, key)
	}
	if err := s.durable(); err != nil {
		return 0, err
	}
	s.stored.Add(1)
	return int(s.jobs.Add(1)), nil
}

// at writes sequentially from off on, with pwrite, so that many requests
// write their own regions of the segment at once.
type at struct {
	f   *os.File
	off int64
}

func (a *at) Write(p []byte) (int, error) {
	n, err := a.f.WriteAt(p, a.off)
	a.off += int64(n)
	return n, err
}

// answer builds the reply to req: for a stored job the attributes an IPP
// client reads back (job-id, job-uri, job-state).
func answer(req *goipp.Message, status goipp.Status, jobID int, host string) *goipp.Message {
	m := goipp.NewResponse(req.Version, status, req.RequestID)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	if status != goipp.StatusOk {
		return m
	}
	m.Job.Add(goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(jobID)))
	m.Job.Add(goipp.MakeAttribute("job-uri", goipp.TagURI, goipp.String("ipp://"+host+"/jobs/"+strconv.Itoa(jobID))))
	m.Job.Add(goipp.MakeAttribute("job-state", goipp.TagEnum, goipp.Integer(jobPendingHeld)))
	m.Job.Add(goipp.MakeAttribute("job-state-reasons", goipp.TagKeyword, goipp.String("job-hold-until-specified")))
	return m
}

// jobPendingHeld is the job-state enum value pending-held (RFC 8011).
const jobPendingHeld = 4

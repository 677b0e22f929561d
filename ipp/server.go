package ipp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/bufpool"
)

// Defaults for the Server's limits.
const (
	DefaultMaxHeaderBytes = 256 << 10
	DefaultMaxDepth       = 16
)

// PathPrefix is where printer URIs live: PathPrefix + queue name.
const PathPrefix = "/ipp/print/"

// Server is an http.Handler for IPP requests to printgate's queues.
type Server struct {
	backend        Backend
	log            *slog.Logger
	started        time.Time
	maxHeaderBytes int
	maxDepth       int
	bodyIdle       time.Duration
	minRate        int64
	rateGrace      time.Duration
	maxJobsListed  int
	jobsPage       int
	// icons are the printer-icons PNGs by name ("icon-128.png").
	icons map[string][]byte
	// readers are the requests' body readers (*bufio.Reader), kept for
	// the next request: one for each was a tenth of what a submission
	// allocated.
	readers sync.Pool
}

// NewServer returns a Server answering for the queues of b. A nil log
// discards log output.
func NewServer(b Backend, log *slog.Logger, opts ...Option) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		backend:        b,
		log:            log,
		started:        time.Now(),
		maxHeaderBytes: DefaultMaxHeaderBytes,
		maxDepth:       DefaultMaxDepth,
		bodyIdle:       DefaultBodyIdle,
		minRate:        DefaultMinRate,
		rateGrace:      DefaultRateGrace,
		maxJobsListed:  DefaultJobsListLimit,
		jobsPage:       DefaultJobsPage,
		icons:          icons(),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// upTime is printer-up-time. It counts from 1970 like CUPS, so that it is
// above zero from the first second and job times stay comparable across
// restarts.
func (s *Server) upTime() int { return epoch(time.Now()) }

// request is one IPP request in flight.
type request struct {
	http      *http.Request
	msg       goipp.Message
	op        attrs // operation group
	job       attrs // job group
	body      *bufio.Reader
	printer   Printer
	principal Principal
	loc       location
	jobID     int // from the request path, if any
	resp      *goipp.Message
	// groups holds repeated groups (one per job in Get-Jobs), already
	// encoded, that follow resp's fixed groups: encoding them as they are
	// made keeps a long listing from holding every job's attributes.
	groups []byte
	// shortened names the operation attributes cut to IPP's limit
	// (shortenAttrs): a successful reply says they were substituted.
	shortened []string
}

// user returns the name the request acts as: the authenticated one, or
// requesting-user-name on queues that trust it.
func (r *request) user() string {
	if r.principal.Name != "" {
		return r.principal.Name
	}
	if u, ok := r.op.str("requesting-user-name"); ok && u != "" {
		return u
	}
	return "anonymous"
}

// owns reports whether j is the request's user's: of their name, and
// not from before their account (Principal.Since).
func (r *request) owns(j Job) bool {
	return j.Owner == r.user() && !j.Created.Before(r.principal.Since)
}

// mapUser has the Backend, when it is a UserMapper, say who the claimed
// requesting-user-name stands for, and makes that the request's user.
// Get-Printer-Attributes, which clients poll, acts as nobody and skips
// it.
func (s *Server) mapUser(ctx context.Context, req *request) error {
	m, ok := s.backend.(UserMapper)
	if !ok || req.principal.Name != "" {
		return nil
	}
	claimed, ok := req.op.str("requesting-user-name")
	if !ok || claimed == "" {
		return nil
	}
	name, err := m.MapUser(ctx, req.printer, claimed)
	if err != nil {
		return err
	}
	req.principal.Name = name
	return nil
}

// ServeHTTP answers POSTs of application/ipp and GETs of a status page.
func (s *Server) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	// A deadline left by an earlier reply on this connection would cut
	// this one's short.
	s.replyDeadline(w, 0)
	if hr.Method == http.MethodPost && fromWebPage(hr) {
		s.log.Warn("ipp: request from a web page refused", "remote", hr.RemoteAddr)
		http.Error(w, "IPP requests from web pages are refused", http.StatusForbidden)
		return
	}
	if queue, icon, ok := s.iconPath(hr.URL.Path); ok && (hr.Method == http.MethodGet || hr.Method == http.MethodHead) {
		if _, err := s.backend.Printer(hr.Context(), queue); err != nil {
			s.httpError(w, err)
			return
		}
		s.serveIcon(w, hr, icon)
		return
	}
	queue, jobID, ok := splitPath(hr.URL.Path)
	if !ok {
		http.Error(w, "no such printer", http.StatusNotFound)
		return
	}
	ctx := hr.Context()
	p, err := s.backend.Printer(ctx, queue)
	if err != nil {
		s.httpError(w, err)
		return
	}
	switch hr.Method {
	case http.MethodGet, http.MethodHead:
		s.statusPage(w, hr, p)
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if ct := hr.Header.Get("Content-Type"); !strings.HasPrefix(ct, goipp.ContentType) {
		http.Error(w, "content type must be application/ipp", http.StatusUnsupportedMediaType)
		return
	}
	// Authenticate before reading the body: a client that sent
	// "Expect: 100-continue" then never uploads a document we would refuse.
	principal, err := s.backend.Authenticate(ctx, hr, p)
	if err != nil {
		s.httpError(w, err)
		return
	}
	req := &request{http: hr, printer: p, principal: principal, jobID: jobID, loc: locate(hr)}
	// The header is read in small pieces and the document in large ones,
	// which bufio hands straight through: a small buffer does.
	br, _ := s.readers.Get().(*bufio.Reader)
	if br == nil {
		br = bufio.NewReaderSize(nil, 8<<10)
	}
	br.Reset(s.pace(w, hr.Body))
	defer func() {
		// What it buffered (a document's first bytes) must not wait in
		// the pool for the next request.
		bufpool.ClearReader(br)
		s.readers.Put(br)
	}()
	req.body = br
	s.serveIPP(ctx, w, req)
}

// fromWebPage reports whether r came from a web page. A page whose host
// name an attacker rebinds to printgate's address (DNS rebinding) can
// POST application/ipp from a browser on a trusted network, without a
// preflight, and queues that trust requesting-user-name trust that
// network: same-origin checks cannot tell, since to the browser the page
// and printgate are one origin. Browsers send Origin with every POST and
// Sec-Fetch-Site and Sec-Fetch-Mode with every request; IPP clients
// (CUPS, ipptool, Windows, macOS, printers) send none of them.
func fromWebPage(r *http.Request) bool {
	for _, h := range [...]string{"Origin", "Sec-Fetch-Site", "Sec-Fetch-Mode"} {
		if len(r.Header.Values(h)) > 0 {
			return true
		}
	}
	return false
}

func (s *Server) serveIPP(ctx context.Context, w http.ResponseWriter, req *request) {
	hdr, err := readHeader(req.body, s.maxHeaderBytes, s.maxDepth)
	if err != nil {
		s.writeError(w, headerReply(hdr), goipp.StatusErrorBadRequest, "Malformed IPP request: "+plain(err))
		return
	}
	if err := req.msg.DecodeBytes(hdr); err != nil {
		s.writeError(w, headerReply(hdr), goipp.StatusErrorBadRequest, "Malformed IPP request: "+err.Error())
		return
	}
	req.resp = goipp.NewResponse(replyVersion(req.msg.Version), goipp.StatusOk, req.msg.RequestID)
	status, msg := s.dispatch(ctx, req)
	s.finish(w, req, status, msg)
}

// dispatch validates req in RFC 8011 §4.1 order and runs its operation.
func (s *Server) dispatch(ctx context.Context, req *request) (goipp.Status, string) {
	if st, msg := s.validate(req); st != goipp.StatusOk {
		return st, msg
	}
	op := goipp.Op(req.msg.Code)
	h, ok := handlerOf(op)
	if !ok {
		return goipp.StatusErrorOperationNotSupported, fmt.Sprintf("Operation %s is not supported.", op)
	}
	if op != goipp.OpGetPrinterAttributes {
		if err := s.mapUser(ctx, req); err != nil {
			return s.failure(err, "map user")
		}
	}
	st, msg := h(s, ctx, req)
	if len(req.shortened) > 0 && st == goipp.StatusOk {
		return goipp.StatusOkIgnoredOrSubstituted, shortenedMessage(req.shortened)
	}
	return st, msg
}

// validate checks what every request must get right before its operation
// runs, in the order RFC 8011 §4.1 lists the checks.
func (s *Server) validate(req *request) (goipp.Status, string) {
	m := &req.msg
	switch m.Version {
	case goipp.MakeVersion(1, 0), goipp.MakeVersion(1, 1), goipp.MakeVersion(2, 0),
		goipp.MakeVersion(2, 1), goipp.MakeVersion(2, 2):
	default:
		return goipp.StatusErrorVersionNotSupported, fmt.Sprintf("IPP version %s is not supported.", m.Version)
	}
	if m.RequestID == 0 {
		return goipp.StatusErrorBadRequest, "The request-id must not be 0."
	}
	if st, msg := checkGroupOrder(m.Groups); st != goipp.StatusOk {
		return st, msg
	}
	if len(m.Operation) < 2 || m.Operation[0].Name != "attributes-charset" ||
		m.Operation[1].Name != "attributes-natural-language" {
		return goipp.StatusErrorBadRequest,
			"The first operation attributes must be attributes-charset, then attributes-natural-language."
	}
	lang, _ := attrString(m.Operation[1])
	req.loc.lang = replyLanguage(lang)
	if cs, _ := attrString(m.Operation[0]); !strings.EqualFold(cs, "utf-8") &&
		!strings.EqualFold(cs, "us-ascii") {
		req.resp.Unsupported.Add(m.Operation[0])
		return goipp.StatusErrorCharset, "Only the utf-8 charset is supported."
	}
	for _, g := range m.Groups {
		if name, ok := validStrings(g.Attrs); !ok {
			return goipp.StatusErrorBadRequest, fmt.Sprintf("Attribute %q holds text that is not UTF-8 or contains NUL.", name)
		}
	}
	s.cleanNames(m)
	shorten, st, msg := checkLengths(req)
	if st != goipp.StatusOk {
		return st, msg
	}
	req.op = index(m.Operation)
	req.job = index(m.Job)
	shortenAttrs(req, shorten)
	return s.validateTarget(req)
}

// validStrings checks that every string value in attrs, collections
// included, is UTF-8 without NUL, as the charsets accepted (utf-8 and its
// subset us-ascii) require; PostgreSQL would refuse to store anything
// else, failing the request with an internal error. It returns the name
// of the first attribute that fails. octetString values (job-password)
// decode as goipp.Binary and are not checked.
func validStrings(attrs goipp.Attributes) (string, bool) {
	for _, a := range attrs {
		for _, v := range a.Values {
			ok := true
			switch v := v.V.(type) {
			case goipp.String:
				ok = validText(string(v))
			case goipp.TextWithLang:
				ok = validText(v.Lang) && validText(v.Text)
			case goipp.Collection:
				_, ok = validStrings(goipp.Attributes(v))
			}
			if !ok {
				return a.Name, false
			}
		}
	}
	return "", true
}

func validText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// checkGroupOrder refuses a request whose operation group is not first or
// that repeats a group.
func checkGroupOrder(groups goipp.Groups) (goipp.Status, string) {
	if len(groups) == 0 || groups[0].Tag != goipp.TagOperationGroup {
		return goipp.StatusErrorBadRequest, "The request has no operation attributes."
	}
	seen := map[goipp.Tag]bool{}
	for _, g := range groups {
		if seen[g.Tag] {
			return goipp.StatusErrorBadRequest, fmt.Sprintf("Attribute group %s is repeated.", g.Tag)
		}
		seen[g.Tag] = true
	}
	return goipp.StatusOk, ""
}

// validateTarget checks printer-uri or job-uri against the queue the HTTP
// request was authenticated for.
func (s *Server) validateTarget(req *request) (goipp.Status, string) {
	if u, ok := req.op.str("printer-uri"); ok {
		q, id, ok := splitURI(u)
		if !ok || q != req.printer.Name || id != 0 {
			return goipp.StatusErrorNotFound, "The printer-uri names no printer served here."
		}
		return goipp.StatusOk, ""
	}
	if u, ok := req.op.str("job-uri"); ok {
		q, id, ok := splitURI(u)
		if !ok || q != req.printer.Name || id == 0 {
			return goipp.StatusErrorNotFound, "The job-uri names no job served here."
		}
		req.jobID = id
		return goipp.StatusOk, ""
	}
	return goipp.StatusErrorBadRequest, "The request has no printer-uri or job-uri."
}

// splitPath splits /ipp/print/{queue}[/{job}] into its parts.
func splitPath(path string) (queue string, job int, ok bool) {
	rest, ok := strings.CutPrefix(path, PathPrefix)
	if !ok || rest == "" {
		return "", 0, false
	}
	queue, id, hasID := strings.Cut(rest, "/")
	if !validName(queue) {
		return "", 0, false
	}
	if !hasID {
		return queue, 0, true
	}
	n, err := strconv.Atoi(id)
	if err != nil || n <= 0 {
		return "", 0, false
	}
	return queue, n, true
}

func splitURI(raw string) (queue string, job int, ok bool) {
	i := strings.Index(raw, "://")
	if i < 0 {
		return "", 0, false
	}
	rest := raw[i+3:]
	slash := strings.IndexByte(rest, '/')
	if slash < 0 {
		return "", 0, false
	}
	return splitPath(rest[slash:])
}

// validName accepts the queue names printgate's config allows.
func validName(s string) bool {
	if s == "" || len(s) > 127 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func locate(r *http.Request) location {
	scheme := "ipp"
	if r.TLS != nil {
		scheme = "ipps"
	}
	return location{scheme: scheme, host: r.Host}
}

// replyVersion answers in the client's version when we speak it, so a 1.1
// client is not confused by 2.0 replies.
func replyVersion(v goipp.Version) goipp.Version {
	if v.Major() == 1 || v.Major() == 2 {
		return v
	}
	return goipp.MakeVersion(1, 1)
}

// headerReply recovers the request-id of a header that failed to parse, so
// the error reply can still be matched to its request.
func headerReply(hdr []byte) *goipp.Message {
	var id uint32
	if len(hdr) >= 8 {
		id = uint32(hdr[4])<<24 | uint32(hdr[5])<<16 | uint32(hdr[6])<<8 | uint32(hdr[7])
	}
	return goipp.NewResponse(goipp.MakeVersion(1, 1), goipp.StatusOk, id)
}

// plain strips the package prefix from our own header errors.
func plain(err error) string {
	return strings.TrimPrefix(err.Error(), "ipp: ")
}

// httpError answers errors that happen before an IPP exchange starts.
func (s *Server) httpError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		http.Error(w, "no such printer", http.StatusNotFound)
	case errors.Is(err, ErrUnauthenticated):
		w.Header().Set("WWW-Authenticate", `Basic realm="printgate", charset="UTF-8"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
	case errors.Is(err, ErrForbidden):
		http.Error(w, refusalMessage(err, "this client may not print here"), http.StatusForbidden)
	case errors.Is(err, ErrBusy):
		// Authentication happens before the IPP request is read, so a
		// busy server says so in HTTP, which IPP clients retry.
		w.Header().Set("Retry-After", "2")
		http.Error(w, "server busy, try again shortly", http.StatusServiceUnavailable)
	case errors.Is(err, ErrUnavailable):
		http.Error(w, "service unavailable, try again shortly", http.StatusServiceUnavailable)
	default:
		s.log.Error("ipp: request failed", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

var statusPageTmpl = template.Must(template.New("status").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Name}} - printgate</title></head>
<body><h1>{{.Name}}</h1>
<p>{{if .Hold}}Secure release queue: jobs are held until you release them at a printer.{{else}}Direct queue: jobs print at once.{{end}}</p>
<p>State: {{if .Accepting}}accepting jobs{{else}}not accepting jobs{{end}}.</p>
</body></html>
`))

func (s *Server) statusPage(w http.ResponseWriter, r *http.Request, p Printer) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if r.Method == http.MethodHead {
		return
	}
	if err := statusPageTmpl.Execute(w, p); err != nil {
		s.log.Error("ipp: status page", "err", err)
	}
}

package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release/credential"
	"github.com/printgate/printgate/release/directory"
)

// testParams keep argon2id cheap in tests; production uses
// secret.DefaultParams.
var testParams = secret.Params{Memory: 64, Time: 1, Threads: 1}

var testKey = []byte("0123456789abcdef0123456789abcdef")

// testPassword is every test user's password.
const testPassword = "correct horse battery"

// Test users, one per role.
const (
	userName    = "alice"
	auditorName = "audrey"
	adminName   = "adam"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// eachDB runs f on a fresh SQLite database and a fresh PostgreSQL one.
func eachDB(t *testing.T, f func(t *testing.T, db *database.DB)) {
	for _, dialect := range []database.Dialect{database.SQLite, database.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			f(t, openDB(t, dialect))
		})
	}
}

// openDB opens a fresh database of dialect with the console's tables and
// those of the directory and the credential store.
func openDB(t *testing.T, dialect database.Dialect) *database.DB {
	t.Helper()
	dsn := ""
	if dialect == database.Postgres {
		dsn = testenv.Postgres(t)
	}
	db, err := database.Open(context.Background(), dsn, t.TempDir(), nil)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	for _, migrate := range []func(context.Context, *database.DB) error{directory.Migrate, credential.Migrate, Migrate} {
		if err := migrate(t.Context(), db); err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}
	return db
}

// env is a console on a real database and built-in directory.
type env struct {
	db    *database.DB
	dir   *directory.Builtin
	creds *credential.Store
	clock *clock
	srv   *server
	h     *gin.Engine
	audit *auditLog
}

// newEnv builds the console with the three test users. edit may change
// the options before the server is built.
func newEnv(t *testing.T, db *database.DB, edit func(*Options)) *env {
	t.Helper()
	e := &env{db: db, dir: directory.NewBuiltin(db, testParams), clock: newClock(), audit: &auditLog{}}
	var err error
	e.creds, err = credential.New(db, testKey, credential.Policy{}, testParams, credential.Options{Now: e.clock.Now})
	if err != nil {
		t.Fatalf("credential.New: %v", err)
	}
	for _, u := range []directory.User{
		{Name: userName, DisplayName: "Alice Example", Role: directory.RoleUser},
		{Name: auditorName, DisplayName: "Audrey Auditor", Role: directory.RoleAuditor},
		{Name: adminName, DisplayName: "Adam Admin", Role: directory.RoleAdmin},
	} {
		if err := e.dir.AddUser(t.Context(), u, testPassword); err != nil {
			t.Fatalf("AddUser %s: %v", u.Name, err)
		}
	}
	opts := Options{
		IPP:         http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ipp") }),
		DB:          db,
		Directory:   e.dir,
		Users:       e.dir,
		Credentials: e.creds,
		Audit:       e.audit,
		Now:         e.clock.Now,
	}
	if edit != nil {
		edit(&opts)
	}
	e.srv = newServer(opts)
	e.h = e.srv.engine()
	return e
}

// request is one request to the console.
type request struct {
	method, path string
	cookie       string // session secret, if any
	form         url.Values
	header       map[string]string
}

// do sends req to the console from 192.0.2.1.
func (e *env) do(t *testing.T, req request) *httptest.ResponseRecorder {
	t.Helper()
	var body *strings.Reader
	if req.form != nil {
		body = strings.NewReader(req.form.Encode())
	} else {
		body = strings.NewReader("")
	}
	r := httptest.NewRequest(req.method, req.path, body)
	r.RemoteAddr = "192.0.2.1:40000"
	if req.form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if req.cookie != "" {
		r.AddCookie(&http.Cookie{Name: cookiePlain, Value: req.cookie})
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// signIn signs name in and returns the session secret.
func (e *env) signIn(t *testing.T, name string) string {
	t.Helper()
	w := e.do(t, request{method: http.MethodPost, path: "/signin",
		form: url.Values{"name": {name}, "password": {testPassword}}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("sign in %s: status %d, body %s", name, w.Code, w.Body)
	}
	c := sessionCookie(w)
	if c == nil || c.Value == "" {
		t.Fatalf("sign in %s: no session cookie in %v", name, w.Header()["Set-Cookie"])
	}
	return c.Value
}

// sessionCookie returns the session cookie a reply sets, or nil.
func sessionCookie(w *httptest.ResponseRecorder) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == cookiePlain || c.Name == cookieSecure {
			return c
		}
	}
	return nil
}

// auditLog keeps the recorded actions; fail makes RecordAction fail.
type auditLog struct {
	mu      sync.Mutex
	actions []Action
	fail    bool
}

func (a *auditLog) RecordAction(_ context.Context, act Action) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail {
		return errors.New("audit: disk full")
	}
	a.actions = append(a.actions, act)
	return nil
}

func (a *auditLog) names() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, act := range a.actions {
		out = append(out, act.Name+" "+act.Actor+"→"+act.Target)
	}
	return out
}

// heldJobs is a Jobs with a fixed list of held jobs per user, standing in
// for the release service that cmd/printgate wires.
type heldJobs struct {
	mu   sync.Mutex
	jobs map[string][]HeldJob
}

func (h *heldJobs) HeldJobs(_ context.Context, user string) ([]HeldJob, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]HeldJob(nil), h.jobs[user]...), nil
}

func (h *heldJobs) CancelJob(_ context.Context, user string, id int64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, j := range h.jobs[user] {
		if j.ID == id {
			h.jobs[user] = append(h.jobs[user][:i], h.jobs[user][i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("job %d: %w", id, ErrNotFound)
}

// record is a History over fixed rows, standing in for the audit log.
type record struct {
	rows    []HistoryRow
	summary Summary
}

func (r *record) History(_ context.Context, q HistoryQuery) (HistoryPage, error) {
	var out HistoryPage
	for _, row := range r.rows {
		if q.User == "" || row.User == q.User {
			out.Rows = append(out.Rows, row)
		}
	}
	return out, nil
}

func (r *record) Summary(context.Context, time.Time, time.Time) (Summary, error) {
	return r.summary, nil
}

package web

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/credential"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/throttle"
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
type clock = testenv.Clock

func newClock() *clock { return testenv.NewClock() }

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
	for _, migrate := range []func(context.Context, *database.DB) error{directory.Migrate,
		credential.Migrate, audit.Migrate, throttle.Migrate, Migrate} {
		if err := migrate(t.Context(), db); err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}
	return db
}

// signinRules are the console tests' password limits.
var signinRules = map[throttle.Kind]throttle.Rule{
	throttle.Account: {Max: 10, Window: 15 * time.Minute},
	throttle.Address: {Max: 20, Window: 15 * time.Minute},
}

// env is a console on a real database and built-in directory.
type env struct {
	db    *database.DB
	dir   *directory.Builtin
	creds *credential.Store
	// throttle counts sign-in attempts with signinRules.
	throttle *throttle.Store
	clock    *clock
	srv      *server
	h        *gin.Engine
	audit    *auditLog
}

// newEnv builds the console with the three test users. edit may change
// the options before the server is built.
func newEnv(t *testing.T, db *database.DB, edit func(*Options)) *env {
	t.Helper()
	hasher, err := secret.NewHasher(testKey, testParams, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, dir: directory.NewBuiltin(db, hasher), clock: newClock(), audit: &auditLog{}}
	e.creds, err = credential.New(db, testKey, credential.Policy{}, testParams,
		credential.Options{Now: e.clock.Now, Hasher: hasher})
	if err != nil {
		t.Fatalf("credential.New: %v", err)
	}
	e.throttle, err = throttle.New(db, throttle.Options{Rules: signinRules, Key: testKey,
		Audit: audit.New(db, audit.Options{Key: testKey, Now: e.clock.Now}), Now: e.clock.Now})
	if err != nil {
		t.Fatalf("throttle.New: %v", err)
	}
	for _, u := range []directory.User{
		{Name: userName, DisplayName: "Alice Example", Role: directory.RoleUser},
		{Name: auditorName, DisplayName: "Audrey Auditor", Role: directory.RoleAuditor},
		{Name: adminName, DisplayName: "Adam Admin", Role: directory.RoleAdmin},
	} {
		if err := e.dir.AddUser(t.Context(), u, testPassword, nil); err != nil {
			t.Fatalf("AddUser %s: %v", u.Name, err)
		}
	}
	// They have been users since long before the jobs the tests make up:
	// My page shows none older than the account (directory.OwnedSince).
	if err := db.Exec("UPDATE users SET created_at = ?", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)).Error; err != nil {
		t.Fatal(err)
	}
	opts := Options{
		IPP:         http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ipp") }),
		DB:          db,
		Directory:   e.dir,
		Users:       e.dir,
		Credentials: e.creds,
		Passwords:   throttle.NewPasswords(e.throttle, e.dir),
		Audit:       e.audit,
		Now:         e.clock.Now,
		// Requests come from 192.0.2.1 over plain HTTP; plaintext_test.go
		// checks what happens with this off.
		AllowPlainCredentials: true,
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

// signIn signs name in and returns the session secret. The sign-in's own
// record is dropped, so that a test counts what it does after it;
// TestSignIn checks that record.
func (e *env) signIn(t *testing.T, name string) string {
	t.Helper()
	n := len(e.audit.since(0))
	defer e.audit.truncate(n)
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

func (a *auditLog) RecordAction(_ context.Context, _ *gorm.DB, act Action) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail {
		return errors.New("audit: disk full")
	}
	a.actions = append(a.actions, act)
	return nil
}

// truncate drops the actions after the first n.
func (a *auditLog) truncate(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.actions = a.actions[:min(n, len(a.actions))]
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
	// canceledBy records who canceled which job through CancelAnyJob.
	canceledBy map[int64]string
}

func (h *heldJobs) HeldJobs(_ context.Context, user string) ([]HeldJob, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]HeldJob(nil), h.jobs[user]...), nil
}

func (h *heldJobs) CancelJob(_ context.Context, user string, id int64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.remove(user, id)
}

func (h *heldJobs) remove(user string, id int64) error {
	for i, j := range h.jobs[user] {
		if j.ID == id {
			h.jobs[user] = append(h.jobs[user][:i], h.jobs[user][i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("job %d: %w", id, ErrNotFound)
}

func (h *heldJobs) AllHeldJobs(_ context.Context, limit int) ([]HeldJob, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []HeldJob
	for user, jobs := range h.jobs {
		for _, j := range jobs {
			j.Owner = user
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(a, b HeldJob) int { return cmp.Compare(a.ID, b.ID) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (h *heldJobs) CancelAnyJob(_ context.Context, id int64, admin string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for user := range h.jobs {
		if h.remove(user, id) == nil {
			if h.canceledBy == nil {
				h.canceledBy = map[int64]string{}
			}
			h.canceledBy[id] = admin
			return nil
		}
	}
	return fmt.Errorf("job %d: %w", id, ErrNotFound)
}

// record is a History and a Record over fixed rows, standing in for the
// audit log. It selects, pages and exports rows with the meaning
// audit.HistoryQuery documents, and remembers the queries it was asked.
type record struct {
	rows    []audit.JobRecord
	summary Summary
	// details are the jobs Job (with Timeline and CheckJob) finds, chain
	// what Verify answers, totals what Totals answers per grouping.
	details map[int64]JobDetail
	chain   audit.Report
	totals  map[audit.GroupBy][]audit.Total

	// exportErr, when set, ends an export after exportErrAfter rows.
	exportErr      error
	exportErrAfter int

	mu       sync.Mutex
	queries  []audit.HistoryQuery
	exports  []audit.Filter
	verified [][2]int64
}

var _ Record = (*record)(nil)

// matches reports whether f selects row.
func matches(f audit.Filter, row audit.JobRecord) bool {
	return (f.User == "" || row.Owner == f.User) &&
		(f.From.IsZero() || !row.Submitted.Before(f.From)) &&
		(f.To.IsZero() || row.Submitted.Before(f.To)) &&
		(f.Queue == "" || row.Queue == f.Queue) &&
		(f.Device == "" || row.Device == f.Device) &&
		(f.Outcome == "" || row.Outcome == f.Outcome) &&
		(f.Name == "" || strings.Contains(strings.ToLower(row.DocumentName), strings.ToLower(f.Name)))
}

// selected returns the rows f selects, newest first.
func (r *record) selected(f audit.Filter) []audit.JobRecord {
	var out []audit.JobRecord
	for _, row := range r.rows {
		if matches(f, row) {
			out = append(out, row)
		}
	}
	slices.SortFunc(out, func(a, b audit.JobRecord) int {
		return cmp.Or(b.Submitted.Compare(a.Submitted), cmp.Compare(b.JobID, a.JobID))
	})
	return out
}

func (r *record) History(_ context.Context, q audit.HistoryQuery) (audit.HistoryPage, error) {
	r.mu.Lock()
	r.queries = append(r.queries, q)
	r.mu.Unlock()
	rows := r.selected(q.Filter())
	start := 0
	if q.Cursor != "" {
		// The cursor is the last job ID shown.
		last, err := strconv.ParseInt(strings.TrimPrefix(q.Cursor, "after-"), 10, 64)
		i := slices.IndexFunc(rows, func(row audit.JobRecord) bool { return row.JobID == last })
		if err != nil || !strings.HasPrefix(q.Cursor, "after-") || i < 0 {
			return audit.HistoryPage{}, fmt.Errorf("cursor %q: %w", q.Cursor, audit.ErrBadCursor)
		}
		start = i + 1
	}
	limit := cmp.Or(q.Limit, 50)
	var page audit.HistoryPage
	page.Jobs = rows[start:min(start+limit, len(rows))]
	if start+limit < len(rows) {
		page.Next = fmt.Sprintf("after-%d", page.Jobs[len(page.Jobs)-1].JobID)
	}
	return page, nil
}

func (r *record) Summary(context.Context, time.Time, time.Time) (Summary, error) {
	return r.summary, nil
}

func (r *record) detail(id int64) (JobDetail, error) {
	d, ok := r.details[id]
	if !ok {
		return JobDetail{}, fmt.Errorf("job %d: %w", id, audit.ErrNotFound)
	}
	return d, nil
}

func (r *record) Job(_ context.Context, id int64) (audit.JobRecord, error) {
	d, err := r.detail(id)
	return d.JobRecord, err
}

func (r *record) Timeline(_ context.Context, id int64) ([]audit.Event, error) {
	d, err := r.detail(id)
	return d.Events, err
}

func (r *record) CheckJob(_ context.Context, id int64) (string, error) {
	d, err := r.detail(id)
	return d.RecordProblem, err
}

func (r *record) Verify(_ context.Context, from, to int64) (audit.Report, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.verified = append(r.verified, [2]int64{from, to})
	c := r.chain
	c.From, c.To = from, to
	return c, nil
}

func (r *record) Totals(_ context.Context, q audit.TotalsQuery) ([]audit.Total, error) {
	return r.totals[q.GroupBy], nil
}

// Export writes the selected rows oldest first as CSV: job ID, user and
// document name.
func (r *record) Export(_ context.Context, w io.Writer, f audit.Filter, _ audit.Format) (int64, error) {
	r.mu.Lock()
	r.exports = append(r.exports, f)
	r.mu.Unlock()
	rows := r.selected(f)
	slices.Reverse(rows)
	if r.exportErr != nil && r.exportErrAfter == 0 {
		return 0, r.exportErr
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"job_id", "owner", "document_name"})
	for i, row := range rows {
		if r.exportErr != nil && i == r.exportErrAfter {
			cw.Flush()
			return int64(i), r.exportErr
		}
		cw.Write([]string{strconv.FormatInt(row.JobID, 10), row.Owner, row.DocumentName})
	}
	cw.Flush()
	return int64(len(rows)), cw.Error()
}

// devices is a Devices over a map, standing in for the release service.
// Tokens are random and kept nowhere but in issued, for the tests.
type devices struct {
	mu     sync.Mutex
	queues []string
	byName map[string]Device
	issued []string
	// changes lists the changes in order, as "what name by".
	changes []string
}

func newDevices(queues ...string) *devices {
	return &devices{queues: queues, byName: map[string]Device{}}
}

func (d *devices) Devices(context.Context) ([]Device, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := slices.Collect(maps.Values(d.byName))
	slices.SortFunc(out, func(a, b Device) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (d *devices) Queues() []string { return d.queues }

func (d *devices) token() string {
	t := "pgd_" + rand.Text()
	d.issued = append(d.issued, t)
	return t
}

func (d *devices) AddDevice(_ context.Context, spec release.DeviceSpec, by string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.byName[spec.Name]; ok {
		return "", errors.New("device exists")
	}
	d.byName[spec.Name] = Device{Device: release.Device{Name: spec.Name, Printer: spec.Printer,
		Queues: strings.Join(spec.Queues, ","), Methods: strings.Join(spec.Methods, ","),
		SelfEnroll: spec.SelfEnroll, AllowPlainCredentials: spec.AllowPlainCredentials, Enabled: true}}
	d.changes = append(d.changes, "add "+spec.Name+" by "+by)
	return d.token(), nil
}

func (d *devices) RotateToken(_ context.Context, name, by string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.byName[name]; !ok {
		return "", fmt.Errorf("device %s: %w", name, ErrNotFound)
	}
	d.changes = append(d.changes, "rotate "+name+" by "+by)
	return d.token(), nil
}

func (d *devices) ClearThrottle(_ context.Context, name, by string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	dev, ok := d.byName[name]
	if !ok {
		return fmt.Errorf("device %s: %w", name, ErrNotFound)
	}
	dev.ThrottledUntil, dev.Refused = time.Time{}, 0
	d.byName[name] = dev
	d.changes = append(d.changes, "clear-throttle "+name+" by "+by)
	return nil
}

func (d *devices) SetDeviceEnabled(_ context.Context, name string, enabled bool, by string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	dev, ok := d.byName[name]
	if !ok {
		return fmt.Errorf("device %s: %w", name, ErrNotFound)
	}
	dev.Enabled = enabled
	d.byName[name] = dev
	d.changes = append(d.changes, fmt.Sprintf("enabled=%t %s by %s", enabled, name, by))
	return nil
}

func (h *heldJobs) AssignJob(_ context.Context, id int64, to, _ string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for user, jobs := range h.jobs {
		for i, j := range jobs {
			if j.ID == id && j.OwnerUnknown {
				j.OwnerUnknown = false
				h.jobs[user] = append(jobs[:i], jobs[i+1:]...)
				h.jobs[to] = append(h.jobs[to], j)
				return nil
			}
		}
	}
	return fmt.Errorf("job %d: %w", id, ErrNotFound)
}

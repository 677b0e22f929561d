package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/throttle"
)

// throttleAttacks guess secrets online: PINs, cards, passwords and job
// PINs, sequentially and in parallel, and try to release a job with a
// sign-in weaker than its queue requires.
func throttleAttacks() []attack {
	return []attack{
		{"PIN spray from one device", "release.device_max_failures: the device throttle", attackPINSpray},
		{"card guessing", "the device throttle; failures past the limit are not one audit event each", attackCardGuessing},
		{"card alone for a PIN-locked user", "OpenSession checks the PIN lock for card sign-ins", attackLockedCard},
		{"password guessing over IPP Basic", "credentials.max_password_failures in authenticateBasic", attackIPPBasic},
		{"password guessing by self-enrolment", "credentials.max_password_failures in selfEnroll", attackSelfEnrol},
		{"console password guessing", "credentials.max_password_failures, reserved before the check", attackConsole},
		{"job-PIN race", "the job-PIN attempt reserved by one UPDATE before the check", attackJobPINRace},
		{"release floor", "queues[].release_requires", attackReleaseFloor},
	}
}

// checks counts the passwords a server checks against its directory.
type checks struct {
	directory.Directory
	n atomic.Int64
}

func (c *checks) Authenticate(ctx context.Context, name, password string) (directory.Identity, error) {
	c.n.Add(1)
	return c.Directory.Authenticate(ctx, name, password)
}

// counting makes the server check passwords through c.
func (c *checks) counting(a *app) {
	a.wrapDirectory = func(d directory.Directory) directory.Directory {
		c.Directory = d
		return c
	}
}

// apiReply is one release API answer.
type apiReply struct {
	code       int
	retryAfter string
	body       map[string]any
}

// api sends one release API request; unlike releaseEnv.call it is safe
// from any goroutine and keeps the headers.
func (e *releaseEnv) api(device, method, path string, body any) (apiReply, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, "http://"+e.srv.Addr+"/api/v1"+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.devices[device])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return apiReply{}, err
	}
	defer resp.Body.Close()
	r := apiReply{code: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: map[string]any{}}
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			return r, fmt.Errorf("HTTP %d, not JSON: %s", resp.StatusCode, raw)
		}
	}
	return r, nil
}

// parallel runs f(i) for i in [0, n) on n goroutines at once and returns
// the replies in order.
func parallel(t *testing.T, n int, f func(i int) (apiReply, error)) []apiReply {
	t.Helper()
	out := make([]apiReply, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			r, err := f(i)
			if err != nil {
				errs <- err
			}
			out[i] = r
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return out
}

// countCodes counts the replies by HTTP status.
func countCodes(rs []apiReply) map[int]int {
	out := map[int]int{}
	for _, r := range rs {
		out[r.code]++
	}
	return out
}

// checkThrottled fails unless every 429 says when to retry.
func checkThrottled(t *testing.T, rs []apiReply) {
	t.Helper()
	for _, r := range rs {
		if r.code != http.StatusTooManyRequests {
			continue
		}
		if s, err := strconv.Atoi(r.retryAfter); err != nil || s < 1 {
			t.Fatalf("429 with Retry-After %q", r.retryAfter)
		}
	}
}

func countRows(t *testing.T, db *database.DB, query string, args ...any) int {
	t.Helper()
	var n int64
	if err := db.Raw(query, args...).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// addUsers adds n users spray-0… with PIN 4827 straight into the
// database of the running server.
func addUsers(t *testing.T, cfg Config, n int) []string {
	t.Helper()
	st, err := openStack(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var names []string
	for i := range n {
		name := fmt.Sprintf("spray-%d", i)
		if err := st.builtin.AddUser(t.Context(), directory.User{Name: name}, name+"-secret", nil); err != nil {
			t.Fatal(err)
		}
		if err := st.creds.SetPIN(t.Context(), name, "4827", nil); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

// attackPINSpray: 60 users × 4 PINs from one device token. Past the limit
// every sign-in gets 429 with Retry-After, unchecked; one device-throttled
// event; another device still works.
func attackPINSpray(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		e := newReleaseEnv(t, dbURL, nil)
		users := addUsers(t, e.cfg, 60)
		max := e.cfg.Release.DeviceMaxFailures
		var tries [][2]string
		for _, u := range users {
			for _, pin := range []string{"1357", "2468", "8642", "9753"} {
				tries = append(tries, [2]string{u, pin})
			}
		}
		var rs []apiReply
		for _, try := range tries {
			r, err := e.api("mfp1", http.MethodPost, "/release/sessions", map[string]string{"user": try[0], "pin": try[1]})
			if err != nil {
				t.Fatal(err)
			}
			rs = append(rs, r)
		}
		codes := countCodes(rs)
		if codes[http.StatusTooManyRequests] != len(tries)-max || codes[http.StatusUnauthorized] != max {
			t.Fatalf("%d tries: %v; want %d refused (401) then 429 for the rest", len(tries), codes, max)
		}
		checkThrottled(t, rs)
		db := openTestDB(t, e.srv)
		if n := countRows(t, db, `SELECT COALESCE(SUM(failures), 0) FROM credential_pins`); n > max {
			t.Errorf("%d PINs checked; want at most %d", n, max)
		}
		if n := countRows(t, db, `SELECT count(*) FROM audit_events WHERE type = ?`, throttle.EventDeviceThrottled); n != 1 {
			t.Errorf("%d device-throttled events; want 1", n)
		}
		if r, _ := e.api("mfp1", http.MethodPost, "/release/sessions", map[string]string{"user": "bob", "pin": "4821"}); r.code != http.StatusTooManyRequests {
			t.Errorf("bob's right PIN at the throttled device: HTTP %d, want 429", r.code)
		}
		e.login("mfp2", map[string]string{"user": "bob", "pin": "4821"})
		admin := signInConsole(t, e.srv, "alice", "alice-secret")
		if _, page := admin.get("/admin/devices"); strings.Count(page, `class="warn throttled"`) != 1 ||
			strings.Count(page, `class="muted episodes"`) != 1 {
			t.Errorf("the devices page does not show mfp1 throttled once:\n%s", page)
		}
		if code, _ := admin.post("/admin/devices/clear-throttle", url.Values{"name": {"mfp1"}}); code != http.StatusSeeOther {
			t.Fatalf("clear from the console: HTTP %d", code)
		}
		e.login("mfp1", map[string]string{"user": "bob", "pin": "4821"})
		if n := countRows(t, db, `SELECT count(*) FROM audit_events WHERE type = ?`, throttle.EventThrottleCleared); n != 1 {
			t.Errorf("%d throttle-cleared events; want 1", n)
		}
	})
}

// attackCardGuessing: 300 random UIDs, 20 at a time. At most the limit is
// looked up; the audit trail grows by a bounded number of events.
func attackCardGuessing(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		e := newReleaseEnv(t, dbURL, nil)
		db := openTestDB(t, e.srv)
		before := countRows(t, db, `SELECT count(*) FROM audit_events`)
		max := e.cfg.Release.DeviceMaxFailures
		const tries = 300
		var rs []apiReply
		for range tries / 20 {
			rs = append(rs, parallel(t, 20, func(int) (apiReply, error) {
				return e.api("mfp1", http.MethodPost, "/release/sessions", map[string]string{"card": randomUID()})
			})...)
		}
		codes := countCodes(rs)
		if codes[http.StatusUnauthorized] > max || codes[http.StatusTooManyRequests] < tries-max || codes[http.StatusCreated] > 0 {
			t.Fatalf("%d guesses: %v; want at most %d 401 and the rest 429", tries, codes, max)
		}
		checkThrottled(t, rs)
		added := countRows(t, db, `SELECT count(*) FROM audit_events`) - before
		if added > max+1 {
			t.Errorf("%d guesses added %d audit events; want at most %d (one per checked guess, one for the episode)",
				tries, added, max+1)
		}
		if r, _ := e.api("mfp1", http.MethodPost, "/release/sessions", map[string]string{"card": "04A1B2C3"}); r.code != http.StatusTooManyRequests {
			t.Errorf("a real card at the throttled device: HTTP %d, want 429", r.code)
		}
		runCLI(t, e.cfg, "", "device", "clear-throttle", "mfp1")
		e.login("mfp1", map[string]string{"card": "04A1B2C3"})
	})
}

func randomUID() string {
	b := make([]byte, 7)
	rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// attackLockedCard: bob's PIN is locked by wrong PINs; his card alone is
// refused too, at another device, until an admin unlocks him.
func attackLockedCard(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		e := newReleaseEnv(t, dbURL, nil)
		for i := range 5 {
			if r, _ := e.api("mfp1", http.MethodPost, "/release/sessions", map[string]string{"user": "bob", "pin": "1357"}); r.code == http.StatusCreated {
				t.Fatalf("wrong PIN %d signed in", i)
			}
		}
		r, err := e.api("mfp2", http.MethodPost, "/release/sessions", map[string]string{"card": "04A1B2C3"})
		if err != nil || r.code != http.StatusLocked {
			t.Fatalf("card alone of a PIN-locked user: HTTP %d %v, want 423", r.code, r.body)
		}
		runCLI(t, e.cfg, "", "user", "unlock", "bob")
		e.login("mfp2", map[string]string{"card": "04A1B2C3"})
	})
}

// attackIPPBasic: 300 wrong passwords over IPPS, then the right one: never
// successful-ok while the account is locked; an admin's unlock lets it in.
func attackIPPBasic(t *testing.T) {
	pdf := testdocs.PDF(1, "guess", testdocs.A4)
	forEachDB(t, func(t *testing.T, dbURL string) {
		cfg := newConfig(t, dbURL, QueueConfig{Name: "secure", Mode: "hold", Auth: "basic"})
		tlsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t)))
		cfg.Server.TLSListen = []string{tlsAddr}
		runCLI(t, cfg, "bob-secret\n", "user", "add", "bob")
		var c checks
		startServer(t, cfg, c.counting)
		uri := "ipps://" + tlsAddr + "/ipp/print/secure"
		submit := func(password string) int {
			code, r := ippsDo(t, tlsAddr, "secure", "bob", password,
				ippRequest(goipp.OpPrintJob, uri, "bob", mimeVal("application/pdf")), pdf)
			if code == http.StatusOK && status(r) == goipp.StatusOk {
				return code
			}
			if code == http.StatusOK {
				return -1
			}
			return code
		}
		for i := range 300 {
			if code := submit(fmt.Sprintf("guess-%d", i)); code == http.StatusOK {
				t.Fatalf("guess %d printed", i)
			}
		}
		if code := submit("bob-secret"); code != http.StatusUnauthorized && code != http.StatusTooManyRequests {
			t.Fatalf("right password after 300 wrong: HTTP %d; want 401 or 429 while locked", code)
		}
		if n, max := c.n.Load(), cfg.Credentials.MaxPasswordFailures; n > int64(max) {
			t.Errorf("%d of 301 passwords checked; want at most %d", n, max)
		}
		runCLI(t, cfg, "", "user", "unlock", "bob")
		if code := submit("bob-secret"); code != http.StatusOK {
			t.Fatalf("right password after the unlock: HTTP %d", code)
		}
	})
}

// attackSelfEnrol: 200 wrong directory passwords with an unknown card at a
// self-enrolment kiosk, then the right one: refused while locked, at the
// console too. The device limit is raised so that only the account's
// limit stands in the way.
func attackSelfEnrol(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		var c checks
		e := newReleaseEnv(t, dbURL, func(c *Config) { c.Release.DeviceMaxFailures = 1000 }, c.counting)
		e.addDevice("kiosk", "card", "--self-enroll")
		card := randomUID()
		for i := range 200 {
			r, err := e.api("kiosk", http.MethodPost, "/release/sessions",
				map[string]string{"card": card, "user": "alice", "password": fmt.Sprintf("guess-%d", i)})
			if err != nil || r.code == http.StatusCreated {
				t.Fatalf("guess %d: HTTP %d %v", i, r.code, err)
			}
		}
		if checked, max := c.n.Load(), e.cfg.Credentials.MaxPasswordFailures; checked > int64(max) {
			t.Errorf("%d of 200 guesses checked; want at most %d", checked, max)
		}
		r, _ := e.api("kiosk", http.MethodPost, "/release/sessions", map[string]string{"card": card, "user": "alice", "password": "alice-secret"})
		if r.code != http.StatusTooManyRequests || r.retryAfter == "" {
			t.Fatalf("right password after 200 wrong: HTTP %d %v; want 429 with Retry-After", r.code, r.body)
		}
		if code, _ := consolePost(t, e.srv, "alice", "alice-secret"); code != http.StatusTooManyRequests {
			t.Errorf("the locked account at the console: HTTP %d, want 429", code)
		}
		runCLI(t, e.cfg, "", "user", "unlock", "alice")
		e.login("kiosk", map[string]string{"card": card, "user": "alice", "password": "alice-secret"})
	})
}

// consolePost posts a console sign-in and returns the status.
func consolePost(t *testing.T, srv *testServer, name, password string) (int, error) {
	resp, err := consoleAnswer(srv, name, password)
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// consoleAnswer posts a console sign-in and returns the answer, its body
// closed.
func consoleAnswer(srv *testServer, name, password string) (*http.Response, error) {
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm("http://"+srv.Addr+"/signin", url.Values{"name": {name}, "password": {password}})
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return resp, nil
}

// attackConsole: wrong passwords at the console, one after another and 60
// at once. Counted at the directory, at most the limit are checked; then
// even the right password gets 429.
func attackConsole(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		cfg := newConfig(t, dbURL)
		for _, u := range []string{"bob", "carol"} {
			runCLI(t, cfg, u+"-secret\n", "user", "add", u)
		}
		var c checks
		srv := startServer(t, cfg, c.counting)
		max := cfg.Credentials.MaxPasswordFailures
		for name, n := range map[string]int{"sequential": 1, "parallel": 60} {
			t.Run(name, func(t *testing.T) {
				user := map[string]string{"sequential": "bob", "parallel": "carol"}[name]
				before := c.n.Load()
				var answers []*http.Response
				for range 60 / n {
					var mu sync.Mutex
					var wg sync.WaitGroup
					for i := range n {
						wg.Go(func() {
							resp, err := consoleAnswer(srv, user, fmt.Sprintf("guess-%d", i))
							if err != nil {
								t.Error(err)
								return
							}
							mu.Lock()
							answers = append(answers, resp)
							mu.Unlock()
						})
					}
					wg.Wait()
				}
				for _, resp := range answers {
					switch code := resp.StatusCode; {
					case code == http.StatusUnauthorized || code == http.StatusTooManyRequests:
					case code == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
						// Too many password checks at once for the
						// memory they may take (secret.Limiter): a
						// machine busy with other work turns some
						// away, unchecked, to come back.
					default:
						t.Fatalf("a guess got HTTP %d", code)
					}
				}
				if checked := c.n.Load() - before; checked > int64(max) {
					t.Errorf("%d of 60 guesses checked; want at most %d", checked, max)
				}
				if code, _ := consolePost(t, srv, user, user+"-secret"); code != http.StatusTooManyRequests {
					t.Errorf("right password while locked: HTTP %d, want 429", code)
				}
			})
		}
	})
}

// attackJobPINRace: 40 releases with wrong job PINs at once, then the
// right one. At most the job's limit are checked, and the job is never
// released.
func attackJobPINRace(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		e := newReleaseEnv(t, dbURL, nil)
		id := e.submit("bob", testdocs.PDF(1, "pin job", testdocs.A4),
			goipp.MakeAttribute("job-password", goipp.TagString, goipp.Binary("2468")))
		sess := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
		key := strconv.FormatInt(id, 10)
		parallel(t, 40, func(i int) (apiReply, error) {
			return e.api("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release",
				map[string]any{"jobs": []int64{id}, "job_pins": map[string]string{key: fmt.Sprintf("%04d", 3000+i)}})
		})
		r, err := e.api("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release",
			map[string]any{"jobs": []int64{id}, "job_pins": map[string]string{key: "2468"}})
		if err != nil {
			t.Fatal(err)
		}
		db := openTestDB(t, e.srv)
		checked := countRows(t, db, `SELECT count(*) FROM audit_events WHERE type = 'release-attempt' AND job_id = ?`, id)
		if checked > 5 {
			t.Errorf("%d wrong job PINs checked; want at most 5", checked)
		}
		var state string
		db.Raw(`SELECT state FROM jobs WHERE id = ?`, id).Scan(&state)
		if state != "pending-held" || len(e.received()) != 0 {
			t.Fatalf("after 40 wrong job PINs the right one: job %s, printer got %d documents (reply %v)",
				state, len(e.received()), r.body)
		}
	})
}

// attackReleaseFloor: a payroll queue requires card+PIN or ID+PIN; a
// card-only session sees nothing of it (list, detail, release), while a
// card+PIN session releases it.
func attackReleaseFloor(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		e := newReleaseEnv(t, dbURL, func(c *Config) {
			c.Queues = append(c.Queues, QueueConfig{Name: "payroll", Mode: "hold",
				ReleaseRequires: []string{"card+pin", "id+pin"}})
		})
		for name, methods := range map[string]string{"lobby": "card", "hr": "card+pin"} {
			out := runCLI(t, e.cfg, "", "device", "add", name, "--printer", e.printer.URI, "--queue", "secure",
				"--queue", "payroll", "--auth", methods)
			e.devices[name] = tokenLine.FindStringSubmatch(out)[1]
		}
		uri := e.srv.PrinterURI("payroll")
		r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "bob", nameVal("job-name", "payslip"),
			mimeVal("application/pdf")), testdocs.PDF(1, "payslip", testdocs.A4))
		payroll, _ := strconv.ParseInt(attrValue(r.Job, "job-id"), 10, 64)
		other := e.submit("bob", testdocs.PDF(1, "memo", testdocs.A4))

		card := e.login("lobby", map[string]string{"card": "04A1B2C3"})
		_, list := e.call("lobby", http.MethodGet, "/release/sessions/"+card+"/jobs", nil)
		if ids := jobIDs(list); len(ids) != 1 || ids[0] != other {
			t.Errorf("card-only session lists %v; want only the secure job %d", ids, other)
		}
		path := "/release/sessions/" + card
		if code, _ := e.call("lobby", http.MethodGet, path+"/jobs/"+strconv.FormatInt(payroll, 10), nil); code != http.StatusNotFound {
			t.Errorf("card-only job detail: HTTP %d, want 404", code)
		}
		if code, _ := e.call("lobby", http.MethodPost, path+"/release", map[string]any{"jobs": []int64{payroll}}); code != http.StatusNotFound {
			t.Errorf("card-only release by id: HTTP %d, want 404", code)
		}
		e.call("lobby", http.MethodPost, path+"/release", map[string]any{"all": true})
		e.waitState("lobby", card, other, "completed")

		pin := e.login("hr", map[string]string{"card": "04A1B2C3", "pin": "4821"})
		if code, _ := e.call("hr", http.MethodPost, "/release/sessions/"+pin+"/release", map[string]any{"jobs": []int64{payroll}}); code != http.StatusAccepted {
			t.Fatalf("card+PIN release: HTTP %d", code)
		}
		e.waitState("hr", pin, payroll, "completed")
	})
}

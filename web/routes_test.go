package web

import (
	"flag"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/ipp"
)

// apiRoutes stand in for releaseapi's routes: the table must hold them as
// public routes whose handlers check device tokens themselves.
func apiRoutes() []APIRoute {
	ok := func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"ok": true}) }
	return []APIRoute{
		{http.MethodGet, "/api/v1/openapi.json", ok, false},
		{http.MethodPost, "/api/v1/release/sessions", ok, true},
		{http.MethodGet, "/api/v1/release/sessions/:session/jobs", ok, false},
	}
}

// fullEnv is a console with every optional part wired.
func fullEnv(t *testing.T, db *database.DB) *env {
	return newEnv(t, db, func(o *Options) {
		o.API = apiRoutes()
		o.Jobs = &heldJobs{jobs: map[string][]HeldJob{}}
		rec := &record{details: map[int64]JobDetail{sampleJob: {JobRecord: audit.JobRecord{JobID: sampleJob, JobInfo: audit.JobInfo{Owner: userName}}}}}
		o.History, o.Record = rec, rec
		o.Devices = newDevices("secure")
		o.Metrics, o.Live, o.Ready = opsHandler("metrics"), opsHandler("alive"), opsHandler("ready")
		// The table's requests come from 192.0.2.1 (env.do).
		o.MetricsNetworks = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
		o.Remote = sampleRemote{}
	})
}

// sampleJob is the job that route parameters name.
const sampleJob = 7

// samplePath fills a route's parameters with plausible values.
func samplePath(p string) string {
	var segs []string
	for seg := range strings.SplitSeq(p, "/") {
		switch {
		case strings.HasPrefix(seg, "*"):
			seg = "sample"
		case seg == ":job":
			seg = strconv.Itoa(sampleJob)
		case strings.HasPrefix(seg, ":"):
			seg = "pgs_SAMPLE"
		}
		segs = append(segs, seg)
	}
	return strings.Join(segs, "/")
}

// TestRouteTable walks every route of the table as nobody, a user, an
// auditor and an admin, and checks that each gets exactly what the
// route's access says.
func TestRouteTable(t *testing.T) {
	e := fullEnv(t, openDB(t, database.SQLite))
	users := map[string]string{"user": userName, "auditor": auditorName, "admin": adminName}
	for _, r := range e.srv.routes() {
		methods := []string{r.method}
		if r.method == anyMethod {
			methods = []string{http.MethodGet, http.MethodPost}
		}
		for _, method := range methods {
			for _, who := range []string{"nobody", "user", "auditor", "admin"} {
				name := method + " " + r.path + " as " + who
				t.Run(name, func(t *testing.T) {
					// A fresh session each time: a route may end
					// the one it is given (sign-out).
					req := request{method: method, path: samplePath(r.path)}
					if who != "nobody" {
						req.cookie = e.signIn(t, users[who])
					}
					if method == http.MethodPost {
						req.form = url.Values{}
					}
					w := e.do(t, req)
					loc := w.Header().Get("Location")
					toSignin := w.Code == http.StatusSeeOther && loc == "/signin"
					var want string
					switch {
					case r.access == accessPublic:
						want = "reached"
					case who == "nobody":
						want = "signin"
					case r.access == accessAuditor && who == "user",
						r.access == accessAdmin && (who == "user" || who == "auditor"):
						want = "forbidden"
					default:
						want = "reached"
					}
					switch want {
					case "signin":
						if !toSignin {
							t.Fatalf("status %d, Location %q; want 303 to /signin", w.Code, loc)
						}
					case "forbidden":
						if w.Code != http.StatusForbidden {
							t.Fatalf("status %d; want 403", w.Code)
						}
					case "reached":
						// A page answers 200; a form or the root
						// answers its own way, but never by sending
						// the requester to sign in or away.
						if w.Code == http.StatusForbidden || w.Code == http.StatusNotFound && method == http.MethodGet ||
							toSignin && (r.access != accessPublic || who != "nobody") {
							t.Fatalf("status %d, Location %q; want the handler", w.Code, loc)
						}
						if method == http.MethodGet && r.path != "/" && w.Code != http.StatusOK {
							t.Fatalf("status %d; want 200", w.Code)
						}
					}
				})
			}
		}
	}
}

// TestRoutesAllInTable fails when the engine serves a route that the
// table does not declare, or the table declares one the engine lacks.
func TestRoutesAllInTable(t *testing.T) {
	for _, console := range []bool{true, false} {
		t.Run(map[bool]string{true: "console", false: "ipp only"}[console], func(t *testing.T) {
			var srv *server
			if console {
				srv = fullEnv(t, openDB(t, database.SQLite)).srv
			} else {
				srv = newServer(Options{IPP: http.NotFoundHandler(), API: apiRoutes()})
			}
			declared := map[string]bool{}
			for _, r := range srv.routes() {
				if r.method == anyMethod {
					for _, m := range []string{"GET", "POST", "PUT", "PATCH", "HEAD", "OPTIONS", "DELETE", "CONNECT", "TRACE"} {
						declared[m+" "+r.path] = true
					}
					continue
				}
				declared[r.method+" "+r.path] = true
			}
			registered := map[string]bool{}
			for _, ri := range srv.engine().Routes() {
				key := ri.Method + " " + ri.Path
				registered[key] = true
				if !declared[key] {
					t.Errorf("%s is registered but not in the route table", key)
				}
			}
			for key := range declared {
				if !registered[key] {
					t.Errorf("%s is in the route table but not registered", key)
				}
			}
		})
	}
}

// TestIPPRoute checks that the IPP catch-all still takes every printer
// path, with or without the console.
func TestIPPRoute(t *testing.T) {
	e := fullEnv(t, openDB(t, database.SQLite))
	for _, p := range []string{ipp.PathPrefix + "secure", ipp.PathPrefix + "secure/42", ipp.PathPrefix + "a%20b"} {
		w := e.do(t, request{method: http.MethodPost, path: p, header: map[string]string{"Content-Type": "application/ipp"}})
		if w.Code != http.StatusOK || w.Body.String() != "ipp" {
			t.Errorf("POST %s: %d %q; want the IPP handler", p, w.Code, w.Body)
		}
	}
}

// TestPathTricks checks that crafted spellings of protected paths reach
// no handler, whoever asks.
func TestPathTricks(t *testing.T) {
	e := fullEnv(t, openDB(t, database.SQLite))
	admin := e.signIn(t, adminName)
	user := e.signIn(t, userName)
	tricks := []string{
		"/admin;/x",
		"/admin;jsessionid=1",
		"/admin/../my",
		"/my/../admin",
		"/my/..%2fadmin",
		"//admin",
		"///admin/users",
		"/admin/",
		"/admin.",
		"/admin..",
		"/admin/users.",
		"/./admin",
		"/%2e%2e/admin",
		"/%2e/admin",
		"/admin%2fusers",
		"/admin%2Fusers",
		"/%61dmin",
		"/admin%00",
		"/admin%20",
		"/admin\\users",
		"/static/../admin",
		"/static/%2e%2e/admin",
		"/api/v1/../../admin",
		"/api/v1/release/sessions/%2e%2e/jobs",
	}
	for _, p := range tricks {
		for who, cookie := range map[string]string{"nobody": "", "user": user, "admin": admin} {
			t.Run(p+" as "+who, func(t *testing.T) {
				w := e.do(t, request{method: http.MethodGet, path: p, cookie: cookie})
				if w.Code != http.StatusNotFound && w.Code != http.StatusBadRequest {
					t.Fatalf("status %d, Location %q; want 404 or 400", w.Code, w.Header().Get("Location"))
				}
				if body := w.Body.String(); strings.Contains(body, "<main>") {
					t.Fatalf("a page was served: %.200s", body)
				}
			})
		}
	}
	// Under the IPP prefix everything goes to the IPP handler, which is
	// no console handler.
	w := e.do(t, request{method: http.MethodGet, path: ipp.PathPrefix + "../../admin", cookie: admin})
	if w.Body.String() != "ipp" {
		t.Errorf("IPP path with dots: %d %q; want the IPP handler", w.Code, w.Body)
	}
}

// TestCrossOrigin checks that a state-changing request sent by a browser
// from another site is refused, and one from the console itself is not.
func TestCrossOrigin(t *testing.T) {
	e := fullEnv(t, openDB(t, database.SQLite))
	cookie := e.signIn(t, userName)
	pin := url.Values{"pin": {"4821"}, "pin2": {"4821"}}
	cases := []struct {
		name   string
		path   string
		form   url.Values
		header map[string]string
		want   int
	}{
		{"cross-site PIN", "/my/pin", pin, map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"cross-site by Origin alone", "/my/pin", pin, map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{"same-site other origin", "/my/pin", pin, map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
		{"cross-site sign-in", "/signin", url.Values{"name": {userName}, "password": {testPassword}},
			map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"cross-site sign-out", "/signout", url.Values{}, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"cross-site API", "/api/v1/release/sessions", url.Values{}, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"same origin", "/my/pin", pin, map[string]string{"Origin": "http://example.com", "Sec-Fetch-Site": "same-origin"}, http.StatusSeeOther},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(t, request{method: http.MethodPost, path: tc.path, cookie: cookie, form: tc.form, header: tc.header})
			if w.Code != tc.want {
				t.Fatalf("status %d; want %d (body %.300s)", w.Code, tc.want, w.Body)
			}
		})
	}
	// Only the same-origin request may have set the PIN.
	if names := e.audit.names(); !slices.Equal(names, []string{ActionSetPIN + " alice→alice"}) {
		t.Errorf("recorded actions %v; want only the same-origin PIN", names)
	}
}

// TestSecurityHeaders checks the headers on a page, a static file, a
// refusal and an IPP reply.
func TestSecurityHeaders(t *testing.T) {
	e := fullEnv(t, openDB(t, database.SQLite))
	for _, p := range []string{"/signin", "/static/app.css", "/nowhere", "/admin;x", ipp.PathPrefix + "q"} {
		w := e.do(t, request{method: http.MethodGet, path: p})
		csp := w.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") ||
			!strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", p, csp)
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", p, w.Header())
		}
	}
	// An IPP operation's reply, read by print clients only, carries
	// nosniff and none of the browser policies.
	w := e.do(t, request{method: http.MethodPost, path: ipp.PathPrefix + "q",
		header: map[string]string{"Content-Type": "application/ipp"}})
	if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("Content-Security-Policy") != "" {
		t.Errorf("IPP reply: headers %v", w.Header())
	}
	w = e.do(t, request{method: http.MethodGet, path: "/signin"})
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("/signin: Cache-Control %q; want no-store", w.Header().Get("Cache-Control"))
	}
	// No page carries inline script: every <script> has a src or is a
	// JSON data block.
	for _, p := range []string{"/signin", "/kiosk"} {
		body := e.do(t, request{method: http.MethodGet, path: p}).Body.String()
		for _, tag := range strings.Split(body, "<script")[1:] {
			if !strings.HasPrefix(tag, ` src="/static/`) && !strings.HasPrefix(tag, ` type="application/json"`) {
				t.Errorf("%s: inline script <script%.60s", p, tag)
			}
		}
	}
}

var update = flag.Bool("update", false, "rewrite golden files")

// TestRouteAccessGolden pins the route table: a route added, removed or
// given another access shows as a diff in testdata/routes.golden, to be
// reviewed and accepted with -update.
func TestRouteAccessGolden(t *testing.T) {
	srv := fullEnv(t, openDB(t, database.SQLite)).srv
	var b strings.Builder
	for _, r := range srv.routes() {
		fmt.Fprintf(&b, "%-6s %-40s %s\n", r.method, r.path, r.access)
	}
	golden := filepath.Join("testdata", "routes.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("route table differs from %s; run go test -update and review the diff.\ngot:\n%s", golden, b.String())
	}
}

// TestAuditorsChangeNothing holds the rule that auditors read everything
// admins read but change nothing: every admin route that is not a safe
// method needs accessAdmin, and every admin page is at least for
// auditors.
func TestAuditorsChangeNothing(t *testing.T) {
	srv := fullEnv(t, openDB(t, database.SQLite)).srv
	for _, r := range srv.routes() {
		if r.path != "/admin" && !strings.HasPrefix(r.path, "/admin/") {
			continue
		}
		safe := r.method == http.MethodGet || r.method == http.MethodHead
		if !safe && r.access != accessAdmin {
			t.Errorf("%s %s changes state with access %s; want admin", r.method, r.path, r.access)
		}
		if r.access < accessAuditor {
			t.Errorf("%s %s is an admin page with access %s", r.method, r.path, r.access)
		}
	}
}

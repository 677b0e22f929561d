// Package web is printgate's HTTP face: one gin engine that carries IPP,
// the release API and the console pages (sign-in, My page, the admin and
// auditor pages, and the release kiosk).
//
// Every route is declared once, with the role it needs, in the table of
// routes.go; nothing else is registered. A path guard runs before any
// route's handlers and refuses every path that is not plain; console and
// API requests that change state pass cross-origin protection; every
// reply carries strict security headers.
package web

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/text/language"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release/credential"
	"github.com/printgate/printgate/release/directory"
)

// Session timeouts when Options leave them zero.
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultSessionLifetime = 12 * time.Hour
)

// Options configure the engine. IPP is required. The console (sign-in, My
// page, admin pages, kiosk) is served only when DB, Directory,
// Credentials and Passwords are all set; without them the engine carries IPP and the
// release API alone.
type Options struct {
	// IPP answers the printer URIs under ipp.PathPrefix (ippPrefix).
	IPP http.Handler
	// API are the release API's routes (releaseapi.API.Routes, each
	// converted with APIRoute(r)); they join the route table. Their
	// handlers authenticate devices themselves (bearer tokens), so the
	// console's sessions do not apply to them.
	API []APIRoute
	// Log receives sign-ins, refusals and server errors; nil discards.
	Log *slog.Logger

	// DB holds the console's sessions (migrated with Migrate).
	DB *database.DB
	// Directory checks sign-in passwords.
	Directory directory.Directory
	// Users lists the built-in directory's users on the users page; nil
	// (LDAP only) leaves the page with its find-a-user form.
	Users UserLister
	// Credentials keeps PINs and cards.
	Credentials *credential.Store
	// Passwords checks sign-in passwords under the shared account and
	// address limits; the console is served only with it.
	Passwords Passwords
	// PasswordSetter lets users change their password on My page: the
	// built-in directory. Nil (LDAP) tells them to change it in the
	// directory.
	PasswordSetter PasswordSetter

	// Jobs lists and cancels held jobs on My page; nil shows the section
	// as not available.
	Jobs Jobs
	// History reads the print record for My page and the dashboard; nil
	// shows those sections as not available.
	History History
	// Record reads job details, totals and exports for the admin and
	// auditor pages; nil shows those pages as not available.
	Record Record
	// Codes finds jobs by the verification codes of their forensic
	// stamps (/admin/lookup); nil shows the lookup as not available.
	Codes Codes
	// Devices lists and manages the registered devices; nil shows the
	// devices page as not available.
	Devices Devices
	// Remote releases jobs to a device from elsewhere: from a phone
	// after the device's QR code, and from My page on queues that allow
	// it; nil offers neither.
	Remote RemoteRelease
	// QRLabelLifetime is how long a QR label printed from the console
	// stays valid; release.DefaultQRLabelLifetime when 0.
	QRLabelLifetime time.Duration

	// Printers shows the printer monitor's findings (/admin/printers and
	// the dashboard); nil shows them as not available.
	Printers Printers
	// Audit records console actions that change credentials, and
	// exports; nil records nothing. When set, an action whose record
	// fails is not carried out.
	Audit AuditLog

	// TimeZone is the zone dates are shown in; nil means Asia/Tokyo.
	TimeZone *time.Location
	// Language is "ja" or "en": the language when neither the switch nor
	// Accept-Language chooses one; "" means "ja".
	Language string
	// Secure marks cookies Secure on every request, for a server behind a
	// TLS-terminating proxy; requests that arrive over TLS get Secure
	// cookies anyway.
	Secure bool
	// IdleTimeout ends a session not used for this long;
	// DefaultIdleTimeout when 0.
	IdleTimeout time.Duration
	// SessionLifetime ends a session this long after sign-in, used or
	// not; DefaultSessionLifetime when 0.
	SessionLifetime time.Duration
	// Now is the clock for sessions; nil means time.Now.
	Now func() time.Time
	// OIDC, when set, offers sign-in by an OpenID Provider beside the
	// password form (oidc.go).
	OIDC *OIDCConfig
	// Metrics answers /metrics (Prometheus), to clients from
	// MetricsNetworks only; nil serves no /metrics.
	Metrics         http.Handler
	MetricsNetworks []netip.Prefix
	// Live answers /healthz and Ready /readyz (package health); nil
	// serves no such path.
	Live, Ready http.Handler

	// AllowPlainCredentials accepts passwords and PINs over plain HTTP
	// from other machines (server.allow_plain_credentials). Off, the
	// console's sign-in is refused there, and the release API refuses
	// PIN and password sign-ins from devices not allowed one by one.
	AllowPlainCredentials bool
}

// APIRoute is one route of the release API, with the same fields as
// releaseapi.Route so that one converts to the other.
type APIRoute struct {
	Method, Path string
	Handler      gin.HandlerFunc
	// Secrets marks a route whose body may carry a PIN or password: over
	// plain HTTP from another machine, its context is marked with
	// release.WithPlainText for the release service to refuse them.
	Secrets bool
}

// server holds what the handlers share.
type server struct {
	opts     Options
	log      *slog.Logger
	now      func() time.Time
	tz       *time.Location
	sessions *sessionStore
	pages    *pageSet
	cop      *http.CrossOriginProtection
	matcher  language.Matcher
	langs    []string // the matcher's languages, by index
	console  bool
	// oidc is the single sign-on relying party; nil without OIDC.
	oidc *relyingParty
	// verifying holds the console's one check of the whole chain.
	verifying chan struct{}
}

// New returns the engine with every route of printgate. Register no
// further routes on it: the route table in routes.go is the whole list,
// and a test holds the engine to it.
func New(opts Options) *gin.Engine {
	return newServer(opts).engine()
}

func newServer(opts Options) *server {
	s := &server{opts: opts, log: opts.Log, now: opts.Now, tz: opts.TimeZone, verifying: make(chan struct{}, 1)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.tz == nil {
		s.tz = tokyo()
	}
	if opts.IdleTimeout <= 0 {
		s.opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.SessionLifetime <= 0 {
		s.opts.SessionLifetime = DefaultSessionLifetime
	}
	s.console = opts.DB != nil && opts.Directory != nil && opts.Credentials != nil && opts.Passwords != nil
	if s.console {
		s.sessions = &sessionStore{db: opts.DB, now: s.now, idle: s.opts.IdleTimeout, lifetime: s.opts.SessionLifetime,
			dir: opts.Directory}
	}
	if s.console && opts.OIDC != nil {
		s.oidc = newRelyingParty(*opts.OIDC)
	}
	s.pages = mustParsePages(s.tz)
	s.cop = http.NewCrossOriginProtection()
	s.matcher, s.langs = languageMatcher(opts.Language)
	return s
}

// tokyo returns Asia/Tokyo, or a fixed +09:00 zone where the system has no
// zone database (Japan has no daylight saving time, so the two agree).
func tokyo() *time.Location {
	if loc, err := time.LoadLocation("Asia/Tokyo"); err == nil {
		return loc
	}
	return time.FixedZone("JST", 9*60*60)
}

// engine builds the gin engine from the route table.
func (s *server) engine() *gin.Engine { return s.engineOf(s.routes()) }

// engineOf builds a gin engine of routes.
func (s *server) engineOf(routes []route) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	// Never answer a near-miss path with a redirect to a real one: the
	// route table is the whole truth.
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.RemoveExtraSlash = false
	e.HandleMethodNotAllowed = false
	// Global handlers run first on every route and on NoRoute, before any
	// route's own handlers: the guard refuses a crafted path before a
	// handler can see it.
	e.Use(s.guard, recovery(s.log))
	for _, r := range routes {
		s.register(e, r)
	}
	e.NoRoute(s.notFound)
	return e
}

// guard sets the security headers and refuses paths that are not plain
// (see pathAllowed).
func (s *server) guard(c *gin.Context) {
	if ippRequest(c.Request) {
		// An IPP reply is read by a print client, never rendered: the
		// browser policies mean nothing to it, and setting them cost
		// every submission seven headers and a larger map (the reply's
		// header map outgrows its first eight entries) for nothing.
		// Browsers' own IPP requests are refused (ipp.Server).
		c.Writer.Header().Set("X-Content-Type-Options", "nosniff")
	} else {
		securityHeaders(c.Writer.Header())
	}
	if s.secure(c.Request) && !ippRequest(c.Request) {
		// Browsers take it only over https: behind a TLS-terminating
		// proxy (Options.Secure) or on a TLS listener.
		c.Header("Strict-Transport-Security", "max-age=31536000")
	}
	if !pathAllowed(c.Request) {
		c.Data(http.StatusNotFound, "text/plain; charset=utf-8", []byte("404 page not found\n"))
		c.Abort()
	}
}

// ippRequest reports whether r is an IPP operation: a POST of
// application/ipp to a queue.
func ippRequest(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, ippPrefix) &&
		r.Header.Get("Content-Type") == "application/ipp"
}

// securityHeaders sets the headers every reply but an IPP operation's
// carries. The policy allows
// scripts and styles from printgate's own static files only: no inline
// script or style anywhere.
func securityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "+
		"img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
}

// recovery turns a panic into a 500 and a log line without the request
// body or headers, which may hold credentials.
func recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					// A handler cutting a reply short on purpose (a
					// broken export): let net/http drop the connection.
					panic(r)
				}
				log.Error("web: panic", "route", routeOf(c), "panic", r, "after", time.Since(start))
				c.AbortWithStatus(http.StatusInternalServerError)
			}
		}()
		c.Next()
	}
}

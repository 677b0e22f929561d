package web

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/release/directory"
)

// access is what a route requires of the requester.
type access int

// Access levels. Reading the admin pages needs accessAuditor, which admins
// have too; changing anything there needs accessAdmin, so auditors see
// everything and change nothing.
const (
	accessPublic  access = iota // anyone; the handler may still authenticate (IPP, API)
	accessUser                  // any signed-in user
	accessAuditor               // auditors and admins
	accessAdmin                 // admins only
)

func (a access) String() string {
	return [...]string{"public", "user", "auditor", "admin"}[a]
}

// allowed reports whether a session of role r passes a. An unknown role
// counts as a plain user.
func allowed(r directory.Role, a access) bool {
	switch a {
	case accessPublic, accessUser:
		return true
	case accessAuditor:
		return r == directory.RoleAdmin || r == directory.RoleAuditor
	case accessAdmin:
		return r == directory.RoleAdmin
	}
	return false
}

// kind says which middleware a route runs behind.
type kind int

const (
	// kindRaw passes the request untouched to a handler that does its own
	// authentication (IPP).
	kindRaw kind = iota
	// kindAPI is a JSON API authenticated by bearer tokens: cross-origin
	// protection, no console session.
	kindAPI
	// kindPage is a console page or form: cross-origin protection, no
	// caching, a bounded body, the language, the session and the role.
	kindPage
	// kindStatic is an embedded static file.
	kindStatic
)

// anyMethod registers a route for every method.
const anyMethod = "*"

// route is one row of the route table.
type route struct {
	method  string
	path    string
	access  access
	kind    kind
	handler gin.HandlerFunc
}

// routes is the route table: every route printgate serves, with the access
// it requires. engine registers these and nothing else.
func (s *server) routes() []route {
	rs := []route{
		{anyMethod, ippPrefix + "*path", accessPublic, kindRaw, gin.WrapH(s.opts.IPP)},
	}
	for _, r := range s.opts.API {
		h := r.Handler
		if r.Secrets {
			h = s.markPlainText(h)
		}
		rs = append(rs, route{r.Method, r.Path, accessPublic, kindAPI, h})
	}
	rs = append(rs, s.opsRoutes()...)
	if !s.console {
		return append(rs, route{http.MethodGet, "/", accessPublic, kindRaw, func(c *gin.Context) {
			c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte("printgate\n"))
		}})
	}
	rs = append(rs, s.oidcRoutes()...)
	get, post := http.MethodGet, http.MethodPost
	rs = append(rs, []route{
		{get, "/", accessPublic, kindPage, s.root},
		{get, "/signin", accessPublic, kindPage, s.signinPage},
		{post, "/signin", accessPublic, kindPage, s.refusePlainText(s.signin)},
		{post, "/signout", accessUser, kindPage, s.signout},

		{get, "/my", accessUser, kindPage, s.myPage},
		{post, "/my/pin", accessUser, kindPage, s.refusePlainText(s.setMyPIN)},
		{post, "/my/password", accessUser, kindPage, s.refusePlainText(s.changeMyPassword)},
		{post, "/my/cards/remove", accessUser, kindPage, s.removeMyCard},
		{post, "/my/jobs/cancel", accessUser, kindPage, s.cancelMyJob},

		{get, "/admin", accessAuditor, kindPage, s.dashboard},
		{get, "/admin/history", accessAuditor, kindPage, s.historyPage},
		{get, "/admin/history/export", accessAuditor, kindPage, s.exportHistory},
		{get, "/admin/jobs/:job", accessAuditor, kindPage, s.jobPage},
		{get, "/admin/lookup", accessAuditor, kindPage, s.lookupPage},
		{get, "/admin/charts", accessAuditor, kindPage, s.chartsPage},
		{get, "/admin/held", accessAuditor, kindPage, s.heldPage},
		{post, "/admin/held/cancel", accessAdmin, kindPage, s.cancelHeldJob},
		{post, "/admin/held/assign", accessAdmin, kindPage, s.assignHeldJob},
		{get, "/admin/devices", accessAuditor, kindPage, s.devicesPage},
		{post, "/admin/devices/add", accessAdmin, kindPage, s.addDevice},
		{post, "/admin/devices/rotate", accessAdmin, kindPage, s.rotateToken},
		{post, "/admin/devices/enable", accessAdmin, kindPage, s.setDeviceEnabled},
		{post, "/admin/devices/clear-throttle", accessAdmin, kindPage, s.clearDeviceThrottle},
		{get, "/admin/printers", accessAuditor, kindPage, s.printersPage},
		{get, "/admin/printers/observed/export", accessAuditor, kindPage, s.exportObserved},
		{get, "/admin/users", accessAuditor, kindPage, s.usersPage},
		{post, "/admin/users/pin/reset", accessAdmin, kindPage, s.resetPIN},
		{post, "/admin/users/unlock", accessAdmin, kindPage, s.unlockUser},
		{post, "/admin/users/password", accessAdmin, kindPage, s.refusePlainText(s.resetPassword)},
		{post, "/admin/users/cards/add", accessAdmin, kindPage, s.refusePlainText(s.addCard)},
		{post, "/admin/users/cards/remove", accessAdmin, kindPage, s.removeCard},

		{get, "/kiosk", accessPublic, kindPage, s.kioskPage},
	}...)
	rs = append(rs, s.remoteRoutes()...)
	return append(rs, s.staticRoutes()...)
}

// register adds r to e behind the middleware its kind needs.
func (s *server) register(e *gin.Engine, r route) {
	var chain []gin.HandlerFunc
	switch r.kind {
	case kindAPI:
		chain = append(chain, s.crossOrigin)
	case kindPage:
		chain = append(chain, s.crossOrigin, pageHeaders, s.authorize(r.access))
	}
	chain = append(chain, r.handler)
	if r.method == anyMethod {
		e.Any(r.path, chain...)
		return
	}
	e.Handle(r.method, r.path, chain...)
}

// crossOrigin refuses state-changing requests that a browser sent from
// another origin (net/http.CrossOriginProtection: Sec-Fetch-Site, or Origin
// against Host). Safe methods always pass, so no GET route changes state.
func (s *server) crossOrigin(c *gin.Context) {
	if err := s.cop.Check(c.Request); err != nil {
		s.log.Warn("web: cross-origin request refused", "route", routeOf(c),
			"remote", c.ClientIP())
		if s.console && !strings.HasPrefix(c.Request.URL.Path, "/api/") {
			s.renderError(c, http.StatusForbidden, "error.cross_origin")
			return
		}
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "cross-origin request refused"})
	}
}

// maxFormBytes bounds a console form: the largest holds a user name and a
// card UID.
const maxFormBytes = 16 << 10

// pageHeaders keeps console pages out of caches and bounds form bodies.
func pageHeaders(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	if c.Request.Body != nil {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxFormBytes)
	}
}

// authorize loads the session and lets the request through only with the
// access a requires: none → 303 to the sign-in page, too little → 403.
func (s *server) authorize(a access) gin.HandlerFunc {
	return func(c *gin.Context) {
		sess, err := s.sessions.lookup(c.Request.Context(), s.sessionToken(c.Request))
		if err != nil {
			s.fail(c, "session", err)
			return
		}
		if sess != nil {
			c.Set(ctxSession, sess)
		}
		switch {
		case a == accessPublic:
		case sess == nil:
			c.Redirect(http.StatusSeeOther, "/signin")
			c.Abort()
		case !allowed(sess.Role, a):
			s.renderError(c, http.StatusForbidden, "error.forbidden")
		}
	}
}

// root sends a signed-in user to their page and anyone else to sign in.
func (s *server) root(c *gin.Context) {
	if currentSession(c) != nil {
		c.Redirect(http.StatusSeeOther, "/my")
		return
	}
	c.Redirect(http.StatusSeeOther, "/signin")
}

package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/release/directory"
)

// templateFiles are the console's pages. Each page file is parsed with the
// layout, once per language, so that a page's t function is its
// language's catalog.
//
//go:embed templates/*.html
var templateFiles embed.FS

// pageNames lists the pages: each is templates/NAME.html.
func pageNames() []string {
	return []string{"signin", "my", "admin", "users", "error", "kiosk",
		"history", "job", "charts", "held", "devices", "token", "lookup",
		"qr", "qrlabel", "printers"}
}

// selfPath is the address that shows page, where a view does not say.
func selfPath(page string) string {
	switch page {
	case "error":
		return "/"
	case "admin", "my", "signin", "kiosk":
		return "/" + page
	case "token":
		// The token is shown once: the language switch leads to the
		// devices page, not back to the token.
		return "/admin/devices"
	}
	return "/admin/" + page
}

// entryOf names the template that starts page: the kiosk is a page of its
// own, every other page fills in the console's layout.
func entryOf(page string) string {
	if page == "kiosk" {
		return "kiosk"
	}
	return "layout"
}

// pageSet holds every page parsed for every language.
type pageSet struct {
	locales map[string]*locale
	pages   map[string]map[string]*template.Template // lang → page → template
}

// mustParsePages parses the embedded templates. They are part of the
// binary, so a failure is a programming error that every test catches.
func mustParsePages(tz *time.Location) *pageSet {
	ps, err := parsePages(tz)
	if err != nil {
		panic(err)
	}
	return ps
}

func parsePages(tz *time.Location) (*pageSet, error) {
	locales, err := loadLocales(tz)
	if err != nil {
		return nil, err
	}
	ps := &pageSet{locales: locales, pages: make(map[string]map[string]*template.Template)}
	for lang, loc := range locales {
		ps.pages[lang] = make(map[string]*template.Template)
		funcs := template.FuncMap{
			"t":        loc.T,
			"tOr":      loc.TOr,
			"kw":       loc.Keyword,
			"kws":      loc.Keywords,
			"ended":    loc.EndedHTML,
			"date":     loc.Date,
			"day":      loc.Day,
			"hasRole":  func(s *session, r string) bool { return s != nil && allowed(s.Role, accessFor(r)) },
			"details":  detailPairs,
			"size":     loc.Size,
			"num":      func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
			"plus":     func(a, b float64) float64 { return a + b },
			"colorKey": colorKey,
			"join":     strings.Join,
			"has":      slices.Contains[[]string],
			"redact":   redactURI,
		}
		for _, page := range pageNames() {
			files := []string{"templates/" + page + ".html"}
			if entryOf(page) == "layout" {
				files = append(files, "templates/layout.html")
			}
			t, err := template.New(page).Funcs(funcs).ParseFS(templateFiles, files...)
			if err != nil {
				return nil, fmt.Errorf("web: parse page %s: %w", page, err)
			}
			ps.pages[lang][page] = t
		}
	}
	return ps, nil
}

// view is what every page template gets.
type view struct {
	// Lang is the page's language code.
	Lang string
	// Title is the catalog key of the page title.
	Title string
	// Page names the page, for the navigation's current item.
	Page string
	// Self is the page's own address, for the language switch (a page
	// shown after a form was sent has the form's address).
	Self string
	// User is the signed-in user; nil on public pages without a session.
	User *session
	// Flash and Error are translated messages shown at the top.
	Flash, Error string
	// Data is the page's own data.
	Data any
}

// render writes page with v in the request's language.
func (s *server) render(c *gin.Context, status int, page string, v view) {
	loc := s.locale(c)
	v.Lang = loc.lang
	v.Page = page
	if v.Self == "" {
		v.Self = selfPath(page)
	}
	if v.User == nil {
		v.User = currentSession(c)
	}
	if v.Flash == "" {
		if key := "flash." + c.Query("ok"); c.Query("ok") != "" && loc.has(key) {
			v.Flash = loc.T(key)
		}
	}
	t := s.pages.pages[loc.lang][page]
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, entryOf(page), v); err != nil {
		s.log.Error("web: render page", "page", page, "err", err)
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("500 internal server error\n"))
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// renderError shows the error page with the message under key.
func (s *server) renderError(c *gin.Context, status int, key string, args ...any) {
	loc := s.locale(c)
	s.render(c, status, "error", view{Title: "error.title", Error: loc.T(key, args...), Data: status})
	c.Abort()
}

// fail logs err and shows a generic error page: the detail stays in the
// log, never in the reply.
func (s *server) fail(c *gin.Context, action string, err error) {
	if errors.Is(err, directory.ErrBusy) {
		// Too many password or PIN checks at once: each takes memory,
		// so the rest wait briefly and are then turned away.
		s.log.Warn("web: "+action+": busy", "route", routeOf(c))
		c.Header("Retry-After", busyRetryAfter)
		s.renderError(c, http.StatusServiceUnavailable, "error.busy")
		return
	}
	s.log.Error("web: "+action, "route", routeOf(c), "err", err)
	s.renderError(c, http.StatusInternalServerError, "error.internal")
}

// busyRetryAfter is the Retry-After, in seconds, of a busy answer.
const busyRetryAfter = "2"

// notFound answers every path the route table does not hold.
func (s *server) notFound(c *gin.Context) {
	if !s.console {
		c.Data(http.StatusNotFound, "text/plain; charset=utf-8", []byte("404 page not found\n"))
		return
	}
	s.renderError(c, http.StatusNotFound, "error.not_found")
}

// locale returns the request's locale, choosing it on first use.
func (s *server) locale(c *gin.Context) *locale {
	if v, ok := c.Get(ctxLocale); ok {
		return v.(*locale)
	}
	loc := s.pages.locales[s.chooseLanguage(c.Writer, c.Request)]
	c.Set(ctxLocale, loc)
	return loc
}

// Keys of request values in the gin context.
const (
	ctxLocale  = "printgate.locale"
	ctxSession = "printgate.session"
)

// currentSession returns the request's session, or nil.
func currentSession(c *gin.Context) *session {
	if v, ok := c.Get(ctxSession); ok {
		return v.(*session)
	}
	return nil
}

// accessFor maps a role name in a template to the access it grants.
func accessFor(role string) access {
	switch directory.Role(role) {
	case directory.RoleAdmin:
		return accessAdmin
	case directory.RoleAuditor:
		return accessAuditor
	}
	return accessUser
}

// routeOf names c's request in a log line by its route's pattern
// (/qr/:device/:token), never its path: paths carry secrets (a QR link's
// token) and whatever a client chose to send.
func routeOf(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return c.Request.Method + " " + r
	}
	return c.Request.Method + " (no route)"
}

// colorKey is the catalog key that names a colour class.
func colorKey(c audit.Color) string {
	switch c {
	case audit.ColorColor:
		return "job.color"
	case audit.ColorMono:
		return "job.mono"
	}
	return "job.color_unknown"
}

// Package web is printgate's HTTP face: one gin engine that carries IPP,
// the release API and the console pages.
package web

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/ipp"
)

// Options configure the engine.
type Options struct {
	// IPP answers the printer URIs.
	IPP http.Handler
	Log *slog.Logger
}

// New returns the engine with every route of printgate.
func New(opts Options) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.Use(recovery(opts.Log), securityHeaders)
	ippHandler := gin.WrapH(opts.IPP)
	e.Any(ipp.PathPrefix+"*path", ippHandler)
	e.GET("/", func(c *gin.Context) {
		c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte("printgate\n"))
	})
	return e
}

// securityHeaders sets the headers every reply carries.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	c.Next()
}

// recovery turns a panic into a 500 and a log line without the request
// body or headers, which may hold credentials.
func recovery(log *slog.Logger) gin.HandlerFunc {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(c *gin.Context) {
		start := time.Now()
		defer func() {
			if r := recover(); r != nil {
				log.Error("web: panic", "path", c.Request.URL.Path, "panic", r, "after", time.Since(start))
				c.AbortWithStatus(http.StatusInternalServerError)
			}
		}()
		c.Next()
	}
}

package ipp

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"
)

// ErrClientTimeout is a request body that stalled or crawled: a client
// trickling bytes, or announcing more than it sends, must not hold a
// connection and a spool file open forever.
var ErrClientTimeout = errors.New("ipp: client too slow")

// Option changes a Server's defaults.
type Option func(*Server)

// WithUploadLimits cuts off a request body after idle without a byte, or
// once, after grace, it has averaged less than minRate bytes per second.
// Zero values turn the respective check off.
func WithUploadLimits(idle time.Duration, minRate int64, grace time.Duration) Option {
	return func(s *Server) { s.bodyIdle, s.minRate, s.rateGrace = idle, minRate, grace }
}

// WithJobsListLimit sets how many jobs one Get-Jobs answers with at most,
// whatever limit the client asks for (0: no such limit).
func WithJobsListLimit(n int) Option {
	return func(s *Server) { s.maxJobsListed = n }
}

// WithJobsPage sets how many jobs Get-Jobs asks the Backend for at a
// time (n > 0): smaller pages hold less memory, larger ones take fewer
// queries.
func WithJobsPage(n int) Option {
	return func(s *Server) {
		if n > 0 {
			s.jobsPage = n
		}
	}
}

// DefaultJobsListLimit is how many jobs one Get-Jobs lists at most.
const DefaultJobsListLimit = 500

// Default upload limits: a minute of silence, or under 1 KiB/s after the
// first 30 seconds.
const (
	DefaultBodyIdle  = time.Minute
	DefaultMinRate   = 1 << 10
	DefaultRateGrace = 30 * time.Second
)

// pacedBody enforces the upload limits on a request body.
type pacedBody struct {
	r       io.Reader
	rc      *http.ResponseController
	idle    time.Duration
	minRate int64
	grace   time.Duration
	start   time.Time
	n       int64
}

func (s *Server) pace(w http.ResponseWriter, body io.Reader) io.Reader {
	if s.bodyIdle == 0 && s.minRate == 0 {
		return body
	}
	return &pacedBody{r: body, rc: http.NewResponseController(w), idle: s.bodyIdle,
		minRate: s.minRate, grace: s.rateGrace, start: time.Now()}
}

func (p *pacedBody) Read(b []byte) (int, error) {
	if p.idle > 0 {
		// Not every ResponseWriter supports deadlines (HTTP/2 streams,
		// test recorders); the rate check below still applies there.
		_ = p.rc.SetReadDeadline(time.Now().Add(p.idle))
	}
	n, err := p.r.Read(b)
	p.n += int64(n)
	if err != nil && !errors.Is(err, io.EOF) && errors.Is(err, os.ErrDeadlineExceeded) {
		return n, ErrClientTimeout
	}
	if el := time.Since(p.start); p.minRate > 0 && el > p.grace && float64(p.n) < float64(p.minRate)*el.Seconds() {
		return n, ErrClientTimeout
	}
	return n, err
}

// replyDeadline bounds the time a reply of n bytes may take to write: a
// client that stops reading must not hold the handler, its reply and the
// connection forever. (The HTTP server sets no write timeout, which would
// start with the request and cut a long upload's reply short.) It allows
// the upload limits' idle time, and n bytes at their slowest rate.
func (s *Server) replyDeadline(w http.ResponseWriter, n int) {
	if s.bodyIdle == 0 {
		return
	}
	d := s.bodyIdle
	if s.minRate > 0 {
		d += time.Duration(int64(n) * int64(time.Second) / s.minRate)
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d))
}

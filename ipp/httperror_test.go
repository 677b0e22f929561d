package ipp

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHTTPError checks the HTTP answers to errors met before an IPP
// request is read (printer lookup, authentication).
func TestHTTPError(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		retryAfter bool
	}{
		{"no such printer", ErrNotFound, http.StatusNotFound, false},
		{"no credentials", ErrUnauthenticated, http.StatusUnauthorized, false},
		{"refused", Refuse(ErrForbidden, "use ipps"), http.StatusForbidden, false},
		{"busy", fmt.Errorf("queue x: %w: %w", ErrBusy, errors.New("too many checks")), http.StatusServiceUnavailable, true},
		{"unavailable", ErrUnavailable, http.StatusServiceUnavailable, false},
		{"anything else", errors.New("boom"), http.StatusInternalServerError, false},
	}
	s := &Server{log: slog.New(slog.DiscardHandler)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			s.httpError(w, tt.err)
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			if got := w.Header().Get("Retry-After") != ""; got != tt.retryAfter {
				t.Errorf("Retry-After %q, want one: %v", w.Header().Get("Retry-After"), tt.retryAfter)
			}
		})
	}
}

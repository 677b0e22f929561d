package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release/directory"
)

// TestFailBusy checks that a password or PIN check turned away by the
// argon2 limiter is a 503 with Retry-After, not a server error.
func TestFailBusy(t *testing.T) {
	e := newEnv(t, openDB(t, database.SQLite), nil)
	tests := []struct {
		name   string
		err    error
		status int
	}{
		{"busy", fmt.Errorf("directory: authenticate: %w", directory.ErrBusy), http.StatusServiceUnavailable},
		{"other", errors.New("boom"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			c.Request = httptest.NewRequest(http.MethodPost, "/signin", nil)
			e.srv.fail(c, "sign-in", tt.err)
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			if got := w.Header().Get("Retry-After") != ""; got != (tt.status == http.StatusServiceUnavailable) {
				t.Errorf("Retry-After %q", w.Header().Get("Retry-After"))
			}
		})
	}
}

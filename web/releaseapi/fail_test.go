package releaseapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/release"
)

// TestFailStatus checks how release errors become HTTP answers, for the
// ones that tell the panel what to do next.
func TestFailStatus(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		message    string
		retryAfter bool
	}{
		{"busy", fmt.Errorf("release: check PIN: %w", release.ErrBusy), http.StatusServiceUnavailable, "busy", true},
		{"needs TLS", fmt.Errorf("release: mfp: %w", release.ErrNeedsTLS), http.StatusForbidden, "https://", false},
		{"forbidden", release.ErrForbidden, http.StatusForbidden, "may not", false},
		{"unauthorized", release.ErrUnauthorized, http.StatusUnauthorized, "Not recognised", false},
		{"unexpected", errors.New("boom"), http.StatusInternalServerError, "went wrong", false},
		{"printer stopped", fmt.Errorf("release: mfp: %w", &release.PrinterUnavailable{Reachable: true, State: "stopped",
			Reasons: []string{"media-empty-error"}, Why: "printer-stopped"}), http.StatusConflict,
			`"reason":"printer-unavailable","why":"printer-stopped","printer_state":"stopped","printer_state_reasons":["media-empty-error"],"printer_reachable":true`, false},
		{"printer unreachable", &release.PrinterUnavailable{State: "unknown", Why: "printer-unreachable"}, http.StatusConflict,
			`cannot be reached`, false},
	}
	a := New(nil, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			c.Request = httptest.NewRequest(http.MethodPost, Prefix+"/release/sessions", nil)
			a.fail(c, tt.err)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.message) {
				t.Errorf("HTTP %d %s, want %d with %q", w.Code, w.Body, tt.status, tt.message)
			}
			if got := w.Header().Get("Retry-After") != ""; got != tt.retryAfter {
				t.Errorf("Retry-After %q, want one: %v", w.Header().Get("Retry-After"), tt.retryAfter)
			}
		})
	}
}

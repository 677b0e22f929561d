package releaseapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/internal/i18n"
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

// TestFailLanguage checks that refusals answer a stable code in "error"
// and a message in the language of Accept-Language.
func TestFailLanguage(t *testing.T) {
	tests := []struct {
		name, accept string
		err          error
		code         string
		message      string
	}{
		{"wrong PIN ja", "ja", release.ErrUnauthorized, "not-recognised", "認証できませんでした"},
		{"wrong PIN ja-JP with q", "en;q=0.3, ja-JP;q=0.9", release.ErrUnauthorized, "not-recognised", "認証できませんでした"},
		{"wrong PIN en", "en-US", release.ErrUnauthorized, "not-recognised", "Not recognised"},
		{"wrong PIN no header", "", release.ErrUnauthorized, "not-recognised", "Not recognised"},
		{"locked ja", "ja", fmt.Errorf("release: %w", release.ErrLocked), "locked", "ロック"},
		{"unknown card ja", "ja", release.ErrUnknownCard, "unknown-card", "登録されていません"},
		{"printer ja", "ja", &release.PrinterUnavailable{Reachable: true, State: "stopped", Why: "printer-stopped",
			Reasons: []string{"media-empty-error"}}, "printer-unavailable", "プリンターが停止しているため"},
		{"internal ja", "ja", errors.New("boom"), "internal", "問題が発生しました"},
	}
	a := New(nil, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			c.Request = httptest.NewRequest(http.MethodPost, Prefix+"/release/sessions", nil)
			if tt.accept != "" {
				c.Request.Header.Set("Accept-Language", tt.accept)
			}
			a.fail(c, tt.err)
			var out struct{ Error, Message string }
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
				t.Fatalf("not JSON: %v: %s", err, w.Body)
			}
			if out.Error != tt.code || !strings.Contains(out.Message, tt.message) {
				t.Errorf("error %q message %q, want %q and a message with %q", out.Error, out.Message, tt.code, tt.message)
			}
			if tt.accept == "ja" && strings.ContainsAny(out.Message, "abcdefghijklmnopqrstuvwxyz") {
				t.Errorf("Japanese message has Latin text: %q", out.Message)
			}
		})
	}
}

// TestMessagesComplete checks that every code has a message in both
// languages, and that no two codes read alike.
func TestMessagesComplete(t *testing.T) {
	seen := map[string]string{}
	for code, text := range messages {
		if text.En == "" || text.Ja == "" || text.En == text.Ja {
			t.Errorf("%s: en %q, ja %q", code, text.En, text.Ja)
		}
		if other, dup := seen[text.Ja]; dup {
			t.Errorf("%s and %s share %q", code, other, text.Ja)
		}
		seen[text.Ja] = code
	}
}

// TestJobMessageLanguage: a job's message is its own English words for an
// English reader and its state's words for a Japanese one, for every
// state a job can be in: the English detail never reaches a Japanese
// panel.
func TestJobMessageLanguage(t *testing.T) {
	states := []release.State{release.StateIncoming, release.StateHeld, release.StateReleasing, release.StatePrinting,
		release.StateCompleted, release.StateCanceled, release.StateExpired, release.StateAborted}
	for _, st := range states {
		j := release.Job{State: st, Message: "printgate restarted while the job was being printed."}
		if got := jobMessage(i18n.En, j); got != j.Message {
			t.Errorf("%s in English: %q", st, got)
		}
		got := jobMessage(i18n.Ja, j)
		if got == "" || strings.ContainsFunc(got, func(r rune) bool { return r < 0x80 && unicode.IsLetter(r) }) {
			t.Errorf("%s in Japanese: %q", st, got)
		}
	}
	if got := jobMessage(i18n.Ja, release.Job{State: release.StateHeld}); got != "" {
		t.Errorf("a job without a message has %q", got)
	}
}

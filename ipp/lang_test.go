package ipp

import (
	"strings"
	"testing"
	"unicode"
)

// TestLocalizeCoversErrors checks that every refusal the server maps from
// a backend error has Japanese words, for its own message and for its
// status, so that a Japanese client never reads English.
func TestLocalizeCoversErrors(t *testing.T) {
	for _, m := range errorStatus {
		if _, ok := jaMessages[m.message]; !ok {
			t.Errorf("%q has no Japanese", m.message)
		}
		if _, ok := jaStatus[m.status]; !ok {
			t.Errorf("status %s has no Japanese", m.status)
		}
		// A backend's own message (a Refusal) falls back to the status.
		got := localize(langJa, m.status, "The document is text/plain, which this queue does not accept.")
		if !hasJapanese(got) {
			t.Errorf("refusal with status %s reads %q in Japanese", m.status, got)
		}
		if got := localize(langEn, m.status, m.message); got != m.message {
			t.Errorf("English %q became %q", m.message, got)
		}
	}
}

func TestReplyLanguage(t *testing.T) {
	for tag, want := range map[string]string{"ja": langJa, "ja-JP": langJa, "JA-jp": langJa, "en": langEn,
		"en-US": langEn, "jam": langEn, "": langEn, "fr": langEn} {
		if got := replyLanguage(tag); got != want {
			t.Errorf("replyLanguage(%q) = %q, want %q", tag, got, want)
		}
	}
}

func TestJobStateMessage(t *testing.T) {
	tests := []struct {
		job  Job
		lang string
		want string
	}{
		{Job{State: JobHeld, Reasons: []string{"job-hold-until-specified"}}, langJa, "保留中：プリンターでリリースすると印刷されます"},
		{Job{State: JobAborted, Reasons: []string{"document-missing"}}, langJa, "中止：保存前に文書が失われました"},
		{Job{State: JobCompleted, Reasons: []string{"something-new"}}, langJa, "印刷済み"},
		{Job{State: JobHeld, Message: "Waiting for release."}, langEn, "Waiting for release."},
		{Job{State: JobHeld}, langEn, "pending-held"},
	}
	for _, tt := range tests {
		if got := jobStateMessage(tt.job, tt.lang); got != tt.want {
			t.Errorf("jobStateMessage(%v, %s) = %q, want %q", tt.job.State, tt.lang, got, tt.want)
		}
	}
	for st := JobPending; st <= JobCompleted; st++ {
		if !hasJapanese(jobStateMessage(Job{State: st}, langJa)) {
			t.Errorf("state %s has no Japanese", st)
		}
	}
}

func hasJapanese(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool {
		return unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Han)
	}) >= 0
}

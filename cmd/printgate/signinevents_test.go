package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/printgate/printgate/audit"
)

// callLang is releaseEnv.call with an Accept-Language header.
func (e *releaseEnv) callLang(device, lang, path string, body any) (int, map[string]any) {
	e.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, "http://"+e.srv.Addr+"/api/v1"+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.devices[device])
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		e.t.Fatalf("HTTP %d, not JSON: %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// signInEvent is a sign-in's audit event as stored.
type signInEvent struct {
	Type, Owner, Reason, Details, Device, Method string
}

func (e *releaseEnv) signInEvents() []signInEvent {
	e.t.Helper()
	var rows []signInEvent
	openTestDB(e.t, e.srv).Raw(`SELECT type, COALESCE(owner, '') AS owner, COALESCE(reason, '') AS reason,
		COALESCE(details, '') AS details, COALESCE(device, '') AS device, COALESCE(method, '') AS method
		FROM audit_events WHERE type IN (?, ?, ?, ?, ?) ORDER BY seq`,
		audit.EventLoginFailed, audit.EventUserLocked, audit.EventUserUnlocked, audit.EventConfigChanged, audit.EventSignedIn).Scan(&rows)
	return rows
}

// TestSignInLanguageAndEvents: the release API answers a wrong PIN with a
// stable code and a message in the language asked for; failed sign-ins
// record the account tried (an unknown one only keyed, for it may be a
// password typed in the wrong field); the PIN that locks bob is a
// user-locked event, and the administrator's unlock a user-unlocked one;
// his sign-in after it is a signed-in event naming the device and the
// method, and nothing he typed.
func TestSignInLanguageAndEvents(t *testing.T) {
	e := newReleaseEnv(t, "", nil)
	wrong := map[string]string{"user": "bob", "pin": "9753"}
	for _, tc := range []struct{ lang, code, message string }{
		{"ja", "not-recognised", "認証できませんでした。カードまたは PIN を確かめて、もう一度お試しください。"},
		{"ja-JP,ja;q=0.9,en-US;q=0.8", "not-recognised", "認証できませんでした。カードまたは PIN を確かめて、もう一度お試しください。"},
		{"en-US", "not-recognised", "Not recognised. Check your card or PIN and try again."},
	} {
		code, out := e.callLang("mfp1", tc.lang, "/release/sessions", wrong)
		if code != http.StatusUnauthorized || out["error"] != tc.code || out["message"] != tc.message {
			t.Errorf("wrong PIN, Accept-Language %s: HTTP %d %v, want 401 %s %q", tc.lang, code, out, tc.code, tc.message)
		}
	}
	const typed = "Hunter2-typed-in-the-user-field"
	if code, out := e.callLang("mfp2", "ja", "/release/sessions", map[string]string{"user": typed, "pin": "1234"}); code != http.StatusUnauthorized {
		t.Errorf("unknown account: HTTP %d %v", code, out)
	}
	// Policy: the fifth wrong PIN in a row locks, and says so.
	var last map[string]any
	for range 2 {
		_, last = e.callLang("mfp2", "ja", "/release/sessions", wrong)
	}
	if last["error"] != "locked" || !strings.Contains(last["message"].(string), "ロック") {
		t.Errorf("the PIN that locks: %v, want error locked with a Japanese message", last)
	}
	runCLI(t, e.cfg, "", "user", "unlock", "bob")
	e.login("mfp1", map[string]string{"user": "bob", "pin": "4821"})

	events := e.signInEvents()
	var types []string
	for _, ev := range events {
		types = append(types, ev.Type+":"+ev.Owner)
	}
	want := []string{"login-failed:bob", "login-failed:bob", "login-failed:bob", "login-failed:",
		"login-failed:bob", "login-failed:bob", "user-locked:bob", "user-unlocked:bob", "signed-in:bob"}
	if strings.Join(types, " ") != strings.Join(want, " ") {
		t.Fatalf("events %v, want %v", types, want)
	}
	for i, ev := range events[:6] {
		d := map[string]string{}
		_ = json.Unmarshal([]byte(ev.Details), &d)
		switch {
		case i == 3 && !strings.HasPrefix(d["account"], audit.KeyedNamePrefix):
			t.Errorf("unknown account recorded as %q, want its keyed form", d["account"])
		case i != 3 && d["account"] != "bob":
			t.Errorf("event %d: account %q, want bob", i, d["account"])
		}
	}
	if in := events[len(events)-1]; in.Device != "mfp1" || in.Method != audit.MethodIDPIN || in.Details != "" {
		t.Errorf("bob's sign-in recorded as %+v, want at mfp1 by id+pin, without details", in)
	}
	for _, secret := range []string{typed, "4821"} {
		var clear int
		openTestDB(t, e.srv).Raw(`SELECT count(*) FROM audit_events WHERE details LIKE ? OR reason LIKE ? OR owner LIKE ?`,
			"%"+secret+"%", "%"+secret+"%", "%"+secret+"%").Scan(&clear)
		if clear != 0 {
			t.Errorf("%q is in the audit trail in clear (%d events)", secret, clear)
		}
	}
}

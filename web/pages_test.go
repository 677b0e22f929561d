package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release/credential"
	"github.com/printgate/printgate/release/directory"
)

// post sends a console form as the holder of cookie, in English.
func (e *env) post(t *testing.T, cookie, path string, form url.Values) (int, string, string) {
	t.Helper()
	w := e.do(t, request{method: http.MethodPost, path: path, cookie: cookie, form: form,
		header: map[string]string{"Accept-Language": "en"}})
	return w.Code, w.Header().Get("Location"), w.Body.String()
}

func (e *env) page(t *testing.T, cookie, path string) string {
	t.Helper()
	w := e.do(t, request{method: http.MethodGet, path: path, cookie: cookie, header: map[string]string{"Accept-Language": "en"}})
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: %d", path, w.Code)
	}
	return w.Body.String()
}

func TestMyPIN(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db, nil)
		cookie := e.signIn(t, userName)
		cases := []struct {
			name      string
			pin, pin2 string
			status    int
			message   string
		}{
			{"mismatch", "4821", "4822", http.StatusBadRequest, "The two PINs differ"},
			{"too short", "12", "12", http.StatusBadRequest, "must be 4 to 8 digits"},
			{"letters", "48a1", "48a1", http.StatusBadRequest, "must be 4 to 8 digits"},
			{"weak", "1234", "1234", http.StatusBadRequest, "too easy to guess"},
			{"good", "4821", "4821", http.StatusSeeOther, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				status, loc, body := e.post(t, cookie, "/my/pin", url.Values{"pin": {tc.pin}, "pin2": {tc.pin2}})
				if status != tc.status || !strings.Contains(body, tc.message) {
					t.Fatalf("status %d, body %.400s; want %d with %q", status, body, tc.status, tc.message)
				}
				if strings.Contains(body, `value="`+tc.pin+`"`) {
					t.Fatal("the PIN is echoed back in the form")
				}
				if status == http.StatusSeeOther && loc != "/my?ok=pin_set" {
					t.Fatalf("redirect to %q", loc)
				}
			})
		}
		if err := e.creds.CheckPIN(t.Context(), userName, "4821", "test"); err != nil {
			t.Fatalf("CheckPIN after setting it: %v", err)
		}
		// Bound to alice's account: another account of her name has none.
		other := credential.Account{Name: userName, ID: "another account"}
		if st, err := e.creds.AccountPINStatus(t.Context(), other); err != nil || st.Set {
			t.Fatalf("a later account of the name has the PIN: %+v, %v", st, err)
		}
		if body := e.page(t, cookie, "/my?ok=pin_set"); !strings.Contains(body, "Your PIN has been set") ||
			!strings.Contains(body, "You have a PIN.") {
			t.Fatalf("My page after setting the PIN: %.1000s", body)
		}
		if got := e.audit.names(); !slices.Equal(got, []string{ActionSetPIN + " alice→alice"}) {
			t.Fatalf("recorded %v; want one PIN set", got)
		}
		// A PIN of a former account of her name is not hers to see as set.
		if err := e.creds.SetAccountPIN(t.Context(), other, "7315", nil); err != nil {
			t.Fatal(err)
		}
		if body := e.page(t, cookie, "/my"); strings.Contains(body, "You have a PIN.") {
			t.Fatal("My page shows a former account's PIN as alice's")
		}
		if status, _, _ := e.post(t, cookie, "/my/pin", url.Values{"pin": {"4821"}, "pin2": {"4821"}}); status != http.StatusSeeOther {
			t.Fatalf("setting her PIN again: %d", status)
		}

		// A session signed in longer ago than the window (one left open
		// on a PC) sets no PIN; a fresh sign-in does.
		e.clock.Advance(pinSignInWindow + time.Minute)
		e.page(t, cookie, "/my") // still a live session
		status, _, body := e.post(t, cookie, "/my/pin", url.Values{"pin": {"5937"}, "pin2": {"5937"}})
		if status != http.StatusForbidden || !strings.Contains(body, "sign out and sign in again") {
			t.Fatalf("setting the PIN %v after signing in: status %d, body %.400s; want 403 asking to sign in again",
				pinSignInWindow+time.Minute, status, body)
		}
		if err := e.creds.CheckPIN(t.Context(), userName, "5937", "test"); err == nil {
			t.Fatal("the PIN set from an old session works")
		}
		fresh := e.signIn(t, userName)
		if status, _, _ := e.post(t, fresh, "/my/pin", url.Values{"pin": {"5937"}, "pin2": {"5937"}}); status != http.StatusSeeOther {
			t.Fatalf("setting the PIN just after signing in again: %d", status)
		}
	})
}

func TestMyPageSections(t *testing.T) {
	submitted := time.Date(2026, 4, 1, 8, 30, 0, 0, time.UTC)
	jobs := &heldJobs{jobs: map[string][]HeldJob{userName: {
		{ID: 42, Name: "payroll.pdf", Queue: "secure", Pages: 3, Copies: 2, SubmittedAt: submitted, ExpiresAt: submitted.Add(24 * time.Hour)},
	}}}
	hist := &record{rows: []audit.JobRecord{
		{JobID: 7, JobInfo: audit.JobInfo{Owner: userName, DocumentName: "minutes.pdf", Queue: "secure", Pages: 4, Copies: 1, Submitted: submitted}, Device: "mfp-2f", Outcome: "printed"},
		{JobID: 8, JobInfo: audit.JobInfo{Owner: adminName, DocumentName: "someone-elses.pdf"}, Outcome: "printed"},
	}}
	e := newEnv(t, openDB(t, database.SQLite), func(o *Options) { o.Jobs, o.History = jobs, hist })
	cookie := e.signIn(t, userName)
	if err := e.creds.AddCard(t.Context(), userName, "04A1B2C3", nil); err != nil {
		t.Fatal(err)
	}
	body := e.page(t, cookie, "/my")
	for _, want := range []string{"payroll.pdf", "3 pages × 2", "minutes.pdf", "printed", "mfp-2f",
		"2026-04-01 17:30 JST"} {
		if !strings.Contains(body, want) {
			t.Errorf("My page lacks %q", want)
		}
	}
	if strings.Contains(body, "someone-elses.pdf") || strings.Contains(body, "04A1B2C3") {
		t.Error("My page shows another user's job or a card UID")
	}

	t.Run("cancel a job", func(t *testing.T) {
		if status, loc, _ := e.post(t, cookie, "/my/jobs/cancel", url.Values{"job": {"42"}}); status != http.StatusSeeOther ||
			loc != "/my?ok=job_canceled" {
			t.Fatalf("cancel: %d to %q", status, loc)
		}
		if status, _, _ := e.post(t, cookie, "/my/jobs/cancel", url.Values{"job": {"42"}}); status != http.StatusNotFound {
			t.Fatalf("cancel again: %d; want 404", status)
		}
	})

	t.Run("remove a card", func(t *testing.T) {
		cards, err := e.creds.Cards(t.Context(), userName)
		if err != nil || len(cards) != 1 {
			t.Fatalf("cards %v, %v", cards, err)
		}
		status, _, _ := e.post(t, cookie, "/my/cards/remove", url.Values{"card": {cards[0].Fingerprint}})
		if status != http.StatusSeeOther {
			t.Fatalf("remove: %d", status)
		}
		if cards, _ := e.creds.Cards(t.Context(), userName); len(cards) != 0 {
			t.Fatalf("card still there: %v", cards)
		}
	})

	t.Run("a name given again", func(t *testing.T) {
		// kenji's account is made now: the jobs and history his name had
		// before (a leaver's) are not his.
		const newcomer = "kenji"
		if err := e.dir.AddUser(t.Context(), directory.User{Name: newcomer, Role: directory.RoleUser}, testPassword, nil); err != nil {
			t.Fatal(err)
		}
		before, after := time.Now().Add(-2*directory.CreatedSlack), time.Now().Add(time.Minute)
		jobs.mu.Lock()
		jobs.jobs[newcomer] = []HeldJob{{ID: 50, Name: "leavers-payslip.pdf", Queue: "secure", SubmittedAt: before},
			{ID: 51, Name: "newcomers-memo.pdf", Queue: "secure", SubmittedAt: after}}
		jobs.mu.Unlock()
		hist.mu.Lock()
		hist.rows = append(hist.rows,
			audit.JobRecord{JobID: 60, JobInfo: audit.JobInfo{Owner: newcomer, DocumentName: "leavers-bonus.pdf", Submitted: before}, Outcome: "printed"},
			audit.JobRecord{JobID: 61, JobInfo: audit.JobInfo{Owner: newcomer, DocumentName: "newcomers-notes.pdf", Submitted: after}, Outcome: "printed"})
		hist.mu.Unlock()
		body := e.page(t, e.signIn(t, newcomer), "/my")
		for _, want := range []string{"newcomers-memo.pdf", "newcomers-notes.pdf"} {
			if !strings.Contains(body, want) {
				t.Errorf("the newcomer's My page lacks %q", want)
			}
		}
		for _, leaver := range []string{"leavers-payslip.pdf", "leavers-bonus.pdf"} {
			if strings.Contains(body, leaver) {
				t.Errorf("the newcomer's My page shows %q, from before the account was made", leaver)
			}
		}
		cookie := e.signIn(t, newcomer)
		if status, _, _ := e.post(t, cookie, "/my/jobs/cancel", url.Values{"job": {"50"}}); status != http.StatusNotFound {
			t.Errorf("the newcomer canceling the leaver's job: %d, want 404", status)
		}
		if status, _, _ := e.post(t, cookie, "/my/jobs/cancel", url.Values{"job": {"51"}}); status != http.StatusSeeOther {
			t.Errorf("the newcomer canceling his own job: %d, want 303", status)
		}
		jobs.mu.Lock()
		left := jobs.jobs[newcomer]
		jobs.mu.Unlock()
		if len(left) != 1 || left[0].ID != 50 {
			t.Errorf("held after the cancels: %+v, want the leaver's job 50 alone", left)
		}
	})

	t.Run("a former account's card", func(t *testing.T) {
		// A leaver's card, bound to the account that had alice's name
		// before her: not hers to see or remove.
		former := credential.Account{Name: userName, ID: "a former account"}
		if err := e.creds.EnrolCard(t.Context(), former, "04D1E2F3", nil); err != nil {
			t.Fatal(err)
		}
		fp, err := e.creds.Fingerprint("04D1E2F3")
		if err != nil {
			t.Fatal(err)
		}
		if body := e.page(t, cookie, "/my"); strings.Contains(body, fp) {
			t.Fatal("My page lists a former account's card as alice's")
		}
		if status, _, _ := e.post(t, cookie, "/my/cards/remove", url.Values{"card": {fp}}); status != http.StatusNotFound {
			t.Fatalf("removing a former account's card: %d; want 404", status)
		}
		if cards, _ := e.creds.Cards(t.Context(), userName); len(cards) != 1 || cards[0].Fingerprint != fp {
			t.Fatalf("cards under the name after the refused removal: %v", cards)
		}
	})

	t.Run("sources not wired", func(t *testing.T) {
		bare := newEnv(t, openDB(t, database.SQLite), nil)
		body := bare.page(t, bare.signIn(t, userName), "/my")
		if strings.Count(body, "Not available on this server.") != 2 {
			t.Errorf("My page without jobs and history: %.2000s", body)
		}
		// A missing source must read as unavailable, never as a stub.
		if stub := "not " + "implemented"; strings.Contains(strings.ToLower(body), stub) {
			t.Errorf("the page says %q", stub)
		}
	})
}

func TestAdminUsers(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db, nil)
		admin := e.signIn(t, adminName)
		ctx := t.Context()
		if err := e.creds.SetPIN(ctx, userName, "4821", nil); err != nil {
			t.Fatal(err)
		}
		for range credential.DefaultPolicy().MaxFailures {
			_ = e.creds.CheckPIN(ctx, userName, "0000", "mfp")
		}
		body := e.page(t, admin, "/admin/users?user=alice")
		if !strings.Contains(body, "locked until") || !strings.Contains(body, "Lift lock") {
			t.Fatalf("users page for a locked user: %.2000s", body)
		}

		steps := []struct {
			name   string
			path   string
			form   url.Values
			status int
			check  func() error
		}{
			{"unlock", "/admin/users/unlock", url.Values{"name": {"ALICE"}}, http.StatusSeeOther, func() error {
				st, err := e.creds.PINStatus(ctx, userName)
				if err == nil && st.Locked() {
					err = errors.New("still locked")
				}
				return err
			}},
			{"add card", "/admin/users/cards/add", url.Values{"name": {userName}, "uid": {"04:a1:b2:c3"}}, http.StatusSeeOther, func() error {
				if _, err := e.creds.LookupCard(ctx, "04A1B2C3"); err != nil {
					return err
				}
				// Recorded with the card's fingerprint, as the command
				// line's card add is, bound to the user's account.
				fp, _ := e.creds.Fingerprint("04A1B2C3")
				if last := e.audit.last(); last.Name != ActionAddCard || last.Detail != fp || fp == "" {
					return fmt.Errorf("recorded %+v; want card-added with fingerprint %s", last, fp)
				}
				holder, err := e.creds.CardHolder(ctx, "04A1B2C3")
				id, _ := e.dir.Lookup(ctx, userName)
				if err == nil && (holder.ID == "" || holder.ID != id.AccountID) {
					err = fmt.Errorf("card bound to %q; want alice's account %q", holder.ID, id.AccountID)
				}
				return err
			}},
			{"add bad card", "/admin/users/cards/add", url.Values{"name": {userName}, "uid": {"xyz"}}, http.StatusBadRequest, nil},
			{"add card in use", "/admin/users/cards/add", url.Values{"name": {adminName}, "uid": {"04A1B2C3"}}, http.StatusConflict, nil},
			{"card for nobody", "/admin/users/cards/add", url.Values{"name": {"ghost"}, "uid": {"04A1B2C4"}}, http.StatusNotFound, nil},
			{"reset PIN", "/admin/users/pin/reset", url.Values{"name": {userName}}, http.StatusSeeOther, func() error {
				st, err := e.creds.PINStatus(ctx, userName)
				if err == nil && st.Set {
					err = errors.New("PIN still set")
				}
				return err
			}},
			{"reset PIN again", "/admin/users/pin/reset", url.Values{"name": {userName}}, http.StatusNotFound, nil},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				status, loc, body := e.post(t, admin, st.path, st.form)
				if status != st.status {
					t.Fatalf("status %d (to %q); want %d: %.500s", status, loc, st.status, body)
				}
				if st.check != nil {
					if err := st.check(); err != nil {
						t.Fatal(err)
					}
				}
			})
		}
		cards, _ := e.creds.Cards(ctx, userName)
		status, _, _ := e.post(t, admin, "/admin/users/cards/remove", url.Values{"name": {userName}, "card": {cards[0].Fingerprint}})
		if status != http.StatusSeeOther {
			t.Fatalf("remove card: %d", status)
		}
		// Each change is recorded in its own transaction; the refused
		// attempts (card in use, no PIN) changed nothing and record
		// nothing.
		want := []string{"user-unlocked adam→alice", "card-added adam→alice",
			"pin-reset adam→alice", "card-removed adam→alice"}
		if got := e.audit.names(); !slices.Equal(got, want) {
			t.Errorf("recorded %v; want %v", got, want)
		}
		// The card UID went nowhere but the credential store.
		for _, a := range e.audit.actions {
			if strings.Contains(strings.ToUpper(a.Detail), "04A1B2C3") {
				t.Errorf("action %+v holds the card UID", a)
			}
		}
	})
}

func TestAuditFailureStopsAction(t *testing.T) {
	e := newEnv(t, openDB(t, database.SQLite), nil)
	cookie := e.signIn(t, userName)
	e.audit.fail = true
	// A sign-in that cannot be recorded starts no session.
	w := e.do(t, request{method: http.MethodPost, path: "/signin",
		form: url.Values{"name": {userName}, "password": {testPassword}}})
	if w.Code != http.StatusInternalServerError || sessionCookie(w) != nil {
		t.Fatalf("sign-in without its record: %d, cookie %v; want 500 and none", w.Code, sessionCookie(w))
	}
	status, _, body := e.post(t, cookie, "/my/pin", url.Values{"pin": {"4821"}, "pin2": {"4821"}})
	if status != http.StatusInternalServerError || strings.Contains(body, "disk full") {
		t.Fatalf("status %d, body %.300s; want 500 without the internal error", status, body)
	}
	if st, _ := e.creds.PINStatus(t.Context(), userName); st.Set {
		t.Fatal("the PIN was set though its audit record failed")
	}
}

func TestDashboard(t *testing.T) {
	e := newEnv(t, openDB(t, database.SQLite), func(o *Options) {
		o.History = &record{summary: Summary{Jobs: 12, Pages: 345, HeldNow: 6, Failures: 1, ExpiringSoon: 2}}
	})
	body := e.page(t, e.signIn(t, auditorName), "/admin")
	for _, want := range []string{"345", "Wed 1 Apr 2026", "Expiring within an hour"} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	// Auditors see the users page without the forms that change things.
	body = e.page(t, e.signIn(t, auditorName), "/admin/users?user=alice")
	if strings.Contains(body, `action="/admin/users/`) {
		t.Error("the auditor's users page has admin forms")
	}
}

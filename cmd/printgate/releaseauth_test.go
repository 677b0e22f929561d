package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// TestReleaseAuthorization walks the refusals of the release API. Each row
// signs in afresh, so rows hold in any order or alone; the server runs on
// a clock the expired-session row moves past the idle timeout.
func TestReleaseAuthorization(t *testing.T) {
	clock := testenv.NewClockAt(time.Now())
	e := newReleaseEnv(t, "", nil, func(a *app) { a.now = clock.Now })
	e.addDeviceLive("cardonly", "card")
	e.addDeviceLive("off", "card,id+pin")
	runCLI(t, e.cfg, "", "device", "disable", "off")
	runCLI(t, e.cfg, "carol-secret\n", "user", "add", "carol")
	bobJob := e.submit("bob", testdocs.PDF(1, "bob", testdocs.A4))
	carolJob := e.submit("carol", testdocs.PDF(1, "carol", testdocs.A4))
	// The path of a row names its session as SESSION.
	jobPath := func(id int64) string { return fmt.Sprintf("/release/sessions/SESSION/jobs/%d", id) }

	cases := []struct {
		name   string
		device string
		method string
		path   string
		body   any
		before func(session string)
		want   int
	}{
		{name: "wrong device token", device: "pgd_NOTATOKEN", method: "POST", path: "/release/sessions",
			body: map[string]string{"card": "04A1B2C3"}, want: 401},
		{name: "no device token", device: "", method: "GET", path: "/release/sessions/SESSION/jobs", want: 401},
		{name: "disabled device", device: "off", method: "POST", path: "/release/sessions",
			body: map[string]string{"card": "04A1B2C3"}, want: 403},
		{name: "method not allowed here", device: "cardonly", method: "POST", path: "/release/sessions",
			body: map[string]string{"user": "bob", "pin": "4821"}, want: 403},
		{name: "wrong PIN", device: "mfp1", method: "POST", path: "/release/sessions",
			body: map[string]string{"user": "bob", "pin": "9753"}, want: 401},
		{name: "unknown card", device: "mfp1", method: "POST", path: "/release/sessions",
			body: map[string]string{"card": "DEADBEEF"}, want: 401},
		{name: "malformed body", device: "mfp1", method: "POST", path: "/release/sessions",
			body: map[string]any{"card": 12}, want: 400},
		{name: "own job", device: "mfp1", method: "GET", path: jobPath(bobJob), want: 200},
		{name: "other user's job", device: "mfp1", method: "GET", path: jobPath(carolJob), want: 404},
		{name: "missing job", device: "mfp1", method: "GET", path: jobPath(999999), want: 404},
		{name: "release other user's job", device: "mfp1", method: "POST", path: "/release/sessions/SESSION/release",
			body: map[string]any{"jobs": []int64{carolJob}}, want: 404},
		{name: "delete other user's job", device: "mfp1", method: "DELETE", path: jobPath(carolJob), want: 404},
		{name: "session used from another device", device: "mfp2", method: "GET", path: "/release/sessions/SESSION/jobs", want: 401},
		{name: "session used just within the idle timeout", device: "mfp1", method: "GET", path: "/release/sessions/SESSION/jobs",
			before: func(string) { clock.Advance(e.cfg.Release.SessionIdle) }, want: 200},
		{name: "expired session", device: "mfp1", method: "GET", path: "/release/sessions/SESSION/jobs",
			before: func(string) { clock.Advance(e.cfg.Release.SessionIdle + time.Second) }, want: 401},
		{name: "logged-out session", device: "mfp1", method: "GET", path: "/release/sessions/SESSION/jobs",
			before: func(sess string) { e.call("mfp1", "DELETE", "/release/sessions/"+sess, nil) }, want: 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sess := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
			if tc.before != nil {
				tc.before(sess)
			}
			code, out := e.call(tc.device, tc.method, strings.ReplaceAll(tc.path, "SESSION", sess), tc.body)
			if code != tc.want {
				t.Errorf("HTTP %d %v, want %d", code, out, tc.want)
			}
			if code >= 400 && out["error"] == "" {
				t.Error("refusal without an error message")
			}
		})
	}
	// Five wrong PINs lock bob (the table's wrong-PIN row may have made
	// a sixth); the next attempt, with the right PIN, is 423.
	for range 5 {
		e.call("mfp2", "POST", "/release/sessions", map[string]string{"user": "bob", "pin": "9753"})
	}
	if code, _ := e.call("mfp2", "POST", "/release/sessions", map[string]string{"user": "bob", "pin": "4821"}); code != http.StatusLocked {
		t.Errorf("right PIN after five wrong ones: HTTP %d, want 423", code)
	}
}

// addDeviceLive registers a device while the server runs.
func (e *releaseEnv) addDeviceLive(name, methods string, extra ...string) {
	e.addDevice(name, methods, extra...)
}

// TestExpiry: once the clock passes a queue's TTL, the sweeper expires a
// held job and destroys its document and key.
func TestExpiry(t *testing.T) {
	clock := testenv.NewClockAt(time.Now())
	e := newReleaseEnv(t, "", func(c *Config) { c.Queues[0].TTL = time.Hour }, func(a *app) { a.now = clock.Now })
	id := e.submit("bob", testdocs.PDF(1, "expire me", testdocs.A4))
	db := openTestDB(t, e.srv)
	clock.Advance(time.Hour + time.Second)
	testenv.WaitFor(t, "the sweeper to expire the job", func() bool {
		var state string
		db.Raw("SELECT state FROM jobs WHERE id = ?", id).Scan(&state)
		return state == "expired"
	})
	var row struct {
		Spool      string
		WrappedKey []byte
	}
	db.Raw("SELECT spool, k.wrapped_key FROM jobs LEFT JOIN job_keys k ON k.job_id = jobs.id WHERE id = ?", id).Scan(&row)
	if row.Spool != "" || len(row.WrappedKey) != 0 || len(e.spoolFiles()) != 0 {
		t.Errorf("expired job keeps spool %q, a %d-byte key or spool files %v", row.Spool, len(row.WrappedKey), e.spoolFiles())
	}
}

// TestSelfEnrolment: an unknown card with the right directory password is
// enrolled; with a wrong one nothing is.
func TestSelfEnrolment(t *testing.T) {
	e := newReleaseEnv(t, "", nil)
	e.addDeviceLive("kiosk", "card", "--self-enroll")
	code, _ := e.call("kiosk", "POST", "/release/sessions", map[string]string{"card": "0123456789ABCDEF", "user": "alice", "password": "wrong-secret"})
	if code != http.StatusUnauthorized {
		t.Errorf("wrong password: HTTP %d, want 401", code)
	}
	if code, _ := e.call("kiosk", "POST", "/release/sessions", map[string]string{"card": "0123456789ABCDEF"}); code != http.StatusUnauthorized {
		t.Errorf("card after a failed enrolment: HTTP %d, want 401 (not enrolled)", code)
	}
	code, out := e.call("kiosk", "POST", "/release/sessions", map[string]string{"card": "0123456789ABCDEF", "user": "alice", "password": "alice-secret"})
	if code != http.StatusCreated || out["user"] != "alice" {
		t.Fatalf("self-enrolment: HTTP %d %v", code, out)
	}
	if code, out := e.call("kiosk", "POST", "/release/sessions", map[string]string{"card": "01:23:45:67:89:ab:cd:ef"}); code != http.StatusCreated || out["user"] != "alice" {
		t.Errorf("enrolled card: HTTP %d %v", code, out)
	}
	if code, _ := e.call("mfp1", "POST", "/release/sessions", map[string]string{"card": "FEDCBA9876543210", "user": "alice", "password": "alice-secret"}); code != http.StatusUnauthorized {
		t.Errorf("self-enrolment at a device that does not allow it: HTTP %d, want 401", code)
	}
}

// TestAuditJobLife follows one job through submission, a release refused
// for the printer, a release, printing and destruction, and checks its
// events in order.
func TestAuditJobLife(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		e := newReleaseEnv(t, dbURL, askEveryTime)
		doc := testdocs.PDF(3, "audited", testdocs.A4)
		id := e.submit("bob", doc)
		sess := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
		e.printer.Stop()
		e.call("mfp1", "POST", "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id}})
		e.waitState("mfp1", sess, id, "pending-held")
		e.printer.Start()
		e.call("mfp1", "POST", "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id}})
		e.waitState("mfp1", sess, id, "completed")

		st, err := openStack(context.Background(), e.cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		events, err := st.audit.Timeline(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, ev := range events {
			types = append(types, ev.Type)
		}
		// The document is searched for individual numbers before the
		// device lists it; it holds none.
		want := []string{audit.EventSubmitted, audit.EventHeld, audit.EventSensitiveContentAbsent, audit.EventReleaseAttempt,
			audit.EventReleaseAttempt, audit.EventReleased, audit.EventPrinted, audit.EventDocumentDestroyed}
		if fmt.Sprint(types) != fmt.Sprint(want) {
			t.Fatalf("events %v\nwant   %v", types, want)
		}
		sub := events[0].Job
		if sub == nil || sub.Pages != 3 || sub.Owner != "bob" || sub.Size != int64(len(doc)) || len(sub.SHA256) != 32 {
			t.Errorf("submitted event job info: %+v", sub)
		}
		if ev := events[3]; ev.Outcome != "refused" || ev.Reason != "printer-unavailable" || ev.Device != "mfp1" ||
			ev.Details["why"] != "printer-unreachable" {
			t.Errorf("refused release-attempt event: %+v", ev)
		}
		if ev := events[4]; ev.Method != audit.MethodCard || ev.Device != "mfp1" || ev.Actor != "bob" {
			t.Errorf("release-attempt event: %+v", ev)
		}
		rec, err := st.audit.Job(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Outcome != audit.EventPrinted || rec.Device != "mfp1" || rec.Impressions != 3 || rec.DeletedAt.IsZero() {
			t.Errorf("job record: outcome %q device %q impressions %d deleted %v", rec.Outcome, rec.Device, rec.Impressions, rec.DeletedAt)
		}
		rep, err := st.audit.Verify(context.Background(), 0, 0)
		if err != nil || !rep.OK() {
			t.Errorf("chain does not verify: %+v %v", rep, err)
		}
	})
}

// TestKeepAfterPrint: a queue with a reprint window keeps a printed
// document until the window passes, then destroys it.
func TestKeepAfterPrint(t *testing.T) {
	clock := testenv.NewClockAt(time.Now())
	e := newReleaseEnv(t, "", func(c *Config) { c.Queues[0].KeepAfterPrint = time.Hour },
		func(a *app) { a.now = clock.Now })
	id := e.submit("bob", testdocs.PDF(1, "reprint window", testdocs.A4))
	sess := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
	e.call("mfp1", "POST", "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id}})
	e.waitState("mfp1", sess, id, "completed")
	if files := e.spoolFiles(); len(files) != 1 {
		t.Fatalf("right after printing the spool holds %v, want the kept document", files)
	}
	clock.Advance(time.Hour + time.Second)
	testenv.WaitFor(t, "the sweeper to drop the reprint", func() bool { return len(e.spoolFiles()) == 0 })
	st := openStackT(t, e.cfg)
	events, err := st.audit.Timeline(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if last := events[len(events)-1]; last.Type != audit.EventDocumentDestroyed || last.Reason != "reprint-window-passed" {
		t.Errorf("last event %s (%s), want document-destroyed after the reprint window", last.Type, last.Reason)
	}
}

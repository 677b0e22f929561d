package main

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release"
)

// hanakoCard is the card enrolled for hanako in ownersEnv.
const hanakoCard = "04C0FFEE01"

// ownersEnv is a release environment whose hold queue does with jobs of
// unknown owners what unknown says, with the user hanako (card
// hanakoCard) and jobs sent as "hk" made hers by an alias.
func ownersEnv(t *testing.T, unknown release.UnknownOwner) *releaseEnv {
	t.Helper()
	e := newReleaseEnv(t, "", func(c *Config) { c.Queues[0].UnknownOwner = unknown })
	runCLI(t, e.cfg, "hanako-secret\n", "user", "add", "Hanako", "--display-name", "Hanako Yamada")
	runCLI(t, e.cfg, hanakoCard+"\n", "card", "add", "hanako")
	if out := runCLI(t, e.cfg, "", "alias", "add", "HK", "hanako"); !strings.Contains(out, "hk now belong to Hanako") {
		t.Fatalf("alias add said %q", out)
	}
	return e
}

// printAs sends doc with Print-Job as user and returns the answer.
func (e *releaseEnv) printAs(queue, user string, doc []byte) *goipp.Message {
	e.t.Helper()
	uri := e.srv.PrinterURI(queue)
	return ippDo(e.t, uri, ippRequest(goipp.OpPrintJob, uri, user, nameVal("job-name", "report"), mimeVal("application/pdf")), doc)
}

// jobOwner reads who owns job id and under which name it came.
func (e *releaseEnv) jobOwner(id int64) (owner, claimed string, unknown bool) {
	e.t.Helper()
	var row struct {
		Owner        string
		ClaimedUser  string
		OwnerUnknown bool
	}
	if err := openTestDB(e.t, e.srv).Raw("SELECT owner, claimed_user, owner_unknown FROM jobs WHERE id = ?", id).
		Scan(&row).Error; err != nil {
		e.t.Fatal(err)
	}
	return row.Owner, row.ClaimedUser, row.OwnerUnknown
}

// TestOwnerMapping: jobs sent as "HANAKO", "CORP\hanako",
// "hanako@corp.example", by Create-Job and Send-Document as "Corp\Hanako",
// and under her alias all belong to the directory's Hanako, keep the
// name they came under, and are released by her card. A name nobody has
// is refused with client-error-not-authorized and a message that names it
// and says what to do, leaving no job; on a direct queue it prints,
// marked unknown.
func TestOwnerMapping(t *testing.T) {
	e := ownersEnv(t, release.RefuseUnknown)
	var ids []int64
	for i, name := range []string{"HANAKO", `CORP\hanako`, "hanako@corp.example", "hk"} {
		r := e.printAs("secure", name, testdocs.PDF(1, "owner "+strconv.Itoa(i), testdocs.A4))
		if status(r) != goipp.StatusOk {
			t.Fatalf("Print-Job as %q: %s %s", name, status(r), attrValue(r.Operation, "status-message"))
		}
		id, _ := strconv.ParseInt(attrValue(r.Job, "job-id"), 10, 64)
		if owner, claimed, unknown := e.jobOwner(id); owner != "Hanako" || claimed != name || unknown {
			t.Errorf("job sent as %q: owner %q, claimed %q, unknown %v; want Hanako, %q, false", name, owner, claimed, unknown, name)
		}
		ids = append(ids, id)
	}

	// Create-Job, then Send-Document under another spelling of her name.
	uri := e.srv.PrinterURI("secure")
	r := ippDo(t, uri, ippRequest(goipp.OpCreateJob, uri, `Corp\Hanako`, nameVal("job-name", "slip")), nil)
	if status(r) != goipp.StatusOk {
		t.Fatalf("Create-Job: %s %s", status(r), attrValue(r.Operation, "status-message"))
	}
	created, _ := strconv.Atoi(attrValue(r.Job, "job-id"))
	r = ippDo(t, uri, ippRequest(goipp.OpSendDocument, uri, "hanako@corp.example", intVal("job-id", created),
		mimeVal("application/pdf"), boolVal("last-document", true)), testdocs.PDF(1, "created", testdocs.A4))
	if status(r) != goipp.StatusOk {
		t.Fatalf("Send-Document: %s %s", status(r), attrValue(r.Operation, "status-message"))
	}
	if owner, _, _ := e.jobOwner(int64(created)); owner != "Hanako" {
		t.Errorf("Create-Job job owner %q, want Hanako", owner)
	}
	ids = append(ids, int64(created))

	sess := e.login("mfp1", map[string]string{"card": strings.ToLower(hanakoCard)})
	code, out := e.call("mfp1", http.MethodGet, "/release/sessions/"+sess+"/jobs", nil)
	if listed := jobIDs(out); code != http.StatusOK || !sameIDs(listed, ids) {
		t.Fatalf("hanako's jobs at the device: HTTP %d %v, want %v", code, listed, ids)
	}
	if code, out := e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": ids}); code != http.StatusAccepted {
		t.Fatalf("release: HTTP %d %v", code, out)
	}
	for _, id := range ids {
		e.waitState("mfp1", sess, id, "completed")
	}

	// Nobody is root: refused, with the name and what to do, and no job.
	var before int64
	db := openTestDB(t, e.srv)
	db.Raw("SELECT COUNT(*) FROM jobs").Scan(&before)
	r = e.printAs("secure", "root", testdocs.PDF(1, "lost", testdocs.A4))
	msg := attrValue(r.Operation, "status-message")
	if status(r) != goipp.StatusErrorNotAuthorized || !strings.Contains(msg, `"root"`) || !strings.Contains(msg, "printgate alias add root") {
		t.Errorf("Print-Job as root: %s %q, want client-error-not-authorized naming root and the alias command", status(r), msg)
	}
	var after int64
	db.Raw("SELECT COUNT(*) FROM jobs").Scan(&after)
	if after != before {
		t.Errorf("a refused job left %d rows", after-before)
	}
}

// sameIDs reports whether a and b hold the same IDs in any order.
func sameIDs(a, b []int64) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(id int64) bool { return !slices.Contains(b, id) })
}

// TestUnknownOwnerDirect: a direct queue prints a job whose owner nobody
// is at once, recorded under the name it came with and marked unknown.
func TestUnknownOwnerDirect(t *testing.T) {
	p := testenv.IPPEvePrinter(t)
	e := newReleaseEnv(t, "", func(c *Config) {
		c.Queues = append(c.Queues, QueueConfig{Name: "now", Mode: release.Direct, Printer: p.URI,
			UnknownOwner: release.RefuseUnknown})
	})
	r := e.printAs("now", `CORP\Root`, testdocs.PDF(1, "direct", testdocs.A4))
	if status(r) != goipp.StatusOk {
		t.Fatalf("Print-Job: %s %s", status(r), attrValue(r.Operation, "status-message"))
	}
	id, _ := strconv.ParseInt(attrValue(r.Job, "job-id"), 10, 64)
	testenv.WaitFor(t, "the printer to receive the job", func() bool { return len(p.Files()) == 1 })
	if owner, claimed, unknown := e.jobOwner(id); owner != "root" || claimed != `CORP\Root` || !unknown {
		t.Errorf("direct job: owner %q claimed %q unknown %v; want root, CORP\\Root, true", owner, claimed, unknown)
	}
	events := e.timeline(id)
	if len(events) == 0 || events[0].Type != audit.EventSubmitted || events[0].Details["owner-unknown"] != "true" {
		t.Errorf("the submission is not recorded as of an unknown owner: %+v", events)
	}
}

// TestUnknownOwnerHeld: on an unknown_owner: hold queue a job sent as a
// name nobody has is held, nobody sees it at a device, the held-jobs page
// lists it as of an unknown owner, an administrator assigns it to
// hanako (recorded: who, from whom, to whom), and hanako's card releases
// it.
func TestUnknownOwnerHeld(t *testing.T) {
	e := ownersEnv(t, release.HoldUnknown)
	r := e.printAs("secure", "root", testdocs.PDF(1, "orphan", testdocs.A4))
	if status(r) != goipp.StatusOk {
		t.Fatalf("Print-Job as root: %s %s", status(r), attrValue(r.Operation, "status-message"))
	}
	id, _ := strconv.ParseInt(attrValue(r.Job, "job-id"), 10, 64)
	if owner, _, unknown := e.jobOwner(id); owner != "root" || !unknown {
		t.Fatalf("job %d: owner %q unknown %v, want root, true", id, owner, unknown)
	}
	sess := e.login("mfp1", map[string]string{"card": hanakoCard})
	if code, out := e.call("mfp1", http.MethodGet, "/release/sessions/"+sess+"/jobs", nil); code != http.StatusOK || len(jobIDs(out)) != 0 {
		t.Fatalf("hanako sees %v before the assignment (HTTP %d)", jobIDs(out), code)
	}

	admin := signInConsole(t, e.srv, "alice", "alice-secret")
	code, body := admin.get("/admin/held")
	row := `data-job="` + strconv.FormatInt(id, 10) + `"`
	if code != http.StatusOK || !strings.Contains(body, row) || !strings.Contains(body, "unknown owner") ||
		!strings.Contains(body, `action="/admin/held/assign"`) {
		t.Fatalf("held page (HTTP %d) does not list job %d as of an unknown owner with an assign form:\n%s", code, id, body)
	}
	if code, _ := admin.post("/admin/held/assign", url.Values{"job": {strconv.FormatInt(id, 10)}, "user": {"nobody"}}); code != http.StatusBadRequest {
		t.Errorf("assign to a user nobody is: HTTP %d, want 400", code)
	}
	code, _ = admin.post("/admin/held/assign", url.Values{"job": {strconv.FormatInt(id, 10)}, "user": {"hanako"}})
	if code != http.StatusSeeOther {
		t.Fatalf("assign: HTTP %d", code)
	}
	if owner, claimed, unknown := e.jobOwner(id); owner != "Hanako" || claimed != "root" || unknown {
		t.Errorf("assigned job: owner %q claimed %q unknown %v", owner, claimed, unknown)
	}
	events := e.timeline(id)
	i := slices.IndexFunc(events, func(ev audit.Event) bool { return ev.Type == audit.EventOwnerAssigned })
	if i < 0 || events[i].Actor != "alice" || events[i].Details["from"] != "root" || events[i].Details["to"] != "Hanako" {
		t.Errorf("no owner-assigned event by alice from root to Hanako in %+v", events)
	}
	if code, _ := admin.post("/admin/held/assign", url.Values{"job": {strconv.FormatInt(id, 10)}, "user": {"bob"}}); code != http.StatusNotFound {
		t.Errorf("assigning a job whose owner is known: HTTP %d, want 404", code)
	}

	code, out := e.call("mfp1", http.MethodGet, "/release/sessions/"+sess+"/jobs", nil)
	if code != http.StatusOK || !slices.Contains(jobIDs(out), id) {
		t.Fatalf("hanako's jobs after the assignment: HTTP %d %v, want %d", code, jobIDs(out), id)
	}
	if code, out := e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release", map[string]any{"jobs": []int64{id}}); code != http.StatusAccepted {
		t.Fatalf("release: HTTP %d %v", code, out)
	}
	e.waitState("mfp1", sess, id, "completed")
	rec, err := openStackT(t, e.cfg).audit.Job(t.Context(), id)
	if err != nil || rec.Owner != "Hanako" {
		t.Errorf("the job's record: owner %q (%v), want Hanako", rec.Owner, err)
	}
	// The record, its owner changed by the assignment, still checks
	// against the chain.
	if out, err := tryCLI(t, e.cfg, "", "audit", "verify"); err != nil || !strings.Contains(out, "OK: ") {
		t.Errorf("audit verify after the assignment: %v\n%s", err, out)
	}
}

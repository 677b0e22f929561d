package release

import (
	"bytes"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release/directory"
)

// TestLeaverJobsPrivateOverIPP: signed in over IPP with the login the
// former bob left, the new bob sees the former bob's held job as
// another user's (no job-name), in Get-Jobs and Get-Job-Attributes, and
// not at all among his own (my-jobs); his own job he sees whole.
func TestLeaverJobsPrivateOverIPP(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		if err := directory.Migrate(t.Context(), db); err != nil {
			t.Fatal(err)
		}
		dir := directory.NewBuiltin(db, testHasherFor(t))
		svc, _ := startService(t, db, Options{Directory: dir, Queues: []Queue{
			{Name: "secure", Mode: Hold, Auth: AuthBasic, AllowPlaintextBasic: true}}})
		hireBob(t, dir, nil)
		hireBob(t, dir, nil)
		now := svc.now()
		former := Job{Queue: "secure", Owner: "bob", Name: "payslip of the former bob", State: StateHeld,
			Spool: "doc-former", CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour)}
		own := Job{Queue: "secure", Owner: "bob", Name: "welcome pack", State: StateHeld,
			Spool: "doc-own", CreatedAt: now, UpdatedAt: now}
		for _, j := range []*Job{&former, &own} {
			if err := db.Create(j).Error; err != nil {
				t.Fatal(err)
			}
		}
		srv := httptest.NewServer(ipp.NewServer(svc.IPP(), nil))
		t.Cleanup(srv.Close)
		// names asks as bob and returns the job-name each job listed
		// shows, "" where none.
		names := func(op goipp.Op, attrs ...goipp.Attribute) map[int]string {
			t.Helper()
			m := goipp.NewRequest(goipp.MakeVersion(2, 0), op, 1)
			m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
			m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
			m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI,
				goipp.String("ipp"+srv.URL[len("http"):]+ipp.PathPrefix+"secure")))
			m.Operation = append(m.Operation, attrs...)
			m.Operation.Add(goipp.MakeAttr("requested-attributes", goipp.TagKeyword, goipp.String("job-id"),
				goipp.String("job-name")))
			body, err := m.EncodeBytes()
			if err != nil {
				t.Fatal(err)
			}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+ipp.PathPrefix+"secure",
				bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", goipp.ContentType)
			req.SetBasicAuth("bob", "bob-secret-1")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var reply goipp.Message
			if err := reply.Decode(res.Body); err != nil || goipp.Status(reply.Code) != goipp.StatusOk {
				t.Fatalf("%s: HTTP %s, IPP %v, %v", op, res.Status, goipp.Status(reply.Code), err)
			}
			out := map[int]string{}
			for _, g := range reply.Groups {
				if g.Tag != goipp.TagJobGroup {
					continue
				}
				id, name := 0, ""
				for _, a := range g.Attrs {
					switch a.Name {
					case "job-id":
						id = int(a.Values[0].V.(goipp.Integer))
					case "job-name":
						name = a.Values[0].V.String()
					}
				}
				out[id] = name
			}
			return out
		}
		f, o := int(former.ID), int(own.ID)
		if got := names(goipp.OpGetJobs); got[f] != "" || got[o] != own.Name || len(got) != 2 {
			t.Errorf("Get-Jobs as the new bob: %v; want %d listed without its name, %d as %q", got, f, o, own.Name)
		}
		mine := names(goipp.OpGetJobs, goipp.MakeAttribute("my-jobs", goipp.TagBoolean, goipp.Boolean(true)))
		if ids := slices.Sorted(maps.Keys(mine)); !slices.Equal(ids, []int{o}) {
			t.Errorf("Get-Jobs my-jobs as the new bob lists %v, want only %d", ids, o)
		}
		for id, want := range map[int]string{f: "", o: own.Name} {
			got := names(goipp.OpGetJobAttributes, goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(id)))
			if got[id] != want {
				t.Errorf("Get-Job-Attributes of job %d as the new bob: name %q, want %q", id, got[id], want)
			}
		}
	})
}

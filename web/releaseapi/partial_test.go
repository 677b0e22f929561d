package releaseapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// TestReleaseFailsPartWay: a release of bob's jobs A and B in which B
// fails for a fault of the server's after A was claimed. A prints
// whatever happens to B, so the answer is 202 with A releasing and B
// reported with the problem server-error, never an error status that
// would tell the person at the panel that nothing prints. B fails by a
// real database error (an SQLite trigger) at each step of its release.
func TestReleaseFailsPartWay(t *testing.T) {
	tests := []struct {
		name string
		// trigger makes B's step fail, given A's and B's IDs.
		trigger string
		pin     bool // B has a job PIN, sent with the release
	}{
		{name: "claim", trigger: `CREATE TRIGGER fail_b BEFORE UPDATE ON jobs
			WHEN OLD.id = %[2]d AND NEW.state = 'releasing'
			BEGIN SELECT RAISE(ABORT, 'test: the claim of B fails'); END`},
		{name: "job PIN count", pin: true, trigger: `CREATE TRIGGER fail_b BEFORE UPDATE ON jobs
			WHEN OLD.id = %[2]d AND NEW.pin_failures <> OLD.pin_failures
			BEGIN SELECT RAISE(ABORT, 'test: counting the job PIN of B fails'); END`},
		// B is claimed elsewhere, and moved out of bob's reach, as A is
		// claimed: reading B again after its lost claim finds nothing.
		{name: "read after a lost claim", trigger: `CREATE TRIGGER fail_b AFTER UPDATE ON jobs
			WHEN NEW.id = %[1]d AND NEW.state = 'releasing' AND OLD.state <> 'releasing'
			BEGIN UPDATE jobs SET state = 'releasing', owner = 'carol' WHERE id = %[2]d; END`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			printer := testenv.NewSocketPrinter(t)
			fx := newFixtureAt(t, printer.URI())
			if err := fx.svc.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			docA, docB := testdocs.PDF(1, "job A", testdocs.A4), testdocs.PDF(1, "job B", testdocs.A4)
			a := submit(t, fx, "a", docA, "")
			pin := ""
			if tt.pin {
				pin = "7391"
			}
			b := submit(t, fx, "b", docB, pin)
			if err := fx.db.Exec(fmt.Sprintf(tt.trigger, a, b)).Error; err != nil {
				t.Fatal(err)
			}

			body := map[string]any{"jobs": []int64{a, b}}
			if tt.pin {
				body["job_pins"] = map[string]string{strconv.FormatInt(b, 10): pin}
			}
			raw, _ := json.Marshal(body)
			code, reply := fx.do(http.MethodPost, "/api/v1/release/sessions/"+fx.session+"/release", raw)
			var out struct {
				Jobs []struct {
					ID             int64
					State, Problem string
				}
			}
			if code != http.StatusAccepted || json.Unmarshal(reply, &out) != nil {
				t.Fatalf("release: HTTP %d %s, want 202 (job A prints)", code, reply)
			}
			got := map[int64]string{}
			for _, j := range out.Jobs {
				got[j.ID] = j.State + "/" + j.Problem
			}
			if got[a] != "releasing/" || len(out.Jobs) != 2 || out.Jobs[1].ID != b || out.Jobs[1].Problem != "server-error" {
				t.Fatalf("release answered %s; want A releasing, B with the problem server-error", reply)
			}

			testenv.WaitFor(t, "job A to print", func() bool {
				code, reply := fx.do(http.MethodGet, "/api/v1/release/sessions/"+fx.session+"/jobs/"+strconv.FormatInt(a, 10), nil)
				return code == http.StatusOK && bytes.Contains(reply, []byte(`"state":"completed"`))
			})
			printer.Await(t, 2) // the printer's check, then A
			var gotA, gotB int
			for _, conn := range printer.Received() {
				if bytes.Equal(conn, docA) {
					gotA++
				}
				if bytes.Equal(conn, docB) {
					gotB++
				}
			}
			if gotA != 1 || gotB != 0 {
				t.Errorf("the printer got A %d times and B %d times, want A once", gotA, gotB)
			}
		})
	}
}

// submit holds doc for bob as job name, with a job PIN unless pin is "".
func submit(t *testing.T, fx *apiFixture, name string, doc []byte, pin string) int64 {
	t.Helper()
	req := ipp.JobRequest{Queue: "secure", User: "bob", Name: name, Copies: 1,
		Document: ipp.DocumentInfo{Format: "application/pdf"}}
	if pin != "" {
		req.Password = []byte(pin)
	}
	j, err := fx.svc.IPP().PrintJob(t.Context(), req, bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	return int64(j.ID)
}

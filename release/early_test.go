package release

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
)

// headStartService holds one job of hanako's, a socket printer for each of
// two devices, and returns them.
func headStartService(t *testing.T) (*Service, int64, []byte, [2]Device, [2]*testenv.SocketPrinter) {
	t.Helper()
	svc, _ := startService(t, openSQLite(t), Options{Queues: []Queue{{Name: "secure", Mode: Hold,
		Formats: []string{"application/pdf"}, MaxSize: 1 << 20, MyNumber: MyNumberOff}}})
	doc := testdocs.PDF(1, "payslip", testdocs.A4)
	ij, err := svc.IPP().PrintJob(t.Context(), ipp.JobRequest{Queue: "secure", User: "hanako", Name: "payslip",
		Copies: 1, Document: ipp.DocumentInfo{Format: "application/pdf"}}, bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	var devs [2]Device
	var printers [2]*testenv.SocketPrinter
	for i, name := range []string{"mfp-1", "mfp-2"} {
		printers[i] = testenv.NewSocketPrinter(t)
		devs[i] = Device{Name: name, Printer: printers[i].URI(), Queues: "secure", Methods: MethodCard, Enabled: true}
		// A release asks the printer whether it can print: an AppSocket
		// printer is asked by a connection that carries nothing, which
		// the answer, cached, spares the release itself.
		if _, err := svc.checkPrinter(t.Context(), devs[i].Printer); err != nil {
			t.Fatal(err)
		}
		<-printers[i].Accepted
	}
	return svc, int64(ij.ID), doc, devs, printers
}

// sameJobs reports whether a printer's connections carried want, in any
// order.
func sameJobs(got, want [][]byte) bool {
	got, want = slices.Clone(got), slices.Clone(want)
	slices.SortFunc(got, bytes.Compare)
	slices.SortFunc(want, bytes.Compare)
	return slices.EqualFunc(got, want, bytes.Equal)
}

// waitState waits until job id is in state.
func waitState(t *testing.T, svc *Service, id int64, state State) {
	t.Helper()
	testenv.WaitFor(t, "job "+string(state), func() bool {
		var j Job
		return svc.db.Take(&j, id).Error == nil && j.State == state
	})
}

// While a job is claimed, its document is read and the printer's
// connection opened; the printer's first byte then waits for nothing
// else. Here the claim begins only once the connection is open, and the
// document is taken from the database first: the job prints all the
// same, over that one connection, from the document read ahead.
func TestReleaseHeadStart(t *testing.T) {
	svc, id, doc, devs, printers := headStartService(t)
	svc.beforeClaim = func(job int64) {
		select {
		case <-printers[0].Accepted:
		case <-time.After(10 * time.Second):
			t.Error("no connection to the printer while the job was being claimed")
		}
		// The document was opened before the connection.
		if err := svc.db.Exec("DELETE FROM job_documents WHERE job_id = ?", job).Error; err != nil {
			t.Error(err)
		}
	}
	out, err := svc.DeviceRelease().Release(t.Context(), Session{UserName: "hanako", Method: MethodCard}, devs[0],
		ReleaseRequest{IDs: []int64{id}})
	if err != nil || len(out) != 1 || out[0].Problem != "" {
		t.Fatalf("Release = %+v, %v", out, err)
	}
	waitState(t, svc, id, StateCompleted)
	printers[0].Await(t, 2)
	if got := printers[0].Received(); !sameJobs(got, [][]byte{{}, doc}) {
		t.Errorf("the printer got connections carrying %v bytes, want the question and one carrying the document", lengths(got))
	}
}

// Two devices release the same job at once: the one whose claim fails
// has opened its printer's connection, and sends nothing on it.
func TestReleaseHeadStartClaimLost(t *testing.T) {
	svc, id, doc, devs, printers := headStartService(t)
	sess := Session{UserName: "hanako", Method: MethodCard}
	first := true
	svc.beforeClaim = func(int64) {
		if !first {
			return
		}
		first = false
		select {
		case <-printers[0].Accepted:
		case <-time.After(10 * time.Second):
			t.Error("no connection to mfp-1's printer while the job was being claimed")
		}
		// The other device claims the job between mfp-1's load and claim.
		out, err := svc.DeviceRelease().Release(t.Context(), sess, devs[1], ReleaseRequest{IDs: []int64{id}})
		if err != nil || len(out) != 1 || out[0].Problem != "" {
			t.Errorf("mfp-2's release = %+v, %v", out, err)
		}
	}
	out, err := svc.DeviceRelease().Release(t.Context(), sess, devs[0], ReleaseRequest{IDs: []int64{id}})
	if err != nil || len(out) != 1 || out[0].Problem != "already-released" {
		t.Fatalf("mfp-1's release = %+v, %v; want already-released", out, err)
	}
	waitState(t, svc, id, StateCompleted)
	// The printers' last connections may still wait to be accepted.
	printers[0].Await(t, 2)
	printers[1].Await(t, 2)
	if got := printers[0].Received(); !sameJobs(got, [][]byte{{}, {}}) {
		t.Errorf("mfp-1's printer got connections carrying %v bytes, want the question and one opened ahead, both empty", lengths(got))
	}
	if got := printers[1].Received(); !sameJobs(got, [][]byte{{}, doc}) {
		t.Errorf("mfp-2's printer got connections carrying %v bytes, want the question and the document", lengths(got))
	}
}

func lengths(jobs [][]byte) []int {
	n := make([]int, len(jobs))
	for i, j := range jobs {
		n[i] = len(j)
	}
	return n
}

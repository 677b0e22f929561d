package ipp_test

import (
	"slices"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testenv"
)

// TestJobPasswordOnDirectQueue: a queue that prints at once, in front of
// a real printer, advertises no job-password and refuses a job that
// brings one (PWG 5100.11 promises such a job waits for its password at
// the printer), with client-error-attributes-or-values-not-supported and
// job-password, without its value, in the unsupported group, whatever
// ipp-attribute-fidelity says and whichever group it came in: no job is
// made and the printer receives nothing of it. The hold queue still
// advertises and takes job passwords.
func TestJobPasswordOnDirectQueue(t *testing.T) {
	printer := testenv.IPPEvePrinter(t)
	e := newServerEnv(t, printer.URI)
	password := goipp.MakeAttribute("job-password", goipp.TagString, goipp.Binary("4821"))

	for _, tc := range []struct {
		queue string
		hold  bool
	}{{"lobby", false}, {"secure", true}} {
		reply := e.do(t, tc.queue, e.request(goipp.OpGetPrinterAttributes, tc.queue, "hanako"), nil)
		_, advertised := attrOf(reply.Printer, "job-password-supported")
		var creation []string
		for _, a := range reply.Printer {
			if a.Name == "job-creation-attributes-supported" {
				for _, v := range a.Values {
					creation = append(creation, v.V.String())
				}
			}
		}
		if advertised != tc.hold || slices.Contains(creation, "job-password") != tc.hold {
			t.Errorf("queue %s (hold %v): job-password-supported %v, job-creation-attributes-supported %v",
				tc.queue, tc.hold, advertised, creation)
		}
	}

	fidelity := func(on bool) goipp.Attribute {
		return goipp.MakeAttribute("ipp-attribute-fidelity", goipp.TagBoolean, goipp.Boolean(on))
	}
	tests := []struct {
		name string
		msg  func() *goipp.Message
	}{
		{"job-password", func() *goipp.Message {
			return e.request(goipp.OpPrintJob, "lobby", "hanako", mimeVal("application/pdf"), password)
		}},
		{"without fidelity", func() *goipp.Message {
			return e.request(goipp.OpPrintJob, "lobby", "hanako", mimeVal("application/pdf"), fidelity(false), password)
		}},
		{"with fidelity", func() *goipp.Message {
			return e.request(goipp.OpPrintJob, "lobby", "hanako", mimeVal("application/pdf"), fidelity(true), password)
		}},
		{"in the job group", func() *goipp.Message {
			m := e.request(goipp.OpPrintJob, "lobby", "hanako", mimeVal("application/pdf"))
			m.Job.Add(password)
			return m
		}},
		{"Create-Job", func() *goipp.Message {
			return e.request(goipp.OpCreateJob, "lobby", "hanako", password)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.msg()
			var doc []byte
			if goipp.Op(m.Code) == goipp.OpPrintJob {
				doc = e.pdf
			}
			reply := e.do(t, "lobby", m, doc)
			if st := goipp.Status(reply.Code); st != goipp.StatusErrorAttributesOrValues {
				msg, _ := attrOf(reply.Operation, "status-message")
				t.Errorf("status %s (%s), want %s", st, msg, goipp.StatusErrorAttributesOrValues)
			}
			if v, ok := attrOf(reply.Unsupported, "job-password"); !ok || v != "" {
				t.Errorf("unsupported group %v: want job-password without its value", reply.Unsupported)
			}
			if id, made := attrOf(reply.Job, "job-id"); made {
				t.Errorf("a refused request made job %s", id)
			}
		})
	}
	if n := e.jobCount(t); n != 0 {
		t.Errorf("%d jobs made by refused requests", n)
	}

	// A job without a password prints: once it has, and no job of the
	// queue is on its way to the printer, the printer holds its document
	// and no other.
	madeJob(t, e.do(t, "lobby", e.request(goipp.OpPrintJob, "lobby", "hanako", mimeVal("application/pdf")), e.pdf))
	testenv.WaitFor(t, "the direct job to print", func() bool {
		var sending int64
		if err := e.db.Raw("SELECT COUNT(*) FROM jobs WHERE queue = 'lobby' AND state IN ('releasing', 'printing')").
			Scan(&sending).Error; err != nil {
			t.Fatal(err)
		}
		return sending == 0 && len(printer.Files()) > 0
	})
	if files := printer.Files(); len(files) != 1 {
		t.Errorf("the printer received %d documents, want only the one without a password", len(files))
	}

	held := madeJob(t, e.do(t, "secure", e.request(goipp.OpPrintJob, "secure", "hanako", mimeVal("application/pdf"), password), e.pdf))
	got := e.do(t, "secure", e.request(goipp.OpGetJobAttributes, "secure", "hanako", ints("job-id", int(held))), nil)
	if state, _ := attrOf(got.Job, "job-state"); state != "4" { // pending-held
		t.Errorf("the hold queue's job with a password is in state %s, want pending-held", state)
	}
}

package release

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/printgate/printgate/ipp"
)

// ReasonMayHavePrinted is the reason of a held job whose document may
// have reached its printer, in part or whole, before the print failed:
// the connection broke or the conversion failed mid-document, printgate
// could not record that the printer took the job, the printer ended the
// job otherwise than completed, or printgate stopped while it printed.
// Released again as any other held job, it would print twice; a release
// at a device must confirm it (ReleaseRequest.ConfirmReprint), and the
// confirmation is in the audit event of the release.
const ReasonMayHavePrinted = "may-have-printed"

// problemMayHavePrinted is the Released.Problem of such a job released
// without the confirmation.
const problemMayHavePrinted = "may-have-printed"

// mayHavePrintedMessage ends the message of a job that may have printed.
const mayHavePrintedMessage = "Part or all of it may have printed: check the printer, and release it again only if it did not print."

// mayHavePrinted is a failed print whose document may have reached the
// printer: the job is held, but not as one that never printed.
type mayHavePrinted struct {
	// reason and message are what the failure itself would say.
	reason, message string
	err             error
}

func (e *mayHavePrinted) Error() string {
	return fmt.Sprintf("release: the printer may have printed the job (%s): %v", e.reason, e.err)
}

func (e *mayHavePrinted) Unwrap() error { return e.err }

// mayHavePrintedAfter wraps err, the failure of a print whose bytes may
// have reached the printer, keeping the reason and message failure gives
// it.
func mayHavePrintedAfter(st ipp.JobStatus, err error) error {
	reason, msg := failure(st, err)
	if err == nil {
		err = errors.New(reason)
	}
	return &mayHavePrinted{reason: reason, message: msg, err: err}
}

// reached reports whether a print that failed with err after sent bytes
// of its document were read for the printer may have printed something.
// A printer that answered with an IPP status refused the job whole; one
// that was never reached (no byte read: the request body is read only
// once a connection is open) printed nothing.
func reached(sent int64, err error) bool {
	var se *ipp.StatusError
	return sent > 0 && !errors.As(err, &se)
}

// sentCounter counts the bytes of a document read for the printer.
type sentCounter struct {
	r io.Reader
	n atomic.Int64
}

func (c *sentCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// detailReprintConfirmed is the audit detail of a release of a job that
// may have printed, made with its releaser's confirmation.
const detailReprintConfirmed = "reprint-confirmed"

// reprintConfirmed returns the audit details of releasing j with its
// releaser's confirmation: the reason it needed one; nil for a job that
// needs none.
func reprintConfirmed(j Job) map[string]string {
	if j.Reason != ReasonMayHavePrinted {
		return nil
	}
	return map[string]string{detailReprintConfirmed: ReasonMayHavePrinted}
}

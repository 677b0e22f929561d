package release

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"testing"

	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release/throttle"
)

// TestToIPP checks each of release's words that an IPP verb can answer
// with against the IPP error, and so the status, the client gets, and
// that a refusal's message reaches it.
func TestToIPP(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		want    error
		message string
	}{
		{"no queue", fmt.Errorf("release: queue %q: %w", "x", ErrNotFound), ipp.ErrNotFound, ""},
		{"ended job", refuse(ErrNotPossible, "The job is canceled and can no longer be held."), ipp.ErrNotPossible,
			"The job is canceled and can no longer be held."},
		{"not the owner", refuse(ErrNotAllowed, "Only the job's owner may do this."), ipp.ErrNotAuthorized,
			"Only the job's owner may do this."},
		{"password in clear", refuse(ErrNeedsTLS, "print to the ipps:// address."), ipp.ErrForbidden,
			"print to the ipps:// address."},
		{"forbidden", ErrForbidden, ipp.ErrForbidden, ""},
		{"wrong password", fmt.Errorf("release: queue q: %w", ErrUnauthorized), ipp.ErrUnauthenticated, ""},
		{"throttled", fmt.Errorf("release: queue q: %w: %w", ErrUnauthorized, throttle.ErrThrottled), ipp.ErrUnauthenticated, ""},
		{"too large", refuse(ErrTooLarge, "larger than 1 MB"), ipp.ErrTooLarge, "larger than 1 MB"},
		{"spool full", errSpoolFull, ipp.ErrNotAccepting, "The print server's storage is full. Try again later, or ask your administrator."},
		{"second document", fmt.Errorf("release: job 1: %w", ErrMultipleDocuments), ipp.ErrMultipleDocuments, ""},
		{"busy", fmt.Errorf("release: hash job password: %w", ErrBusy), ipp.ErrBusy, ""},
		{"database down", dbErr("list jobs", fmt.Errorf("dial: %w", driver.ErrBadConn)), ipp.ErrUnavailable, ""},
		{"directory down", fmt.Errorf("release: queue q: directory: %w: %w", ErrUnavailable, errors.New("ldap")), ipp.ErrUnavailable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := toIPP(tt.err)
			if !errors.Is(got, tt.err) {
				t.Errorf("toIPP(%v) = %v lost the original error", tt.err, got)
			}
			if tt.want != nil && !errors.Is(got, tt.want) {
				t.Errorf("toIPP(%v) = %v, want it to match %v", tt.err, got, tt.want)
			}
			r, ok := errors.AsType[*ipp.Refusal](got)
			if tt.message != "" && (!ok || r.Message != tt.message) {
				t.Errorf("toIPP(%v) carries message %v, want %q", tt.err, r, tt.message)
			}
			if tt.message == "" && ok {
				t.Errorf("toIPP(%v) made up a refusal: %q", tt.err, r.Message)
			}
		})
	}
	if toIPP(nil) != nil {
		t.Error("toIPP(nil) is not nil")
	}
	other := errors.New("boom")
	if got := toIPP(other); got != other {
		t.Errorf("toIPP(%v) = %v, want it unchanged", other, got)
	}
	if got := toIPP(fmt.Errorf("release: store document: %w", ipp.ErrClientTimeout)); !errors.Is(got, ipp.ErrClientTimeout) {
		t.Errorf("an IPP error from the request body became %v", got)
	}
}

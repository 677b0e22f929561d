package release

import (
	"errors"
	"fmt"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
)

// The words release answers in. Each caller translates them where its
// protocol begins: ippbackend.go to IPP statuses, web/releaseapi to HTTP,
// the console to its pages. Errors carry them wrapped (errors.Is), or
// inside a Refusal when the person who asked should read why.
var (
	// ErrNotFound: no such queue, job or device, or one the caller may
	// not see.
	ErrNotFound = errors.New("release: not found")
	// ErrNotPossible: the request cannot be done now: the job is printing,
	// has ended or is closed, or its owner's waiting documents are at
	// their limit.
	ErrNotPossible = errors.New("release: not possible in the job's state")
	// ErrNotAllowed: the requester is known but may not do this to the
	// job: it is another user's, or its queue releases jobs only at a
	// device.
	ErrNotAllowed = errors.New("release: not allowed")
	// ErrUnauthorized: a wrong device token, wrong or missing credentials,
	// a sender outside the queue's trusted networks, or an ended session.
	ErrUnauthorized = errors.New("release: not authorized")
	// ErrDisabled: the right card, PIN or password of an account that is
	// disabled (in printgate or in the directory). It wraps
	// ErrUnauthorized: to the device it is a sign-in refused like any
	// other, and the audit trail says why.
	ErrDisabled = fmt.Errorf("release: account disabled: %w", ErrUnauthorized)
	// ErrForbidden: a disabled device, or a login method the device does
	// not allow.
	ErrForbidden = errors.New("release: forbidden")
	// ErrNeedsTLS refuses a PIN or password that came over plain HTTP
	// from another machine to a device (or a queue) not allowed to take
	// them so.
	ErrNeedsTLS = errors.New("release: PINs and passwords are accepted only over TLS")
	// ErrLocked: too many wrong PINs; an admin or time unlocks.
	ErrLocked = errors.New("release: locked")
	// ErrThrottled: too many failed sign-ins at the device, or wrong
	// passwords for the account or from the address; the error also
	// wraps a *throttle.Error that says when to try again.
	ErrThrottled = errors.New("release: too many failed attempts")
	// ErrBadLogin is a login body that is none of the known forms.
	ErrBadLogin = errors.New("release: send a card, a user and PIN, or a card and PIN")
	// ErrBusy: too many PIN or password checks at once for the memory
	// they may take; try again shortly. It is secret.ErrBusy, so it
	// matches however deep the check that found it.
	ErrBusy = secret.ErrBusy
	// ErrUnavailable: the database or the directory cannot answer now;
	// try again shortly.
	ErrUnavailable = errors.New("release: unavailable")
	// ErrTooLarge: a document larger than its queue accepts.
	ErrTooLarge = errors.New("release: document too large")
	// ErrSpoolFull: the spool quota takes no new documents until jobs
	// end.
	ErrSpoolFull = errors.New("release: spool full")
	// ErrFormatError: a document whose content is not in the format it
	// was declared as, or in none that printgate recognises.
	ErrFormatError = errors.New("release: document content not in its format")
	// ErrFormatNotSupported: a document in a format its queue does not
	// accept.
	ErrFormatNotSupported = errors.New("release: document format not accepted")
	// ErrMultipleDocuments: a second document for a job, which holds
	// one.
	ErrMultipleDocuments = errors.New("release: a job holds one document")
	// ErrFormatNotAllowed: a document format the print rules of the
	// queue or of the owner's group do not allow.
	ErrFormatNotAllowed = errors.New("release: document format not allowed by a print rule")
)

// Refusal is an error whose Message is safe to show the person who asked
// (an IPP client's status-message); Err is one of the sentinel errors
// above and says what kind of refusal it is.
type Refusal struct {
	Err     error
	Message string
}

// refuse returns a Refusal of kind err with a message for the requester.
func refuse(err error, message string) error { return &Refusal{Err: err, Message: message} }

func (r *Refusal) Error() string { return r.Message + ": " + r.Err.Error() }

// Unwrap returns the sentinel error of the refusal.
func (r *Refusal) Unwrap() error { return r.Err }

// dbErr wraps a database error; an unreachable database becomes
// ErrUnavailable so clients are told to retry.
func dbErr(what string, err error) error {
	if err == nil {
		return nil
	}
	var r *Refusal
	if errors.As(err, &r) || errors.Is(err, ErrNotFound) {
		return err
	}
	if database.IsUnavailable(err) {
		return fmt.Errorf("release: %s: %w: %w", what, ErrUnavailable, err)
	}
	return fmt.Errorf("release: %s: %w", what, err)
}

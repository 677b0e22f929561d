package release

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/printgate/printgate/release/rules"
	"github.com/printgate/printgate/release/stamp"
)

// Mode says what a queue does with a new job.
type Mode string

// Queue modes.
const (
	// Hold keeps every job until its owner releases it at a device.
	Hold Mode = "hold"
	// Direct forwards every job at once to the queue's printer.
	Direct Mode = "direct"
)

// Auth says how a queue identifies who submits a job.
type Auth string

// Queue authentication.
const (
	// AuthRequestingUserName takes the requesting-user-name a client on
	// one of the queue's trusted networks sends.
	AuthRequestingUserName Auth = "requesting-user-name"
	// AuthBasic asks for the sender's directory password with HTTP Basic.
	AuthBasic Auth = "basic"
)

// UnknownOwner says what a queue that trusts requesting-user-name does
// with a job to hold whose owner the directory does not know: nobody
// could release it.
type UnknownOwner string

// What to do with a job of an unknown owner.
const (
	// RefuseUnknown refuses it with client-error-not-authorized and a
	// status-message that names the user and says what to do (the
	// default).
	RefuseUnknown UnknownOwner = "refuse"
	// HoldUnknown holds it as "unknown owner" for an administrator to
	// assign to a user (Admin.AssignOwner).
	HoldUnknown UnknownOwner = "hold"
)

// Queue is one IPP print queue.
type Queue struct {
	Name string
	Mode Mode
	// Printer is the URI a direct queue forwards to.
	Printer string
	// Formats are the accepted document formats, the default first.
	Formats []string
	// MaxSize is the largest accepted document in bytes.
	MaxSize int64
	// Auth says how senders are identified.
	Auth Auth
	// TrustedNetworks may submit with only a requesting-user-name.
	TrustedNetworks []netip.Prefix
	// AllowPlaintextBasic accepts Basic credentials on a listener without
	// TLS.
	AllowPlaintextBasic bool
	Info                string
	Location            string
	Color               bool
	// HideNames records document names in the audit trail as keyed HMACs
	// (payroll queues often want this).
	HideNames bool
	// TTL is how long a job stays held before it expires (default 24 h).
	TTL time.Duration
	// KeepAfterPrint keeps a printed job's document this long for a
	// reprint (default 0: destroyed at once).
	KeepAfterPrint time.Duration
	// ReleaseRequires are the sign-in methods whose sessions may see and
	// release the queue's jobs; empty allows every method a device
	// allows.
	ReleaseRequires []string
	// Stamp, when set, prints the forensic stamp (release/stamp) where
	// it says on every page of the queue's jobs; a document that cannot
	// be stamped is not printed. nil stamps nothing.
	Stamp *stamp.Layout
	// Rules are the queue's print rules (release/rules); the zero value
	// imposes nothing.
	Rules rules.Rules
	// AcceptUnknownAsOctetStream keeps a document whose content is not
	// its declared format, or of no format the queue accepts, as
	// application/octet-stream for the printer to judge, instead of
	// refusing it (checkFormat).
	AcceptUnknownAsOctetStream bool
	// UnknownOwner says what becomes of a job to hold sent under a name
	// no directory user is known by; empty refuses it. Direct jobs print
	// whatever their owner, recorded as unknown.
	UnknownOwner UnknownOwner
	// MyNumber says what becomes of a job whose document holds an
	// individual number (mynumber.go); empty protects it.
	MyNumber MyNumberPolicy
	// MyNumberTTL is how long such a job stays held under protect, at
	// most TTL (default DefaultMyNumberTTL).
	MyNumberTTL time.Duration
	// ReleaseFromWeb lets owners release the queue's jobs from My page to
	// a device they choose (RemoteRelease, MethodWeb), without being at
	// the device. Off by default: leave it off on queues whose jobs must
	// wait for their owner at the printer.
	ReleaseFromWeb bool
}

// Queues returns the configured queues.
func (s *Service) Queues() []Queue {
	out := make([]Queue, 0, len(s.queues))
	for _, q := range s.queues {
		out = append(out, q)
	}
	return out
}

func (s *Service) queue(name string) (Queue, error) {
	q, ok := s.queues[name]
	if !ok {
		return Queue{}, fmt.Errorf("release: queue %q: %w", name, ErrNotFound)
	}
	return q, nil
}

package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"slices"
	"strings"
	"time"

	"github.com/printgate/printgate/audit/pages"
)

// Event types of a job's life. Every state change of a job is one event.
const (
	EventSubmitted         = "submitted"
	EventHeld              = "held"
	EventReleaseAttempt    = "release-attempt"
	EventReleased          = "released"
	EventPrinted           = "printed"
	EventPrintFailed       = "print-failed"
	EventCanceled          = "canceled"
	EventExpired           = "expired"
	EventDocumentDestroyed = "document-destroyed"
	// EventOwnerAssigned gives a held job whose owner was unknown to a
	// user (Event.Owner), on an administrator's behalf; its record's
	// owner becomes that user.
	EventOwnerAssigned = "owner-assigned"
	// EventSensitiveContentDetected says a job's document holds content
	// its queue treats with care: Details give the kind ("my-number"),
	// the count of occurrences and the pages, never the content.
	EventSensitiveContentDetected = "sensitive-content-detected"
	// EventSensitiveContentUnchecked says a held job's document could not
	// be searched (Details: my-number-check failed or unavailable).
	EventSensitiveContentUnchecked = "sensitive-content-unchecked"
	// EventSensitiveContentAbsent says a held job's document, searched
	// after its submission, holds no content its queue treats with care.
	// Its submission recorded the document name keyed, as nobody knew
	// yet; this event's DetailDocumentName records it in clear.
	EventSensitiveContentAbsent = "sensitive-content-absent"
)

// DetailDocumentName is the Details key of an EventSensitiveContentAbsent
// or EventSensitiveContentUnchecked event that records in clear a
// document name its submission kept keyed: the job's record then shows
// it. Other events' values under this key change nothing.
const DetailDocumentName = "document-name"

// DetailContentColor is the Details key of a sensitive-content event
// (detected, absent or unchecked) that says what the document holds,
// ColorColor or ColorMono, when its search could tell: the job's record
// then counts it so, unless its printer reported otherwise (ColorFacts).
const DetailContentColor = "content-color"

// The Details keys of a device-job-matched or device-job-observed event
// that give the printer's count of colour and monochrome impressions
// (job-impressions-completed-col), where the printer reports them.
const (
	DetailPrinterColorPages = "color_pages"
	DetailPrinterMonoPages  = "mono_pages"
)

// Event types of printers' own job logs (package monitor).
const (
	// EventDeviceJobMatched completes one of printgate's own jobs with
	// what the printer's log says of it: Details "pages" (impressions)
	// and "sheets" become its record's printer count.
	EventDeviceJobMatched = "device-job-matched"
	// EventDeviceJobObserved is a job a printer's log lists that did not
	// come through printgate. It has no job ID; it makes a record of its
	// own, with SourcePrinterLog, so that history, totals and exports
	// show it beside printgate's jobs (see observed.go).
	EventDeviceJobObserved = "device-job-observed"
	// SourcePrinterLog is JobRecord.Source of an observed job, and the
	// "source" detail of the events from a printer's log.
	SourcePrinterLog = "printer log"
	// SourcePrintgate selects, in Filter.Source, the jobs that came
	// through printgate (whose records' Source is "").
	SourcePrintgate = "printgate"
)

// Event types of administrative actions; each admin action is audited too.
const (
	EventUserAdded      = "user-added"
	EventUserRemoved    = "user-removed"
	EventUserDisabled   = "user-disabled"
	EventUserEnabled    = "user-enabled"
	EventCardAdded      = "card-added"
	EventCardRemoved    = "card-removed"
	EventPINSet         = "pin-set"
	EventDeviceAdded    = "device-added"
	EventDeviceRemoved  = "device-removed"
	EventConfigChanged  = "config-changed"
	EventExport         = "export"
	EventChainVerified  = "chain-verified"
	EventLoginFailed    = "login-failed"
	EventPurged         = "purged"
	EventQueueChanged   = "queue-changed"
	EventDeviceTokenSet = "device-token-set"
	// EventQRLabelIssued records a QR label made for a device (Device) by
	// an administrator (Actor), with its expiry in Details["expires"];
	// never the link itself.
	EventQRLabelIssued = "qr-label-issued"
	EventAliasAdded    = "alias-added"
	EventAliasRemoved  = "alias-removed"
	EventCardsImported = "cards-imported" // one import of many cards: Details count them, never name one
	// EventBackupMade records a backup (printgate backup): a copy of
	// every key and held document left the server, encrypted.
	EventBackupMade = "backup-made"
	// EventBackupRestored is the first event after a restore: Details
	// name the backup's database and when it was made.
	EventBackupRestored = "backup-restored"
)

// Event types of sign-ins and locks.
const (
	// EventSignedIn: a user (Owner) signed in, at a device (Device, and
	// Method the way they proved who they are) or at the console.
	EventSignedIn = "signed-in"
	// EventUserLocked: wrong PINs locked a user out (Owner); the attempt
	// that locked is a login-failed event of its own. A failed sign-in
	// (EventLoginFailed) names the account tried in Details["account"],
	// as a keyed name ("hmac-sha256:...") when no such account exists,
	// since what was typed may be a password.
	EventUserLocked = "user-locked"
	// EventUserUnlocked: an administrator lifted a user's lockout (Owner).
	EventUserUnlocked = "user-unlocked"
	// EventPINReset: an administrator removed a user's PIN (Owner) so
	// that they set a new one.
	EventPINReset = "pin-reset"
)

// Release methods for Event.Method and JobRecord.Method.
const (
	MethodCard    = "card"
	MethodIDPIN   = "id+pin"
	MethodCardPIN = "card+pin"
	// MethodQR: released from the user's phone, signed in there, after
	// scanning the device's QR code.
	MethodQR = "qr"
	// MethodWeb: released from My page to a device the user chose.
	MethodWeb = "web"
)

// ActorSystem is the Actor of events printgate causes by itself (expiry,
// printer state changes, retention).
const ActorSystem = "system"

// Event is one entry of the audit trail. Append fills Seq, At, PrevHash and
// Hash; the caller fills the rest.
type Event struct {
	// Seq is the event's place in the chain, from 1, without gaps.
	Seq int64
	// At is when the event was appended, in UTC with microsecond precision.
	At time.Time
	// Type is one of the Event* constants.
	Type string
	// JobID is the job the event is about, or 0 for events about no job.
	JobID int64
	// Owner is the owner of the job; Append fills it from the job record
	// when it is empty, so that a user's events can be found without joins.
	Owner string
	// Actor is who caused the event: a user name, an admin name or
	// ActorSystem.
	Actor string
	// Queue, Device, Method and Printer say where and how; Method is one
	// of the Method* constants.
	Queue, Device, Method, Printer string
	// Outcome is "success" or "failure" for attempts, free text otherwise.
	Outcome string
	// Reason says why, for failures and refusals.
	Reason string
	// Job is the job's full metadata, set on EventSubmitted.
	Job *JobInfo
	// Details holds other fields. It must never hold secrets: Append
	// refuses keys that name one (see ErrSecretDetail).
	Details map[string]string
	// PrevHash is the Hash of the previous event (32 zero bytes for the
	// first), Hash is HMAC-SHA-256(chain key, PrevHash || canonical
	// encoding); events of a chain older than the keyed hash keep
	// SHA-256(PrevHash || canonical encoding).
	PrevHash, Hash []byte
}

// JobInfo is a job's metadata as recorded when it is submitted. The
// document's contents are never recorded, only its SHA-256.
type JobInfo struct {
	// Queue is the queue the job was submitted to.
	Queue string
	// Owner is the authenticated user; ClaimedUser is the name the client
	// claimed (requesting-user-name), which may differ.
	Owner, ClaimedUser string
	// ClientAddr is the submitting client's IP address.
	ClientAddr string
	// DocumentName is the job or document name. When HideName is set,
	// Append replaces it with a keyed HMAC ("hmac-sha256:<hex>") so the
	// clear name is stored nowhere.
	DocumentName string
	// HideName asks for DocumentName to be recorded as a keyed HMAC; set it
	// for queues configured so (payroll queues often are).
	HideName bool
	// Format is the document's MIME type.
	Format string
	// Size is the document's length in bytes.
	Size int64
	// SHA256 is the digest of the document as received.
	SHA256 []byte
	// Pages is the page count of one copy when PagesKnown; PagesReason says
	// why it is unknown otherwise.
	Pages       int
	PagesKnown  bool
	PagesReason string
	// Copies is the number of copies asked for (at least 1).
	Copies int
	// Sides, ColorMode and Media are the IPP keywords asked for
	// ("two-sided-long-edge", "monochrome", "iso_a4_210x297mm").
	Sides, ColorMode, Media string
	// HasJobPIN says whether the job was protected with a job PIN (the PIN
	// itself is never recorded).
	HasJobPIN bool
	// Submitted is when the job was accepted.
	Submitted time.Time
}

// zeroHash is the PrevHash of the first event of a chain.
var zeroHash = make([]byte, sha256.Size)

// canonicalVersion starts every canonical encoding so that a future format
// can never produce the same bytes as this one.
const canonicalVersion = "printgate-audit-event/1"

// canonical returns the canonical encoding of ev that its hash covers: the
// version string, then every field in a fixed order, each string and byte
// string as a 4-byte big-endian length and its bytes, each integer as 8
// big-endian bytes, each bool as one byte, each time as a string in UTC
// with six fractional digits ("" for the zero time), Job as a presence byte
// then its fields, and Details as a count then its pairs sorted by key.
// The encoding is unambiguous, so no two different events share it.
// Changing it invalidates every stored chain; testdata/canonical.golden
// pins it.
func canonical(ev *Event) []byte {
	b, _ := appendCanonical(make([]byte, 0, 256), ev, nil)
	return b
}

// appendCanonical appends the canonical encoding of ev to b, sorting the
// Details keys in keys (scratch space, returned for reuse).
func appendCanonical(b []byte, ev *Event, keys []string) ([]byte, []string) {
	b = appendString(b, canonicalVersion)
	b = appendInt(b, ev.Seq)
	b = appendTime(b, ev.At)
	b = appendString(b, ev.Type)
	b = appendInt(b, ev.JobID)
	for _, s := range [...]string{ev.Owner, ev.Actor, ev.Queue, ev.Device, ev.Method, ev.Printer, ev.Outcome, ev.Reason} {
		b = appendString(b, s)
	}
	if j := ev.Job; j == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		for _, s := range [...]string{j.Queue, j.Owner, j.ClaimedUser, j.ClientAddr, j.DocumentName} {
			b = appendString(b, s)
		}
		b = appendBool(b, j.HideName)
		b = appendString(b, j.Format)
		b = appendInt(b, j.Size)
		b = appendBytes(b, j.SHA256)
		b = appendInt(b, int64(j.Pages))
		b = appendBool(b, j.PagesKnown)
		b = appendString(b, j.PagesReason)
		b = appendInt(b, int64(j.Copies))
		for _, s := range [...]string{j.Sides, j.ColorMode, j.Media} {
			b = appendString(b, s)
		}
		b = appendBool(b, j.HasJobPIN)
		b = appendTime(b, j.Submitted)
	}
	keys = sortedKeys(keys[:0], ev.Details)
	b = appendInt(b, int64(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, ev.Details[k])
	}
	return b, keys
}

// sortedKeys appends the keys of m to keys, sorted.
func sortedKeys(keys []string, m map[string]string) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// chainHash returns SHA-256(prev || canonical(ev)), the hash of events
// appended before the chain was keyed.
func chainHash(prev []byte, ev *Event) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(canonical(ev))
	return h.Sum(nil)
}

// PlainHash returns SHA-256(prev || canonical encoding of ev), the hash
// of the events of a chain appended before the hash was keyed, for tools
// that check such a chain. Anyone can compute it without the key, which is
// why events are now keyed: Verify refuses it for a keyed event.
func PlainHash(prev []byte, ev *Event) []byte { return chainHash(prev, ev) }

// hasher computes keyed event hashes, HMAC-SHA-256(chain key, prev ||
// canonical(ev)), reusing one HMAC state and one encoding buffer: Verify
// hashes every event, and AppendBatch every event of a batch.
type hasher struct {
	mac  hash.Hash
	buf  []byte
	keys []string
}

func newHasher(chainKey []byte) *hasher { return &hasher{mac: hmac.New(sha256.New, chainKey)} }

func (h *hasher) sum(prev []byte, ev *Event) []byte { return h.appendSum(nil, prev, ev) }

// appendSum appends the hash of ev to dst.
func (h *hasher) appendSum(dst, prev []byte, ev *Event) []byte {
	h.buf, h.keys = appendCanonical(h.buf[:0], ev, h.keys)
	h.mac.Reset()
	h.mac.Write(prev)
	h.mac.Write(h.buf)
	return h.mac.Sum(dst)
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// appendTime appends formatTime(t) as appendString would, without the
// intermediate string.
func appendTime(b []byte, t time.Time) []byte {
	n := len(b)
	b = append(b, 0, 0, 0, 0)
	if !t.IsZero() {
		b = t.UTC().AppendFormat(b, timeLayout)
	}
	binary.BigEndian.PutUint32(b[n:], uint32(len(b)-n-4))
	return b
}

func appendInt(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(v)) }

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// timeLayout is how times appear in the canonical encoding and in stored
// JSON: fixed microseconds, the precision PostgreSQL keeps.
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(timeLayout, s)
}

// dbTime brings t to what the database keeps: UTC, microseconds. Both
// dialects then compare stored times correctly (SQLite as text).
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// clean makes s storable as it is hashed: PostgreSQL text holds neither
// NUL bytes nor invalid UTF-8, and JSON would silently rewrite the latter,
// so both are replaced before the hash is computed.
func clean(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// secretKeys are Details keys that would name a secret; Append refuses
// them so that a careless caller fails loudly instead of leaking.
var secretKeys = []string{"password", "passwd", "pin", "job-pin", "job-password", "token", "secret", "card-uid", "uid", "card"}

func isSecretKey(k string) bool {
	return slices.Contains(secretKeys, strings.ToLower(strings.TrimSpace(k)))
}

// impressions returns the impressions and sheets a job prints, as
// pages.Impressions counts them, or 0 and 0 when its page count is unknown.
func impressions(j *JobInfo) (impr, sheets int64) {
	if !j.PagesKnown {
		return 0, 0
	}
	i, sh := pages.Impressions(j.Pages, j.Copies, j.Sides)
	return int64(i), int64(sh)
}

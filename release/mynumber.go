package release

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/audit/mynumber"
	"github.com/printgate/printgate/release/convert"
)

// MyNumberPolicy says what a queue does with a job whose document holds
// an individual number (個人番号, audit/mynumber).
type MyNumberPolicy string

// My Number policies.
const (
	// MyNumberProtect holds such a job even on a direct queue, releases
	// it only to a two-factor sign-in, expires it after the queue's
	// MyNumberTTL and records its names keyed only (the default).
	MyNumberProtect MyNumberPolicy = "protect"
	// MyNumberFlag records that the document holds one, and nothing
	// more.
	MyNumberFlag MyNumberPolicy = "flag"
	// MyNumberOff does not look.
	MyNumberOff MyNumberPolicy = "off"
)

// DefaultMyNumberTTL is how long a job holding an individual number stays
// held when its queue sets no MyNumberTTL.
const DefaultMyNumberTTL = 4 * time.Hour

// SensitiveMyNumber is Job.Sensitive of a job whose document holds an
// individual number, and the kind of its sensitive-content-detected
// event.
const SensitiveMyNumber = "my-number"

// ReasonMyNumber is the reason of a job held because its document holds
// an individual number.
const ReasonMyNumber = "my-number-held"

// twoFactor reports whether a session signed in by method at dev proved
// two factors, as releasing a job holding an individual number takes:
// card and PIN, or ID and PIN at a device that lets nobody sign in
// without a card (Device.CardRequired).
func twoFactor(method string, dev Device) bool {
	return method == MethodCardPIN || (method == MethodIDPIN && dev.CardRequired)
}

// policy returns q's My Number policy, protect when unset.
func (q Queue) policy() MyNumberPolicy {
	if q.MyNumber == "" {
		return MyNumberProtect
	}
	return q.MyNumber
}

// protects reports whether j is a job its queue protects as holding an
// individual number.
func (s *Service) protects(j *Job) bool { return protected(s.queues[j.Queue], j) }

// protected reports whether q protects j as holding an individual number.
func protected(q Queue, j *Job) bool {
	return j.Sensitive == SensitiveMyNumber && q.policy() == MyNumberProtect
}

// hidesName reports whether j's names are recorded keyed only: on a
// queue that hides names, and on one that searches for individual
// numbers while j's document holds one or has still to be searched (a
// hold queue's job, searched after its commit: its name is recorded in
// clear only once the search found nothing, inspectHeld).
func hidesName(q Queue, j *Job) bool {
	if q.HideNames {
		return true
	}
	return q.policy() != MyNumberOff && (j.Sensitive == SensitiveMyNumber || j.Sensitive == sensitivePending)
}

// inspect looks for individual numbers in doc, the plaintext of j's
// document, on a queue that looks for them, and records on j what it
// found: never a number, only the count and the pages. The text lives in
// a pipe and the scanner's few bytes. A document that cannot be searched
// (a format without text, a failed extraction, pages the extraction did
// not see, pages past what OCR reads) is treated as if it held one
// (uncheckable): a search that fails must not be a way past the policy.
// A printgate without its text tools (warned at start-up) searches
// nothing, and says so in each job's events.
func (s *Service) inspect(ctx context.Context, x *convert.TextExtractor, q Queue, j *Job, doc io.Reader) {
	if q.policy() == MyNumberOff {
		return
	}
	if x == nil {
		j.sensitiveCheck = "unavailable"
		return
	}
	if !(j.Format == convert.PDF || j.Format == convert.PostScript) {
		uncheckable(j, "format")
		return
	}
	f, chars, err := readText(ctx, x, j.Format, doc)
	if err != nil {
		if errors.Is(context.Cause(ctx), errGaveWay) {
			return // the search is thrown away and run again
		}
		// The error names a limit or an exit status, never the text.
		s.log.Warn("release: look for individual numbers", "queue", q.Name, "err", err)
		if f.Count > 0 {
			s.found(j, f) // what was read before the failure
			return
		}
		uncheckable(j, "failed")
		return
	}
	if f.Count == 0 {
		if why := s.pageView(ctx, j, doc, chars); why != "" {
			uncheckable(j, why)
			return
		}
	}
	if f.Count == 0 && len(chars.thinPages()) > 0 {
		// A page with next to no text: a scan, or text drawn as images.
		f = s.recognise(ctx, x, q, j, doc, chars)
	}
	if f.Count > 0 {
		s.found(j, f)
	}
}

// background returns the extractor for searches nobody waits for: its
// tools run at the lowest processor priority where nice(1) is there.
func (s *Service) background() *convert.TextExtractor {
	if s.textBackground != nil {
		return s.textBackground
	}
	return s.text
}

// found records on j the individual numbers its document holds.
func (s *Service) found(j *Job, f mynumber.Finding) {
	j.Sensitive, j.sensitiveCount, j.sensitivePages = SensitiveMyNumber, f.Count, f.Pages
	j.sensitiveCheck = ""
	j.sensitiveNotify = s.myNumberNotify
}

// uncheckable records that j's document could not be searched, and why:
// it is treated as holding an individual number (held, two factors on a
// protecting queue, its name keyed), its event saying it was not checked.
func uncheckable(j *Job, why string) {
	j.Sensitive, j.sensitiveCheck = SensitiveMyNumber, why
}

// inspectStored inspects j's document stored in a spool file, decrypting
// it on the fly.
func (s *Service) inspectStored(ctx context.Context, q Queue, j *Job) {
	if q.policy() == MyNumberOff {
		return
	}
	doc, err := s.spool.Open(j.Spool, j.WrappedKey)
	if err != nil {
		s.log.Warn("release: look for individual numbers", "queue", q.Name, "err", err)
		uncheckable(j, "failed")
		return
	}
	defer doc.Close()
	s.inspect(ctx, s.text, q, j, io.NewSectionReader(&blockCache{r: doc}, 0, doc.Size()))
}

// sensitiveEvents are the events of j's submission that say what its
// document holds: sensitive-content-detected with the kind, the count
// and the pages, and for the people responsible the group to tell.
func sensitiveEvents(q Queue, j *Job) []audit.Event {
	if j.Sensitive == "" || j.Sensitive == sensitivePending {
		return nil
	}
	if j.sensitiveCheck != "" {
		// Never a name here: the document may hold a number.
		return []audit.Event{{Type: audit.EventSensitiveContentUnchecked, JobID: j.ID, Owner: j.Owner,
			Actor: audit.ActorSystem, Queue: j.Queue, Details: map[string]string{"kind": j.Sensitive,
				"my-number-check": j.sensitiveCheck, "policy": string(q.policy())}}}
	}
	pages := make([]string, len(j.sensitivePages))
	for i, p := range j.sensitivePages {
		pages[i] = strconv.Itoa(p)
	}
	d := map[string]string{"kind": j.Sensitive, "count": strconv.Itoa(j.sensitiveCount),
		"pages": strings.Join(pages, ","), "policy": string(q.policy())}
	if j.sensitiveNotify != "" {
		d["notify"] = j.sensitiveNotify
	}
	return []audit.Event{{Type: audit.EventSensitiveContentDetected, JobID: j.ID, Owner: j.Owner,
		Actor: audit.ActorSystem, Queue: j.Queue, Details: d}}
}

// myNumberFloor keeps the jobs a queue protects as holding an individual
// number from sessions whose sign-in at dev is not two-factor: they are
// as invisible to them as another user's.
func (s *Service) myNumberFloor(db *gorm.DB, method string, dev Device) *gorm.DB {
	// A job not yet searched is no one's to release.
	db = db.Where("sensitive <> ?", sensitivePending)
	if twoFactor(method, dev) {
		return db
	}
	var protecting []string
	for _, q := range s.queues {
		if q.policy() == MyNumberProtect {
			protecting = append(protecting, q.Name)
		}
	}
	if len(protecting) == 0 {
		return db
	}
	return db.Where("(sensitive = '' OR queue NOT IN ?)", protecting)
}

// myNumberTTL is how long q holds a job holding an individual number.
func (q Queue) myNumberTTL() time.Duration {
	ttl := q.MyNumberTTL
	if ttl <= 0 {
		ttl = DefaultMyNumberTTL
	}
	if q.TTL > 0 && q.TTL < ttl {
		ttl = q.TTL
	}
	return ttl
}

// expireSensitive expires the held jobs of q that hold an individual
// number once their shorter time is up.
func (s *Service) expireSensitive(ctx context.Context, q Queue) error {
	var jobs []Job
	err := s.db.WithContext(ctx).Omit("password_hash").
		Where("queue = ? AND state = ? AND sensitive = ? AND created_at < ?", q.Name, StateHeld, SensitiveMyNumber,
			s.now().Add(-q.myNumberTTL())).Limit(500).Find(&jobs).Error
	if err != nil {
		return dbErr("find jobs to expire", err)
	}
	for _, j := range jobs {
		if _, err := s.transition(ctx, &j, change{from: []State{StateHeld}, to: StateExpired, reason: "job-expired",
			message: "The job holds an individual number and was not released in time; it was deleted."}); err != nil {
			return err
		}
	}
	return nil
}

// sensitivePending is Job.Sensitive of a held job whose document is still
// to be searched: no session sees it until it has been.
const sensitivePending = "pending"

// inspectLater reports whether j, on a hold queue, is searched after its
// commit, off the submission's path (inspector), rather than before: it
// is held anyway, and stays invisible to every device until searched. A
// direct queue's job is searched before its commit, as it prints at once.
func (s *Service) inspectLater(q Queue, j *Job) bool {
	if q.Mode != Hold || q.policy() == MyNumberOff || s.text == nil ||
		!(j.Format == convert.PDF || j.Format == convert.PostScript) {
		return false
	}
	j.Sensitive = sensitivePending
	return true
}

// wakeInspector tells the inspector a job waits to be searched.
func (s *Service) wakeInspector(j Job) {
	if j.Sensitive != sensitivePending {
		return
	}
	// The inspector's wait for a quiet moment counts from the end of the
	// job's arrival (arriving).
	select {
	case s.inspectWake <- struct{}{}:
	default:
	}
}

// inspector searches the held jobs waiting for it, when woken and every
// sweep (jobs left by a restart).
func (s *Service) inspector(ctx context.Context) {
	t := time.NewTicker(s.sweepEvery)
	defer t.Stop()
	for {
		for s.inspectPending(ctx) {
		}
		select {
		case <-ctx.Done():
			return
		case <-s.inspectWake:
		case <-t.C:
		}
	}
}

// inspectPending searches a few waiting jobs and records what it found;
// it reports whether more may wait.
func (s *Service) inspectPending(ctx context.Context) bool {
	var jobs []Job
	err := s.db.WithContext(ctx).Omit("password_hash").Where("sensitive = ? AND state = ?", sensitivePending, StateHeld).
		Order("id").Limit(20).Find(&jobs).Error
	if err != nil {
		s.log.Warn("release: find jobs to search for individual numbers", "err", dbErr("find", err))
		return false
	}
	gave := false
	for _, j := range jobs {
		if !s.overdue(&j) && !s.waitQuiet(ctx) {
			return false
		}
		// Nobody waits for the inspector's searches: they run at the
		// lowest priority, and give way to a user's search of the job
		// and to arriving documents (giveway.go).
		left, err := s.searchOnce(ctx, &j, false)
		if errors.Is(err, errGaveWay) {
			return true
		}
		if err != nil {
			s.log.Warn("release: search a held job for individual numbers", "job", j.ID, "err", err)
			return false
		}
		gave = gave || left
	}
	// A job left to a user's search would be read again at once, still
	// pending: the next wake or tick looks again.
	return len(jobs) == 20 && !gave
}

// measureColor returns what job id's document holds, colour or
// monochrome (convert.ContentColor), for its record's colour (audit
// ColorFacts), measured with x's tools: the inspector's at the lowest
// priority, so that a Ghostscript run over every page of a large
// document does not take the processor from the submissions arriving
// meanwhile. A document it cannot tell is unmeasured: "".
func (s *Service) measureColor(ctx context.Context, x *convert.TextExtractor, id int64, format string, doc io.Reader) audit.Color {
	c, err := x.ContentColor(ctx, doc, format)
	if err != nil {
		s.log.Debug("release: measure a held job's colour", "job", id, "err", err)
		return ""
	}
	if c == audit.ColorColor || c == audit.ColorMono {
		return c
	}
	return ""
}

// searchedEvents are the events of held job j's search: what its
// document holds, or that it could not be searched, or that it holds
// nothing. The submission recorded the name keyed; unless a number was
// found (or the queue hides names) the last two record it in clear, so
// that history shows it.
func searchedEvents(q Queue, j *Job) []audit.Event {
	if evs := sensitiveEvents(q, j); len(evs) > 0 {
		return evs
	}
	d := map[string]string{"kind": SensitiveMyNumber}
	if !q.HideNames {
		d[audit.DetailDocumentName] = orName(j)
	}
	return []audit.Event{{Type: audit.EventSensitiveContentAbsent, JobID: j.ID, Owner: j.Owner, Actor: audit.ActorSystem,
		Queue: j.Queue, Details: d}}
}

// inspectOwner searches owner's held jobs that still wait for the
// inspector, before a device lists them or releases one not yet searched
// (releaseTargets): a user at the printer a moment after printing finds
// the job there. The inspector and
// this do not search one job at once (searchOnce); of two printgate
// instances searching one job, only the first records it.
func (s *Service) inspectOwner(ctx context.Context, owner string) error {
	if s.text == nil {
		return nil
	}
	var jobs []Job
	err := s.db.WithContext(ctx).Omit("password_hash").
		Where("owner = ? AND sensitive = ? AND state = ?", owner, sensitivePending, StateHeld).
		Order("id").Limit(50).Find(&jobs).Error
	if err != nil {
		return dbErr("find jobs to search for individual numbers", err)
	}
	for _, j := range jobs {
		// The user waits for this search: at normal priority, and after
		// the inspector's search of the job if one runs.
		if _, err := s.searchOnce(ctx, &j, true); err != nil {
			return dbErr("record the search for individual numbers", err)
		}
	}
	return nil
}

// printedSensitive adds to the details of a printed event that the job
// held an individual number, and the group to tell.
func (s *Service) printedSensitive(details map[string]string) map[string]string {
	out := make(map[string]string, len(details)+2)
	for k, v := range details {
		out[k] = v
	}
	out["sensitive"] = SensitiveMyNumber
	if s.myNumberNotify != "" {
		out["notify"] = s.myNumberNotify
	}
	return out
}

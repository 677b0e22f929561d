package release

import (
	"context"
	"io"
	"slices"
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

// MyNumberMethods are the sign-in methods that may release a job holding
// an individual number: two factors.
var MyNumberMethods = []string{audit.MethodCardPIN}

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

// inspect looks for individual numbers in doc, the plaintext of j's
// document, on a queue that looks for them, and records on j what it
// found: never a number, only the count and the pages. The text lives in
// a pipe and the scanner's few bytes. A document that cannot be read is
// accepted, the failure recorded with it.
func (s *Service) inspect(ctx context.Context, q Queue, j *Job, doc io.Reader) {
	if q.policy() == MyNumberOff || !(j.Format == convert.PDF || j.Format == convert.PostScript) {
		return
	}
	if s.text == nil {
		j.sensitiveCheck = "unavailable"
		return
	}
	sc := mynumber.Scanner{FirstPage: 1}
	if j.Format == convert.PostScript {
		sc.FirstPage = 0 // txtwrite's pages begin with a form feed
	}
	if err := s.text.Text(ctx, doc, j.Format, &sc); err != nil {
		// The error names a limit or an exit status, never the text.
		s.log.Warn("release: look for individual numbers", "queue", q.Name, "err", err)
		j.sensitiveCheck = "failed"
		return
	}
	f := sc.Finding()
	if f.Count == 0 {
		return
	}
	j.Sensitive, j.sensitiveCount, j.sensitivePages = SensitiveMyNumber, f.Count, f.Pages
	j.sensitiveNotify = s.myNumberNotify
}

// inspectStored inspects j's document stored in a spool file, decrypting
// it on the fly.
func (s *Service) inspectStored(ctx context.Context, q Queue, j *Job) {
	if q.policy() == MyNumberOff || !(j.Format == convert.PDF || j.Format == convert.PostScript) {
		return
	}
	doc, err := s.spool.Open(j.Spool, j.WrappedKey)
	if err != nil {
		s.log.Warn("release: look for individual numbers", "queue", q.Name, "err", err)
		j.sensitiveCheck = "failed"
		return
	}
	defer doc.Close()
	s.inspect(ctx, q, j, io.NewSectionReader(&blockCache{r: doc}, 0, doc.Size()))
}

// sensitiveEvents are the events of j's submission that say what its
// document holds: sensitive-content-detected with the kind, the count
// and the pages, and for the people responsible the group to tell.
func sensitiveEvents(q Queue, j *Job) []audit.Event {
	if j.Sensitive == "" {
		return nil
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
// number from sessions whose sign-in is not two-factor: they are as
// invisible to them as another user's.
func (s *Service) myNumberFloor(db *gorm.DB, method string) *gorm.DB {
	if slices.Contains(MyNumberMethods, method) {
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
		Where("queue = ? AND state = ? AND sensitive <> '' AND created_at < ?", q.Name, StateHeld,
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

// Package release is printgate's domain: queues, held jobs and their state
// machine, the encrypted spool, forwarding to printers and expiry. It
// answers in its own error words (errors.go); ippbackend.go serves it to
// IPP clients and translates them to IPP statuses.
package release

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/audit/pages"
	"github.com/printgate/printgate/internal/bufpool"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release/convert"
	"github.com/printgate/printgate/release/credential"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/owner"
	"github.com/printgate/printgate/release/printerinfo"
	"github.com/printgate/printgate/release/qrlink"
	"github.com/printgate/printgate/release/rules"
	"github.com/printgate/printgate/release/spool"
	"github.com/printgate/printgate/release/stamp"
	"github.com/printgate/printgate/release/throttle"
)

// Options configure a Service.
type Options struct {
	DB     *database.DB
	Spool  *spool.Spool
	Queues []Queue
	// Client forwards documents to printers.
	Client *ipp.Client
	// Directory checks the passwords of auth: basic queues.
	Directory directory.Directory
	// Owners maps the names jobs arrive under on queues that trust
	// requesting-user-name to directory users; nil takes every name as
	// it comes and knows no owner as unknown.
	Owners *owner.Mapper
	// Audit records every change; a change whose record cannot be
	// written does not happen.
	Audit *audit.Log
	// Credentials checks PINs and cards at devices.
	Credentials *credential.Store
	// Throttle limits failed sign-ins per device (its throttle.Device
	// rule); nil limits nothing.
	Throttle *throttle.Store
	// Passwords checks directory passwords (IPP Basic, self-enrolment)
	// under the account and address limits; nil checks them with
	// Directory alone.
	Passwords *throttle.Passwords
	// SessionIdle ends a device session unused this long (default 60 s).
	SessionIdle time.Duration
	// SpoolQuota refuses new documents once the documents held, in
	// spool files and in the database, take this many bytes (0: no
	// quota); held jobs are never touched.
	SpoolQuota int64
	// SpoolShare refuses new documents once the spool holds this
	// percentage of the space it could use, its own size plus the free
	// space of its file system (0: no such quota).
	SpoolShare int
	// FreeSpace reports the free space of the spool's file system
	// (default: the Spool's Free).
	FreeSpace func() (int64, error)
	// MaxHeldPerUser refuses a document that would take the documents
	// one owner keeps in the spool over this many bytes (0: no limit).
	MaxHeldPerUser int64
	// PageBudget bounds the work of counting one document's pages; its
	// zero fields take pages.DefaultBudget's.
	PageBudget pages.Budget
	// MaxCountedPDF is the largest PDF whose pages are counted (default
	// 32 MiB): pdfcpu holds a PDF whole, at up to some 25 times its size.
	MaxCountedPDF int64
	// SharedSpool says other instances use the same spool directory, so
	// start-up leaves their recent files alone.
	SharedSpool bool
	// Instance names this printgate process among several sharing a
	// database, stable across restarts (kept in the data dir).
	Instance string
	// SweepEvery is how often held jobs are checked for expiry (default
	// 10 s).
	SweepEvery time.Duration
	Log        *slog.Logger
	// KeepFinished is how long the row of an ended job, and of an ended
	// device session, is kept before the sweeper deletes it (default
	// DefaultKeepFinished); the audit trail keeps the record.
	KeepFinished time.Duration
	// DatabaseID is the identity of the database (database.DB.ID). New
	// documents are named with it, and start-up removes as orphans only
	// documents that carry it: a document written for another database is
	// never deleted.
	DatabaseID string
	// Now is the clock of every decision that depends on time: job
	// states, expiry, reprint windows, retention and session idle
	// timeouts; default time.Now.
	Now func() time.Time
	// SmallDocument is the largest document kept in the database with
	// its job rather than in a spool file (default DefaultSmallDocument;
	// negative: every document goes to a file).
	SmallDocument int
	// JournalDir is the folder of the journal that makes submissions
	// durable before their rows are written (journaled.go); empty writes
	// every batch in the database before answering. serve sets it unless
	// database.journal is false or the spool is shared
	// (docs/PIPELINE.md, "The journal"). Not with SharedSpool: the
	// journal's applier writes documents into the spool's segments.
	JournalDir string
	// BeforeCommit, if set, runs inside each batch's transaction once
	// its rows are written, just before the commit, with the IDs of its
	// jobs. Crash tests pause there to kill printgate mid-batch.
	BeforeCommit func(jobs []int64)
	// Stamper stamps the jobs of queues with a Stamp, and StampCodes
	// makes and indexes their verification codes; without them such a
	// queue's jobs are not printed.
	Stamper    *stamp.Stamper
	StampCodes *stamp.Codes
	// Converter converts documents for printers that do not take them
	// as they are; nil converts nothing, and such a print is held.
	Converter *convert.Converter
	// GroupRules are the print rules of directory groups, each with its
	// group as Scope; they need a directory.GroupDirectory.
	GroupRules []rules.Rules
	// NewSpool says the spool directory belonged to no database before
	// this start. Start refuses a new, empty spool while this instance's
	// jobs have documents: it is the wrong directory, and recovery would
	// abort every one of them as document-missing.
	NewSpool bool
	// Printers knows what the printers can print and whether they can
	// print now; nil means a cache with printerinfo's defaults over
	// Client. Start refreshes it for every device's printer.
	Printers *printerinfo.Cache
	// Unsupported says what a release does with a job option its printer
	// cannot honour; zero fields take printerinfo.DefaultPolicy's.
	Unsupported printerinfo.Policy
	// Text reads the text of documents for content inspection (My
	// Number); nil inspects nothing, and the submitted event of each PDF
	// or PostScript job on a queue that looks says so.
	Text *convert.TextExtractor
	// MyNumberNotify names the group to tell (事務取扱責任者) of jobs
	// holding an individual number, in their audit events.
	MyNumberNotify string
	// Observer hears of every committed job move and failed sign-in
	// (metrics, the job log); nil tells nobody.
	Observer Observer
	// QRKey is the server key the devices' QR links are signed under
	// (RemoteRelease, release/qrlink), at least qrlink.MinKeyLength
	// bytes, kept outside the database and the same on every instance;
	// nil makes no QR links.
	QRKey []byte
	// QRLifetime is how long a QR link shown on a kiosk stays valid
	// (default DefaultQRLifetime).
	QRLifetime time.Duration
}

// Service holds the queues and jobs; IPP reaches it through IPP().
type Service struct {
	db    *database.DB
	texts *database.Texts // of the committer's statements
	// ids are the job IDs the committer takes ahead from the sequence
	// (PostgreSQL; alone.go).
	ids idSupply
	// docScratch is where the committer puts a batch's small documents end
	// to end for PostgreSQL (pgDocuments).
	docScratch []byte
	// counted are the owners whose held_bytes row the committer, or
	// with a journal whoever holds its applying lock, knows exists
	// (PostgreSQL; alone.go).
	counted map[string]bool
	spool   *spool.Spool
	queues  map[string]Queue
	client  *ipp.Client
	dir     directory.Directory
	owners  *owner.Mapper
	audit   *audit.Log
	creds   *credential.Store
	// throttle and passwords may be nil: nothing is limited.
	throttle  *throttle.Store
	passwords *throttle.Passwords
	// stamper and stampCodes may be nil: no queue is stamped.
	stamper    *stamp.Stamper
	stampCodes *stamp.Codes
	converter  *convert.Converter
	// text reads documents' text for content inspection; may be nil.
	text           *convert.TextExtractor
	textBackground *convert.TextExtractor
	myNumberNotify string
	// inspectWake wakes the inspector (mynumber.go). For it to give way
	// to submissions (giveway.go): lastSubmit is when the last document
	// arrived, in Unix nanoseconds; receiving counts the documents
	// arriving now, and arrivals tells that one began.
	inspectWake chan struct{}
	lastSubmit  atomic.Int64
	receiving   atomic.Int32
	arrivals    chan struct{}
	searching   searching
	// devicePrinters caches which printers stand behind each hold queue.
	devicePrinters printerLists
	// delivering are the jobs this process is printing or about to
	// (orphans.go).
	delivering delivering

	sessionIdle time.Duration
	sweepEvery  time.Duration
	instance    string
	busyWait    time.Duration
	quota       int64
	spoolShare  int
	freeSpace   func() (int64, error)
	free        freeCache
	maxHeld     int64
	sharedSpool bool
	// used approximates the spool's size: recounted by the sweeper,
	// raised by each stored document.
	used  atomic.Int64
	log   *slog.Logger
	pages pages.Counter
	// counting limits concurrent page counts: a PDF parse needs memory in
	// proportion to the document.
	counting chan struct{}

	keepFinished time.Duration
	// docPrefix starts the name of every document this database's jobs
	// write (see Options.DatabaseID).
	docPrefix string
	now       func() time.Time
	// scrub wakes the scrubber after a key or a hidden name is destroyed.
	scrub    chan struct{}
	newSpool bool
	// groupRules are the print rules of directory groups.
	groupRules []rules.Rules

	// commits takes submissions to the committer (committer.go); group
	// writes them.
	commits chan *submission
	group   *database.GroupCommitter
	// syncs takes the committed batches of commitDirect to the syncer
	// (syncer.go).
	syncs chan []*submission
	// waiting counts the submissions waiting for the committer to take
	// them: the next batch.
	waiting atomic.Int32
	// submitting counts the Print-Job requests under way, from their
	// start to their answer: the journal's measure of load.
	submitting   atomic.Int32
	beforeCommit func(jobs []int64)
	// beforeLogSync, when set (tests), is called before each fsync of
	// SQLite's log that answers clients (syncAndAnswer).
	beforeLogSync func()
	// beforeClaim, when set (tests), is called as a device's release
	// claims a job, before the claim's transaction.
	beforeClaim func(job int64)
	// beforeSearch, when set (tests), is called as an inspector's search
	// of a job begins, with the search's context.
	beforeSearch func(search context.Context, job int64)
	// journalDir and journal are the journal-first path (journaled.go);
	// journal is nil without one.
	journalDir string
	journal    *journaled
	// journalName names the journal's rows (JournalName).
	journalName string
	// beforeApply, set by tests, runs before the applier's transaction;
	// its error fails the apply.
	beforeApply func() error
	// afterApply, set by tests, runs once the applier's transaction has
	// committed; its error is reported as the commit's, as a context that
	// ended during the COMMIT is.
	afterApply func() error
	// aloneApplied, set by tests, hears the outcome of each statement
	// the applier sends on PostgreSQL (applyAlone).
	aloneApplied func(error)
	// segmentSize is where the applier starts a new spool segment
	// (segmentSize, the constant; tests set less); beforeSegmentSync, set
	// by tests, runs before the segments' sync, and its error fails it.
	segmentSize       int64
	beforeSegmentSync func() error
	// awaitingEarlierWrites, set by tests, runs each time start-up finds
	// a crashed process's writes still running (awaitEarlierWrites).
	awaitingEarlierWrites func()
	// segs are the committer's spool segments on PostgreSQL
	// (pgsegments.go); nil without them.
	segs *docSegments
	// smallDoc is the largest document kept in the database; negative
	// keeps none there.
	smallDoc int
	// plainBufs and sealedBufs hold the buffers of the submission path
	// (docstore.go).
	plainBufs, sealedBufs *bufpool.Pool

	// printers is what the printers said of themselves; unsupported
	// what to do with options they cannot honour (forward.go).
	printers    *printerinfo.Cache
	unsupported printerinfo.Policy
	// observer may be nil (observe.go).
	observer Observer

	// qr signs the devices' QR links; nil when no key was given.
	qr         *qrlink.Signer
	qrLifetime time.Duration

	// ctx lives as long as the Service; background work stops with it.
	ctx       context.Context
	stop      context.CancelFunc
	work      sync.WaitGroup
	closeOnce sync.Once
}

// New returns a Service over opts. Call Start before serving.
func New(opts Options) (*Service, error) {
	if opts.DB == nil || opts.Spool == nil || opts.Audit == nil {
		return nil, errors.New("release: a database, a spool and an audit log are required")
	}
	s := &Service{
		db:     opts.DB,
		spool:  opts.Spool,
		queues: make(map[string]Queue, len(opts.Queues)),
		client: opts.Client,
		dir:    opts.Directory,
		owners: opts.Owners,
		audit:  opts.Audit,
		creds:  opts.Credentials,

		throttle:  opts.Throttle,
		passwords: opts.Passwords,

		stamper:    opts.Stamper,
		stampCodes: opts.StampCodes,
		converter:  opts.Converter,

		text:           opts.Text,
		textBackground: opts.Text.Background(),
		myNumberNotify: opts.MyNumberNotify,

		sessionIdle: cmp.Or(opts.SessionIdle, 60*time.Second),
		sweepEvery:  cmp.Or(opts.SweepEvery, 10*time.Second),
		instance:    cmp.Or(opts.Instance, "local"),
		busyWait:    2 * time.Minute,
		quota:       opts.SpoolQuota,
		spoolShare:  opts.SpoolShare,
		freeSpace:   opts.FreeSpace,
		maxHeld:     opts.MaxHeldPerUser,
		sharedSpool: opts.SharedSpool,
		log:         opts.Log,
		// PDFs are parsed in memory by pdfcpu; past this size the count
		// is recorded as unknown so memory stays flat in document size.
		pages:    pages.Counter{MaxPDFSize: cmp.Or(opts.MaxCountedPDF, 32<<20), Budget: opts.PageBudget, Readers: new(pages.Readers)},
		counting: make(chan struct{}, 2),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.keepFinished = cmp.Or(opts.KeepFinished, DefaultKeepFinished)
	s.docPrefix = docPrefix(opts.DatabaseID)
	s.scrub = make(chan struct{}, 1)
	s.inspectWake = make(chan struct{}, 1)
	s.arrivals = make(chan struct{}, 1)
	s.newSpool = opts.NewSpool
	if len(opts.GroupRules) > 0 {
		if _, ok := opts.Directory.(directory.GroupDirectory); !ok {
			return nil, errors.New("release: print rules by group need a directory that knows groups (LDAP)")
		}
		s.groupRules = opts.GroupRules
	}
	s.texts = database.NewTexts(opts.DB.Dialect)
	s.counted = make(map[string]bool)
	s.commits = make(chan *submission)
	s.syncs = make(chan []*submission)
	s.beforeCommit = opts.BeforeCommit
	if opts.JournalDir != "" && opts.SharedSpool {
		return nil, errors.New("release: a journal with a shared spool")
	}
	s.journalDir = opts.JournalDir
	s.journalName = JournalName(opts.DB.Dialect, s.instance)
	s.smallDoc = cmp.Or(opts.SmallDocument, DefaultSmallDocument)
	s.segmentSize = segmentSize
	s.ids = idSupply{fetch: s.fetchJobIDs, goFetch: s.goBackground}
	s.newBufferPools()
	s.now = func() time.Time { return time.Now().UTC() }
	if opts.Now != nil {
		// Times are compared as stored, and they are stored in UTC.
		s.now = func() time.Time { return opts.Now().UTC() }
	}
	if s.client == nil {
		s.client = &ipp.Client{}
	}
	if s.freeSpace == nil {
		s.freeSpace = opts.Spool.Free
	}
	s.printers, s.unsupported = opts.Printers, opts.Unsupported
	s.observer = opts.Observer
	if s.printers == nil {
		s.printers = printerinfo.New(printerinfo.Options{Client: s.client, Now: opts.Now, Log: s.log})
	}
	if len(opts.QRKey) > 0 {
		signer, err := qrlink.New(opts.QRKey)
		if err != nil {
			return nil, fmt.Errorf("release: %w", err)
		}
		s.qr = signer
	}
	s.qrLifetime = cmp.Or(opts.QRLifetime, DefaultQRLifetime)
	for _, q := range opts.Queues {
		if _, dup := s.queues[q.Name]; dup {
			return nil, fmt.Errorf("release: queue %q defined twice", q.Name)
		}
		s.queues[q.Name] = q
	}
	s.ctx, s.stop = context.WithCancel(context.Background())
	return s, nil
}

// Start recovers from an unclean stop and starts background work.
func (s *Service) Start(ctx context.Context) error {
	if s.journalDir != "" {
		// Before recovery, which judges spool files by the jobs that
		// name them.
		if err := s.startJournal(ctx); err != nil {
			return err
		}
	}
	if err := s.recover(ctx); err != nil {
		return err
	}
	if err := s.countUsage(); err != nil {
		return err
	}
	// With a journal, a batch written straight puts its documents into
	// the applier's segments (directToSegment).
	if s.journal == nil {
		if err := s.startDocSegments(ctx); err != nil {
			return err
		}
	}
	if s.group == nil {
		g, err := s.db.NewGroupCommitter(ctx)
		if err != nil {
			return fmt.Errorf("release: %w", err)
		}
		s.group = g
	}
	s.goBackground(s.committer)
	s.goBackground(s.syncer)
	s.goBackground(s.sweep)
	s.goBackground(s.scrubber)
	if s.text != nil {
		s.goBackground(s.inspector)
	}
	s.goBackground(func(ctx context.Context) { s.printers.Run(ctx, s.printerURIs) })
	// An unclean stop may have left destroyed keys in the WAL.
	s.scrubSoon()
	return nil
}

// Close stops background work and waits for it, the batch being
// committed included; the submissions not yet in a batch are refused.
// Closing twice does nothing more.
func (s *Service) Close() {
	s.closeOnce.Do(func() {
		s.stop()
		s.work.Wait()
		if s.journal != nil {
			s.db.SetBarrier(nil)
			if err := s.journal.j.Close(); err != nil {
				s.log.Error("release: close the journal", "err", err)
			}
			// Closed already, unless the last sync failed: then what
			// they hold is still in the journal.
			s.journal.segs.Close()
			s.journal.unlock()
		}
		s.closeDocSegments()
		if s.group != nil {
			if err := s.group.Close(); err != nil {
				s.log.Error("release: close the committer's connection", "err", err)
			}
		}
	})
}

// go runs f in the background until the Service closes.
func (s *Service) goBackground(f func(ctx context.Context)) {
	s.work.Add(1)
	go func() {
		defer s.work.Done()
		f(s.ctx)
	}()
}

// countUsage recounts the bytes the documents take: the spool's files
// and the documents kept in the database.
func (s *Service) countUsage() error {
	n, err := s.spool.Usage()
	if err != nil {
		return fmt.Errorf("release: spool usage: %w", err)
	}
	var inDB int64
	err = s.db.WithContext(s.ctx).Model(&Job{}).Where("doc_in_db = ? AND spool <> ''", true).
		Select("COALESCE(SUM(size), 0)").Scan(&inDB).Error
	if err != nil {
		return dbErr("documents in the database", err)
	}
	s.used.Store(n + inDB)
	return nil
}

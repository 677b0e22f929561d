package monitor

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/printgate/printgate/internal/database"
)

// Sources of a monitored printer.
const (
	// SourceDevice is a device's printer, followed while the device is
	// registered.
	SourceDevice = "device"
	// SourceMonitor is a printer registered for monitoring only
	// (printgate printer add).
	SourceMonitor = "monitor"
)

// Errors of the registry.
var (
	// ErrNotFound means no printer of that name is monitored.
	ErrNotFound = errors.New("monitor: no such printer")
	// ErrExists means a printer of that name is already monitored.
	ErrExists = errors.New("monitor: printer already registered")
	// ErrBadPrinter means a printer's name, URI or SNMP settings are
	// not acceptable.
	ErrBadPrinter = errors.New("monitor: bad printer")
)

// Printer is one monitored printer with what its last poll found.
type Printer struct {
	// Name names it: the device's name, or the name given to printgate
	// printer add.
	Name string `gorm:"primaryKey"`
	// URI is where its job log and state are asked for (ipp://, ipps://).
	URI string
	// Source is SourceDevice or SourceMonitor.
	Source string
	// SNMPAddr is HOST:PORT of its SNMP agent, "" when not read.
	// SNMPCommunity is the SNMPv2c community sealed under a key derived
	// from the credentials key (community.go); it is a password of sorts
	// and is never logged or shown.
	SNMPAddr      string `gorm:"column:snmp_addr"`
	SNMPCommunity string `gorm:"column:snmp_community"`
	// SNMPVersion is Version3 for an agent read with a USM user
	// (SNMPUser, protocols SNMPAuth and SNMPPriv, the passphrases sealed
	// in SNMPKeys like a community), else Version2c ("" before v3).
	SNMPVersion string `gorm:"column:snmp_version"`
	SNMPUser    string `gorm:"column:snmp_user"`
	SNMPAuth    string `gorm:"column:snmp_auth"`
	SNMPPriv    string `gorm:"column:snmp_priv"`
	SNMPKeys    string `gorm:"column:snmp_keys"`
	// State is printer-state ("idle", "processing", "stopped"), or
	// "unreachable" when the printer did not answer its last poll.
	State string
	// Reasons are printer-state-reasons, comma-separated; Supplies the
	// supplies and their levels, "; "-separated.
	Reasons, Supplies string
	// LastPoll is when it last answered, LastTry when it was last asked,
	// LastError what went wrong then ("" when nothing).
	LastPoll, LastTry time.Time
	LastError         string
	// Failures counts polls failed in a row (backoff).
	Failures int
	// Counter is the last prtMarkerLifeCount read, CounterAt when.
	Counter   int64
	CounterAt time.Time
	CreatedAt time.Time
}

// TableName keeps the table name stable.
func (Printer) TableName() string { return "monitor_printers" }

// Stopped reports whether the printer cannot print as far as its last
// poll knows: stopped, or not answering.
func (p Printer) Stopped() bool { return p.State == "stopped" || p.State == StateUnreachable }

// StateUnreachable is Printer.State for a printer that did not answer.
const StateUnreachable = "unreachable"

// seenJob marks one printer job as recorded: observed, or matched to one
// of printgate's own. It is written in the same transaction as the audit
// event, so a job is recorded once across restarts and instances.
type seenJob struct {
	URI string `gorm:"primaryKey;column:uri"`
	Key string `gorm:"primaryKey"`
	// JobID is printgate's job the printer job was matched to, 0 for an
	// observed job.
	JobID  int64
	SeenAt time.Time
}

func (seenJob) TableName() string { return "monitor_seen_jobs" }

// matchedSend marks one send of one of printgate's jobs (the job, the
// printer, the printer job ID printgate recorded for it) as matched to a
// printer job, for good: a send prints once, so a later printer job that
// claims it (the printer's job IDs started again) is not it. A job sent
// again after a failed print is another send, matched on its own. It is
// written in the same transaction as the device-job-matched event, and
// deleted once the job's row is gone (forgetOld): printgate no longer
// knows the job's sends then.
type matchedSend struct {
	JobID        int64  `gorm:"primaryKey"`
	URI          string `gorm:"primaryKey;column:uri"`
	PrinterJobID int    `gorm:"primaryKey"`
	// Key names the printer job it was matched to.
	Key       string
	MatchedAt time.Time
}

func (matchedSend) TableName() string { return "monitor_matched_sends" }

// counterDay is one printer's life counter over one day (in the audit
// time zone): its first reading that day, its latest, and once the next
// day's first reading is in, the delta between the two days' first
// readings and whether it was reconciled.
type counterDay struct {
	URI        string `gorm:"primaryKey;column:uri"`
	Day        string `gorm:"primaryKey"`
	FirstCount int64
	FirstAt    time.Time
	LastCount  int64
	LastAt     time.Time
	// Delta is the pages the counter moved on this day, -1 until known.
	Delta int64
	// Expected is released plus observed pages over the same span.
	Expected   int64
	Reconciled bool
}

func (counterDay) TableName() string { return "monitor_counters" }

// migrations are the monitor's schema steps, in order.
var migrations = []database.Migration{{Name: "monitor tables", Up: createTables},
	{Name: "SNMPv3", Up: func(tx *gorm.DB, _ database.Dialect) error {
		return database.Exec(tx, `ALTER TABLE monitor_printers ADD COLUMN snmp_version TEXT NOT NULL DEFAULT ''`,
			`ALTER TABLE monitor_printers ADD COLUMN snmp_user TEXT NOT NULL DEFAULT ''`,
			`ALTER TABLE monitor_printers ADD COLUMN snmp_auth TEXT NOT NULL DEFAULT ''`,
			`ALTER TABLE monitor_printers ADD COLUMN snmp_priv TEXT NOT NULL DEFAULT ''`,
			`ALTER TABLE monitor_printers ADD COLUMN snmp_keys TEXT NOT NULL DEFAULT ''`)
	}},
	{Name: "matched jobs kept, alerts", Up: matchedAndAlerts},
	{Name: "matched sends", Up: matchedSends}}

// Migrate creates or updates the monitor's tables.
func Migrate(ctx context.Context, db *database.DB) error {
	return db.Migrate(ctx, "monitor", migrations)
}

// matchedAndAlerts adds the marks of matched printgate jobs, kept for
// good and taken from the seen marks still there, and of the alerts
// said once a day.
func matchedAndAlerts(tx *gorm.DB, d database.Dialect) error {
	ts := d.TimeType()
	return database.Exec(tx, `CREATE TABLE monitor_matched_jobs (
		job_id BIGINT NOT NULL PRIMARY KEY,
		uri TEXT NOT NULL,
		key TEXT NOT NULL,
		matched_at `+ts+` NOT NULL
	)`, `INSERT INTO monitor_matched_jobs (job_id, uri, key, matched_at)
		SELECT job_id, MIN(uri), MIN(key), MIN(seen_at) FROM monitor_seen_jobs WHERE job_id <> 0 GROUP BY job_id`,
		`CREATE INDEX monitor_seen_jobs_day ON monitor_seen_jobs (uri, seen_at)`,
		`CREATE TABLE monitor_alerts (
		uri TEXT NOT NULL,
		kind TEXT NOT NULL,
		day TEXT NOT NULL,
		at `+ts+` NOT NULL,
		PRIMARY KEY (uri, kind, day)
	)`)
}

// matchedSends keys the marks of matched printgate jobs by send (job,
// printer, printer job ID) rather than by job: a job held again after a
// failed print and released again prints as another printer job, which
// the mark by job made a job printed without printgate. A job's mark
// becomes the mark of its send with the printer job ID its row holds
// (release's jobs table, when the database has it), the one matched
// unless the job was sent again since; the mark of a job whose row is
// gone is of no more use.
func matchedSends(tx *gorm.DB, d database.Dialect) error {
	ts := d.TimeType()
	stmts := []string{`CREATE TABLE monitor_matched_sends (
		job_id BIGINT NOT NULL,
		uri TEXT NOT NULL,
		printer_job_id INTEGER NOT NULL,
		key TEXT NOT NULL,
		matched_at ` + ts + ` NOT NULL,
		PRIMARY KEY (job_id, uri, printer_job_id)
	)`}
	if tx.Migrator().HasTable(jobsTable) {
		stmts = append(stmts, `INSERT INTO monitor_matched_sends (job_id, uri, printer_job_id, key, matched_at)
			SELECT m.job_id, m.uri, j.printer_job_id, m.key, m.matched_at
			FROM monitor_matched_jobs m JOIN `+jobsTable+` j ON j.id = m.job_id AND j.printer = m.uri`)
	}
	return database.Exec(tx, append(stmts, `DROP TABLE monitor_matched_jobs`)...)
}

func createTables(tx *gorm.DB, d database.Dialect) error {
	ts := d.TimeType()
	return database.Exec(tx, `CREATE TABLE monitor_printers (
		name TEXT NOT NULL PRIMARY KEY,
		uri TEXT NOT NULL,
		source TEXT NOT NULL,
		snmp_addr TEXT NOT NULL DEFAULT '',
		snmp_community TEXT NOT NULL DEFAULT '',
		state TEXT NOT NULL DEFAULT '',
		reasons TEXT NOT NULL DEFAULT '',
		supplies TEXT NOT NULL DEFAULT '',
		last_poll `+ts+`,
		last_try `+ts+`,
		last_error TEXT NOT NULL DEFAULT '',
		failures INTEGER NOT NULL DEFAULT 0,
		counter BIGINT NOT NULL DEFAULT 0,
		counter_at `+ts+`,
		created_at `+ts+`
	)`, `CREATE TABLE monitor_seen_jobs (
		uri TEXT NOT NULL,
		key TEXT NOT NULL,
		job_id BIGINT NOT NULL DEFAULT 0,
		seen_at `+ts+` NOT NULL,
		PRIMARY KEY (uri, key)
	)`, `CREATE INDEX monitor_seen_jobs_job ON monitor_seen_jobs (job_id)`,
		`CREATE TABLE monitor_counters (
		uri TEXT NOT NULL,
		day TEXT NOT NULL,
		first_count BIGINT NOT NULL,
		first_at `+ts+` NOT NULL,
		last_count BIGINT NOT NULL,
		last_at `+ts+` NOT NULL,
		delta BIGINT NOT NULL DEFAULT -1,
		expected BIGINT NOT NULL DEFAULT 0,
		reconciled BOOLEAN NOT NULL DEFAULT FALSE,
		PRIMARY KEY (uri, day)
	)`)
}

// Registry adds, lists and removes monitored printers: the printgate
// printer commands and the console read it.
type Registry struct {
	db  *database.DB
	key []byte
	now func() time.Time
}

// NewRegistry returns the registry in db; key (the credentials key)
// seals SNMP communities; now nil means time.Now.
func NewRegistry(db *database.DB, key []byte, now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	return &Registry{db: db, key: key, now: now}
}

var printerName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// Spec is a printer to register for monitoring only.
type Spec struct {
	Name, URI string
	// SNMPAddr is HOST[:PORT] of its SNMP agent, "" for none;
	// SNMPCommunity its community (from standard input, never an
	// argument).
	SNMPAddr, SNMPCommunity string
	// SNMPv3, when set, reads the agent with this USM user instead of a
	// community.
	SNMPv3 *SNMPv3
}

// Add registers a printer for monitoring only; rec runs in the same
// transaction (the audit event of the change).
func (r *Registry) Add(ctx context.Context, s Spec, rec database.Hook) (Printer, error) {
	if !printerName.MatchString(s.Name) {
		return Printer{}, fmt.Errorf("%w: name %q: letters, digits, '.', '_' and '-', at most 63", ErrBadPrinter, s.Name)
	}
	u, err := url.Parse(s.URI)
	if err != nil || (u.Scheme != "ipp" && u.Scheme != "ipps") || u.Host == "" || u.User != nil {
		return Printer{}, fmt.Errorf("%w: URI must be ipp://HOST/... or ipps://HOST/...", ErrBadPrinter)
	}
	if s.SNMPAddr != "" {
		if s.SNMPAddr, err = snmpTarget(s.SNMPAddr); err != nil {
			return Printer{}, err
		}
		if err := checkSNMPAuth(&s); err != nil {
			return Printer{}, err
		}
	}
	p := Printer{Name: s.Name, URI: s.URI, Source: SourceMonitor, SNMPAddr: s.SNMPAddr, CreatedAt: r.now().UTC()}
	switch {
	case s.SNMPv3 != nil:
		p.SNMPVersion, p.SNMPUser, p.SNMPAuth, p.SNMPPriv = Version3, s.SNMPv3.User, s.SNMPv3.Auth, s.SNMPv3.Priv
		if p.SNMPKeys, err = sealV3(r.key, s.Name, *s.SNMPv3); err != nil {
			return Printer{}, err
		}
	case s.SNMPAddr != "":
		p.SNMPVersion = Version2c
		if p.SNMPCommunity, err = sealCommunity(r.key, s.Name, s.SNMPCommunity); err != nil {
			return Printer{}, err
		}
	}
	err = r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&p)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%w: %s", ErrExists, s.Name)
		}
		return rec.Run(tx)
	})
	if err != nil {
		return Printer{}, fmt.Errorf("monitor: add %s: %w", s.Name, err)
	}
	return p, nil
}

// checkSNMPAuth checks s's community or SNMPv3 settings: one of them.
func checkSNMPAuth(s *Spec) error {
	if s.SNMPv3 != nil {
		if s.SNMPCommunity != "" {
			return fmt.Errorf("%w: an SNMP community or SNMPv3 settings, not both", ErrBadPrinter)
		}
		v := *s.SNMPv3
		if err := v.check(); err != nil {
			return err
		}
		s.SNMPv3 = &v
		return nil
	}
	if s.SNMPCommunity == "" || len(s.SNMPCommunity) > 255 || strings.ContainsAny(s.SNMPCommunity, "\r\n\x00") {
		return fmt.Errorf("%w: an SNMP community of 1 to 255 characters is needed", ErrBadPrinter)
	}
	return nil
}

// Remove stops monitoring a printer registered with Add; rec runs in
// the same transaction.
func (r *Registry) Remove(ctx context.Context, name string, rec database.Hook) error {
	err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Where("name = ? AND source = ?", name, SourceMonitor).Delete(&Printer{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%w: %s", ErrNotFound, name)
		}
		return rec.Run(tx)
	})
	if err != nil {
		return fmt.Errorf("monitor: remove %s: %w", name, err)
	}
	return nil
}

// List returns every monitored printer, device printers included, by
// name.
func (r *Registry) List(ctx context.Context) ([]Printer, error) {
	var ps []Printer
	if err := r.db.WithContext(ctx).Order("name").Find(&ps).Error; err != nil {
		return nil, fmt.Errorf("monitor: list printers: %w", err)
	}
	return ps, nil
}

// syncDevices makes the device rows match devices (name → URI): new
// ones are added, moved ones changed, gone ones removed. It writes only
// when something changed: on SQLite every write transaction holds the one
// writer's lock that submissions need too.
func (r *Registry) syncDevices(ctx context.Context, devices map[string]string) error {
	var have []Printer
	if err := r.db.WithContext(ctx).Where("source = ?", SourceDevice).Find(&have).Error; err != nil {
		return err
	}
	if sameDevices(have, devices) {
		return nil
	}
	return r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("source = ?", SourceDevice).Find(&have).Error; err != nil {
			return err
		}
		for _, p := range have {
			uri, ok := devices[p.Name]
			switch {
			case !ok:
				if err := tx.Delete(&Printer{}, "name = ?", p.Name).Error; err != nil {
					return err
				}
			case uri != p.URI:
				if err := tx.Model(&Printer{}).Where("name = ?", p.Name).Update("uri", uri).Error; err != nil {
					return err
				}
			}
			delete(devices, p.Name)
		}
		for name, uri := range devices {
			p := Printer{Name: name, URI: uri, Source: SourceDevice, CreatedAt: r.now().UTC()}
			// A printer added for monitoring only under the same name
			// stays as it is.
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&p).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// sameDevices reports whether the stored device rows are devices.
func sameDevices(have []Printer, devices map[string]string) bool {
	if len(have) != len(devices) {
		return false
	}
	for _, p := range have {
		if devices[p.Name] != p.URI {
			return false
		}
	}
	return true
}

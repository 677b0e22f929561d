package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/audit/pages"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/convert"
	"github.com/printgate/printgate/release/credential"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/owner"
	"github.com/printgate/printgate/release/printerinfo"
	"github.com/printgate/printgate/release/rules"
	"github.com/printgate/printgate/release/stamp"
)

// Config is printgate's configuration file (configs/printgate.example.yaml
// documents every key).
type Config struct {
	DataDir  string         `yaml:"data_dir"`
	Database DatabaseConfig `yaml:"database"`
	Server   ServerConfig   `yaml:"server"`
	Spool    SpoolConfig    `yaml:"spool"`
	Log      LogConfig      `yaml:"log"`
	// Directory says where users come from.
	Directory DirectoryConfig `yaml:"directory"`
	// Owners says how the names jobs arrive under map to users.
	Owners OwnersConfig `yaml:"owners"`
	// Credentials sets the PIN policy and the lockout.
	Credentials CredentialsConfig `yaml:"credentials"`
	// Release sets how devices sign users in.
	Release ReleaseConfig `yaml:"release"`
	// Audit sets the record's time zone, retention and key.
	Audit AuditConfig `yaml:"audit"`
	// Pages bounds the work of counting one document's pages.
	Pages  PagesConfig   `yaml:"pages"`
	Queues []QueueConfig `yaml:"queues"`
	// Stamp sets the forensic stamp of queues with stamp: true.
	Stamp StampConfig `yaml:"stamp"`
	// Convert bounds the converter that turns documents into what their
	// printer takes (release/convert).
	Convert ConvertConfig `yaml:"convert"`
	// MyNumber configures the inspection of documents for individual
	// numbers (mynumber.go).
	MyNumber MyNumberConfig `yaml:"my_number,omitempty"`
	// Console sets the web console (single sign-on).
	Console ConsoleConfig `yaml:"console,omitempty"`
	// RulesByGroup are print rules for the members of directory groups,
	// on every queue, on top of the queue's own rules.
	RulesByGroup []rules.GroupConfig `yaml:"rules_by_group,omitempty"`
	// Monitoring sets how printers' own job logs and counters are
	// followed.
	Monitoring MonitoringConfig `yaml:"monitoring"`

	// queues are Queues as validate parsed them, defaults filled in: the
	// service runs these, so that the config is parsed once. Change
	// Queues only before validate.
	queues []release.Queue
	// groupRules are RulesByGroup as validate parsed them.
	groupRules []rules.Rules
	// metricsNetworks are Server.MetricsNetworks as validate parsed them.
	metricsNetworks []netip.Prefix
}

// DirectoryConfig selects the user directory.
type DirectoryConfig struct {
	// Type is "builtin" (users in printgate's database) or "ldap".
	Type string               `yaml:"type"`
	LDAP directory.LDAPConfig `yaml:"ldap,omitempty"`
}

// OwnersConfig says how the requesting-user-name of a job, on queues that
// trust it, becomes a directory user (release/owner): "CORP\hanako",
// "Hanako" and "hanako@corp.example" are all hanako's, and so is a name
// given as her alias (printgate alias add).
type OwnersConfig struct {
	// FoldCase compares names in lower case; default true.
	FoldCase bool `yaml:"fold_case"`
	// StripDomain drops "DOMAIN\" and "@domain"; default true.
	StripDomain bool `yaml:"strip_domain"`
	// CacheFor is how long the directory's answer for a name is kept, so
	// that a job asks the directory at most once per name and period;
	// default 30s. An alias or a user added counts for new jobs within
	// this time.
	CacheFor time.Duration `yaml:"cache_for"`
}

// ReleaseConfig sets device sessions and the sweeper.
type ReleaseConfig struct {
	// SessionIdle ends a device session unused this long; default 60s.
	SessionIdle time.Duration `yaml:"session_idle"`
	// SweepEvery is how often held jobs are checked for expiry; default 10s.
	SweepEvery time.Duration `yaml:"sweep_every"`
	// KeepFinished is how long ended jobs' rows and ended device sessions
	// stay in the database before the sweeper deletes them; default 168h.
	// The audit trail keeps the record of both.
	KeepFinished time.Duration `yaml:"keep_finished"`
	// DeviceMaxFailures failed sign-ins of any kind at one device within
	// DeviceFailureWindow make it refuse further sign-ins (HTTP 429) until
	// the window ends or an admin clears it; defaults 10 and 5m.
	DeviceMaxFailures   int           `yaml:"device_max_failures"`
	DeviceFailureWindow time.Duration `yaml:"device_failure_window"`
	// PrinterRefresh is how often every device's printer (and every
	// direct queue's) is asked for its capabilities and state; default
	// 60s.
	PrinterRefresh time.Duration `yaml:"printer_refresh"`
	// PrinterFresh is how old a printer's state may be and still decide a
	// release without asking the printer again; default 5s.
	PrinterFresh time.Duration `yaml:"printer_fresh"`
	// PrinterTimeout bounds the question to the printer before a release;
	// default 3s.
	PrinterTimeout time.Duration `yaml:"printer_timeout"`
	// UnsupportedOptions says what a release does with a job option its
	// printer cannot honour.
	UnsupportedOptions UnsupportedOptionsConfig `yaml:"unsupported_options"`
	// QRLifetime is how long the QR code a kiosk shows stays valid (the
	// kiosk shows a new one halfway); default 5m.
	QRLifetime time.Duration `yaml:"qr_lifetime"`
	// QRLabelLifetime is how long a QR label printed from the console or
	// by printgate device qr stays valid; default 2160h (90 days).
	QRLabelLifetime time.Duration `yaml:"qr_label_lifetime"`
}

// UnsupportedOptionsConfig says, per job option, what a release does
// when the printer cannot honour it: "print" the nearest the printer
// can (recorded in the audit trail) or "refuse" (the job stays held,
// with the reason).
type UnsupportedOptionsConfig struct {
	// Copies more than the printer prints per job; default refuse.
	Copies printerinfo.Action `yaml:"copies"`
	// Sides two-sided on a one-sided printer; default print (one-sided).
	Sides printerinfo.Action `yaml:"sides"`
	// Color colour on a monochrome printer; default print (monochrome).
	Color printerinfo.Action `yaml:"color"`
	// Media paper the printer does not list; default print (the
	// printer's choice).
	Media printerinfo.Action `yaml:"media"`
}

// policy returns the options' policy.
func (u UnsupportedOptionsConfig) policy() printerinfo.Policy {
	return printerinfo.Policy{Copies: u.Copies, Sides: u.Sides, Color: u.Color, Media: u.Media}
}

// AuditConfig sets how the audit trail is kept and shown.
type AuditConfig struct {
	// TimeZone for exports and the console; default Asia/Tokyo.
	TimeZone string `yaml:"time_zone"`
	// RetentionYears is how long events are kept; default 7.
	RetentionYears int `yaml:"retention_years"`
	// KeyFile holds the key of the keyed chain hashes, hidden document
	// names, signed purge checkpoints and anchors; default
	// DATA_DIR/audit.key, generated on first start.
	KeyFile string `yaml:"key_file,omitempty"`
	// AnchorEvery is how often serve appends a signed anchor of the chain
	// head to AnchorFile (and once more at a clean shutdown); default 1m.
	AnchorEvery time.Duration `yaml:"anchor_every"`
	// AnchorFile is where anchors are appended; default
	// DATA_DIR/audit-anchors.log.
	AnchorFile string `yaml:"anchor_file,omitempty"`
	// Forward sends every event to a SIEM over syslog/TLS (siem.go).
	Forward ForwardConfig `yaml:"forward,omitempty"`
}

// CredentialsConfig sets how PINs and cards are checked and kept.
type CredentialsConfig struct {
	credential.Policy `yaml:",inline"`
	// KeyFile holds the HMAC key for card UIDs and, derived from it, the
	// pepper of PIN, job PIN and password hashes; default
	// DATA_DIR/credentials.key, generated on first start.
	KeyFile string `yaml:"key_file,omitempty"`
	// MaxPasswordFailures wrong directory passwords for one account
	// within lock_for, wherever typed (console, IPP Basic,
	// self-enrolment), refuse that account's password everywhere until
	// the period ends or an admin unlocks; default 10.
	MaxPasswordFailures int `yaml:"max_password_failures"`
	// MaxAddressFailures wrong passwords from one source address (an
	// IPv6 client's /64) within lock_for refuse further passwords from
	// it; default 30.
	MaxAddressFailures int `yaml:"max_address_failures"`
	// Argon2MemoryMB is the memory all argon2id checks running at once
	// may take (each takes 19 MiB); default 64, so 3 run at once.
	Argon2MemoryMB int64 `yaml:"argon2_memory_mb"`
	// Argon2Wait is how long a check waits for room before the request
	// is answered busy (HTTP 503, IPP server-error-busy); default 2s.
	Argon2Wait time.Duration `yaml:"argon2_wait"`
}

// PagesConfig is the budget of counting one document's pages
// (docs/LIMITS.md); over it, the job is accepted with its pages unknown.
type PagesConfig struct {
	// MaxDecodedMB caps the bytes decompressed from a document; default 32.
	MaxDecodedMB int64 `yaml:"max_decoded_mb"`
	// MaxObjects caps a PDF's objects and page tree nodes; default 250000.
	MaxObjects int `yaml:"max_objects"`
	// MaxTime caps the time one count takes; default 10s.
	MaxTime time.Duration `yaml:"max_time"`
	// MaxPDFMB is the largest PDF whose pages are counted; default 32.
	MaxPDFMB int64 `yaml:"max_pdf_mb"`
}

// ConvertConfig bounds each conversion of a document for a printer that
// does not take its format (docs/LIMITS.md).
type ConvertConfig struct {
	// MaxMemoryMB is the converter's address space; default 1024.
	MaxMemoryMB int64 `yaml:"max_memory_mb"`
	// MaxCPU is the processor time one conversion may take; default 2m.
	MaxCPU time.Duration `yaml:"max_cpu"`
	// Timeout is how long one conversion may run; default 3m.
	Timeout time.Duration `yaml:"timeout"`
}

// limits returns the converter's limits, the rest from convert's defaults.
func (c ConvertConfig) limits() convert.Limits {
	l := convert.DefaultLimits()
	l.Memory, l.CPU, l.Wall = c.MaxMemoryMB<<20, c.MaxCPU, c.Timeout
	return l
}

// budget returns the page counting budget.
func (p PagesConfig) budget() pages.Budget {
	return pages.Budget{DecodedBytes: p.MaxDecodedMB << 20, Objects: p.MaxObjects, Time: p.MaxTime}
}

// DatabaseConfig selects the database.
type DatabaseConfig struct {
	// URL is "" for embedded SQLite in the data dir, or postgres://...
	URL string `yaml:"url"`
	// Journal makes a submission durable with one append to a journal
	// in the data dir and writes its rows a few milliseconds later, off
	// the client's path (docs/PIPELINE.md, "The journal"). Unset, it is
	// on unless the spool is shared; false turns it off.
	Journal *bool `yaml:"journal"`
}

// journal reports whether submissions go through the journal.
func (c Config) journal() bool {
	if c.Database.Journal != nil {
		return *c.Database.Journal
	}
	return !c.Spool.Shared
}

// ServerConfig sets the listeners.
type ServerConfig struct {
	// Listen are plain-text addresses (IPP, HTTP).
	Listen []string `yaml:"listen"`
	// TLSListen are TLS addresses (IPPS, HTTPS) on the same engine.
	TLSListen []string `yaml:"tls_listen,omitempty"`
	// TLS names a certificate; without one a self-signed certificate is
	// generated into the data dir.
	TLS TLSConfig `yaml:"tls,omitempty"`
	// UploadIdle cuts off a request body that sends nothing this long.
	UploadIdle time.Duration `yaml:"upload_idle_timeout"`
	// MinUploadRate cuts off, after UploadGrace, a body averaging fewer
	// bytes per second.
	MinUploadRate int64         `yaml:"min_upload_rate"`
	UploadGrace   time.Duration `yaml:"upload_grace"`
	// AllowPlainCredentials accepts console passwords and release PINs
	// and passwords over plain HTTP from other machines. Off, they need
	// TLS unless the client is on loopback (or, for the release API,
	// its device allows plain credentials).
	AllowPlainCredentials bool `yaml:"allow_plain_credentials"`
	// BehindTLSProxy says that browsers reach the console through a
	// TLS-terminating proxy on this machine: its cookies are Secure, it
	// sends Strict-Transport-Security, and the links it makes for phones
	// (QR labels, the kiosk's code) say https.
	BehindTLSProxy bool `yaml:"behind_tls_proxy"`
	// GetJobsLimit is how many jobs one Get-Jobs lists at most, whatever
	// the client asks; default 500.
	GetJobsLimit int `yaml:"get_jobs_limit"`
	// MemoryLimitMB is the Go runtime's soft memory limit: past it the
	// garbage collector runs sooner instead of letting the heap double.
	// Default 28; 0: none. $GOMEMLIMIT, when set, wins.
	MemoryLimitMB int `yaml:"memory_limit_mb"`
	// DNSSD advertises the queues by DNS-SD through the system's Avahi
	// daemon: "auto" (default) where a D-Bus system bus is there, "on"
	// (serve fails without Avahi), or "off". See docs/DISCOVERY.md.
	DNSSD string `yaml:"dnssd"`
	// MetricsListen is an address of its own (host:port, plain HTTP) for
	// /metrics, /healthz and /readyz; set, the main listeners serve no
	// /metrics. Default: none, /metrics on the main listeners.
	MetricsListen string `yaml:"metrics_listen,omitempty"`
	// MetricsNetworks are the client networks that may read /metrics,
	// wherever it is served; default loopback only.
	MetricsNetworks []string `yaml:"metrics_networks,omitempty"`
}

// TLSConfig names a certificate and its key (PEM).
type TLSConfig struct {
	CertFile string `yaml:"cert_file,omitempty"`
	KeyFile  string `yaml:"key_file,omitempty"`
	// Hostnames are added to a generated certificate besides localhost.
	Hostnames []string `yaml:"hostnames,omitempty"`
}

// SpoolConfig sets where documents are kept and how they are encrypted.
type SpoolConfig struct {
	// MasterKeyFile holds the key that wraps every document key; default
	// DATA_DIR/master.key, generated on first start.
	MasterKeyFile string `yaml:"master_key_file"`
	// QuotaMB refuses new jobs once the spool holds this much (0: none).
	QuotaMB int64 `yaml:"quota_mb"`
	// QuotaPercentOfFree refuses new jobs once the spool holds this share
	// of the space it could use (its size plus the free disk); default 50,
	// 0: none.
	QuotaPercentOfFree int `yaml:"quota_percent_of_free"`
	// MaxHeldMBPerUser refuses a document that would take one user's
	// waiting documents over this much; default 2048, 0: no limit.
	MaxHeldMBPerUser int64 `yaml:"max_held_mb_per_user"`
	// Dir holds the encrypted documents; default DATA_DIR/spool. Instances
	// on one PostgreSQL that release each other's jobs share it (and the
	// master key) and set Shared.
	Dir    string `yaml:"dir,omitempty"`
	Shared bool   `yaml:"shared,omitempty"`
}

// LogConfig sets the log output.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
	// JobLog writes one line per job move (submitted, held, released,
	// printed, print-failed, canceled, expired) at info, in the log's
	// format and audit.time_zone (package joblog); default true.
	JobLog bool `yaml:"job_log"`
	// JobLogFile, when set, is where the job log goes instead of the
	// server log (appended, mode 0600), every line whatever log.level.
	JobLogFile string `yaml:"job_log_file,omitempty"`
	// UTC writes log timestamps in UTC; by default they are in
	// audit.time_zone with its offset, as every screen shows times.
	UTC bool `yaml:"utc,omitempty"`
}

// QueueConfig is one print queue.
type QueueConfig struct {
	Name            string       `yaml:"name"`
	Mode            release.Mode `yaml:"mode"`
	Printer         string       `yaml:"printer"`
	Formats         []string     `yaml:"formats,omitempty"`
	MaxDocumentMB   int64        `yaml:"max_document_mb"`
	Auth            release.Auth `yaml:"auth"`
	TrustedNetworks []string     `yaml:"trusted_networks,omitempty"`
	Info            string       `yaml:"info"`
	Location        string       `yaml:"location"`
	Color           *bool        `yaml:"color,omitempty"`
	// AllowPlaintextBasic lets an auth: basic queue take passwords on a
	// plain-text listener. Off by default: passwords travel only over TLS.
	AllowPlaintextBasic bool `yaml:"allow_plaintext_basic,omitempty"`
	// HideDocumentNames records document names in the audit trail as
	// keyed HMACs instead of clear text.
	HideDocumentNames bool `yaml:"hide_document_names,omitempty"`
	// TTL is how long a job stays held before it expires; default 24h.
	TTL time.Duration `yaml:"ttl,omitempty"`
	// KeepAfterPrint keeps a printed document for reprints; default 0.
	KeepAfterPrint time.Duration `yaml:"keep_after_print,omitempty"`
	// ReleaseRequires are the sign-in methods (card, card+pin, id+pin)
	// whose device sessions see and release this queue's jobs; default
	// all.
	ReleaseRequires []string `yaml:"release_requires,omitempty"`
	// ReleaseFromWeb lets owners send the queue's jobs from My page to a
	// device they choose, without being at it; default off. Leave it off
	// on queues whose jobs must wait for their owner at the printer.
	ReleaseFromWeb bool `yaml:"release_from_web,omitempty"`
	// Rules are the queue's print rules (プリント制御): force_monochrome,
	// force_two_sided, max_pages, formats, hours, weekdays.
	Rules rules.Config `yaml:"rules,omitempty"`
	// Stamp prints the forensic stamp on every page: owner, release
	// time, job ID and verification code. The queue then takes only PDF.
	Stamp bool `yaml:"stamp,omitempty"`
	// StampPosition is the corner of the stamp: bottom-right (default),
	// bottom-left, top-right or top-left.
	StampPosition string `yaml:"stamp_position,omitempty"`
	// StampFontSize is the stamp's size in points; default 7.
	StampFontSize int `yaml:"stamp_font_size,omitempty"`
	// UnknownOwner says what an auth: requesting-user-name queue does
	// with a job to hold sent under a name no directory user has:
	// "refuse" (default) or "hold" for an administrator to assign.
	UnknownOwner release.UnknownOwner `yaml:"unknown_owner,omitempty"`
	// AcceptUnknownAsOctetStream keeps a document whose content is not
	// its declared format, or in no format the queue accepts, as
	// application/octet-stream instead of refusing it. Off by default.
	AcceptUnknownAsOctetStream bool `yaml:"accept_unknown_as_octet_stream,omitempty"`
	// MyNumber says what becomes of a job whose document holds an
	// individual number: protect (default), flag or off.
	MyNumber release.MyNumberPolicy `yaml:"my_number,omitempty"`
	// MyNumberTTL is how long such a job stays held; default 4h.
	MyNumberTTL time.Duration `yaml:"my_number_ttl,omitempty"`
}

// StampConfig sets the forensic stamp's font.
type StampConfig struct {
	// FontFile is a TrueType font covering Latin and Japanese; default
	// the first found of stamp.DefaultFonts (IPA Gothic from Debian's
	// fonts-ipafont-gothic first).
	FontFile string `yaml:"font_file,omitempty"`
	// MaxPages is the most pages of a document a queue stamps; a release
	// of a longer one is refused (held, stamp-failed). Default 2000:
	// stamping time grows with the square of the pages.
	MaxPages int `yaml:"max_pages"`
}

// Defaults for settings the config leaves out.
var (
	defaultFormats = []string{"application/pdf", "application/octet-stream", "application/postscript",
		"image/jpeg", "image/pwg-raster", "image/urf"}
	defaultTrusted = []string{"127.0.0.0/8", "::1/128"}
)

const (
	defaultMaxDocumentMB      = 512
	defaultQuotaPercentOfFree = 50
	defaultMaxHeldMBPerUser   = 2048
	defaultMemoryLimitMB      = 28
)

func defaultConfig() Config {
	return Config{
		DataDir: "./var",
		Server: ServerConfig{Listen: []string{"127.0.0.1:8631"}, UploadIdle: ipp.DefaultBodyIdle,
			MinUploadRate: ipp.DefaultMinRate, UploadGrace: ipp.DefaultRateGrace,
			GetJobsLimit: ipp.DefaultJobsListLimit, MemoryLimitMB: defaultMemoryLimitMB, DNSSD: "auto"},
		Spool: SpoolConfig{QuotaPercentOfFree: defaultQuotaPercentOfFree, MaxHeldMBPerUser: defaultMaxHeldMBPerUser},
		Pages: PagesConfig{MaxDecodedMB: pages.DefaultBudget.DecodedBytes >> 20,
			MaxObjects: pages.DefaultBudget.Objects, MaxTime: pages.DefaultBudget.Time, MaxPDFMB: 32},
		Stamp: StampConfig{MaxPages: stamp.DefaultMaxPages},
		Convert: ConvertConfig{MaxMemoryMB: convert.DefaultLimits().Memory >> 20, MaxCPU: convert.DefaultLimits().CPU,
			Timeout: convert.DefaultLimits().Wall},
		Log:       LogConfig{Level: "info", Format: "text", JobLog: true},
		Directory: DirectoryConfig{Type: "builtin"},
		Owners:    OwnersConfig{FoldCase: true, StripDomain: true, CacheFor: owner.DefaultTTL},
		Credentials: CredentialsConfig{Policy: credential.DefaultPolicy(), Argon2MemoryMB: 64, Argon2Wait: 2 * time.Second,
			MaxPasswordFailures: 10, MaxAddressFailures: 30},
		Audit: AuditConfig{TimeZone: audit.DefaultTimeZone, RetentionYears: audit.DefaultRetentionYears,
			AnchorEvery: time.Minute},
		Release: ReleaseConfig{SessionIdle: 60 * time.Second, SweepEvery: 10 * time.Second, KeepFinished: release.DefaultKeepFinished,
			DeviceMaxFailures: 10, DeviceFailureWindow: 5 * time.Minute,
			PrinterRefresh: printerinfo.DefaultRefresh, PrinterFresh: printerinfo.DefaultFresh,
			PrinterTimeout: printerinfo.DefaultTimeout,
			QRLifetime:     release.DefaultQRLifetime, QRLabelLifetime: release.DefaultQRLabelLifetime,
			UnsupportedOptions: UnsupportedOptionsConfig{Copies: printerinfo.Refuse, Sides: printerinfo.Print,
				Color: printerinfo.Print, Media: printerinfo.Print}},
		Queues:     []QueueConfig{{Name: "secure", Mode: "hold"}},
		Monitoring: defaultMonitoring(),
	}
}

// loadConfig reads path ("" for the built-in defaults), applies the
// environment and the --data flag, and validates the result.
func loadConfig(path, dataFlag string) (Config, error) {
	cfg := defaultConfig()
	if path != "" {
		raw, fi, err := readConfigFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		if err := decodeConfig(raw, &cfg); err != nil {
			return Config{}, fmt.Errorf("config %s: %w", path, err)
		}
		if err := cfg.checkInlineSecrets(path, fi); err != nil {
			return Config{}, err
		}
	}
	if v, ok := os.LookupEnv("PRINTGATE_DATABASE_URL"); ok {
		cfg.Database.URL = v
	}
	if v, ok := os.LookupEnv("PRINTGATE_DATA_DIR"); ok && v != "" {
		cfg.DataDir = v
	}
	if dataFlag != "" {
		cfg.DataDir = dataFlag
	}
	if err := cfg.validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// readConfigFile reads the file at path and returns it with the
// information of the file it read.
func readConfigFile(path string) ([]byte, fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	raw, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, err
	}
	return raw, fi, nil
}

var unknownField = regexp.MustCompile(`line (\d+): field (\S+) not found`)

// decodeConfig decodes YAML, refusing keys it does not know.
func decodeConfig(raw []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	err := dec.Decode(cfg)
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		if m := unknownField.FindStringSubmatch(err.Error()); m != nil {
			return fmt.Errorf("line %s: unknown key %q", m[1], m[2])
		}
		return err
	}
	return nil
}

// spoolDir is where documents live.
func (c Config) spoolDir() string {
	if c.Spool.Dir != "" {
		return c.Spool.Dir
	}
	return filepath.Join(c.DataDir, "spool")
}

// spoolKeyFile is where the master key lives.
func (c Config) spoolKeyFile() string {
	if c.Spool.MasterKeyFile != "" {
		return c.Spool.MasterKeyFile
	}
	return filepath.Join(c.DataDir, "master.key")
}

// credentialKeyFile is where the card HMAC key lives.
func (c Config) credentialKeyFile() string {
	if c.Credentials.KeyFile != "" {
		return c.Credentials.KeyFile
	}
	return filepath.Join(c.DataDir, "credentials.key")
}

// anchorFile is where serve appends anchors of the chain head.
func (c Config) anchorFile() string {
	if c.Audit.AnchorFile != "" {
		return c.Audit.AnchorFile
	}
	return filepath.Join(c.DataDir, "audit-anchors.log")
}

// fontDir is where pdfcpu keeps the stamp's installed font.
func (c Config) fontDir() string { return filepath.Join(c.DataDir, "fonts") }

// stamps reports whether a queue prints the forensic stamp.
func (c Config) stamps() bool {
	for _, q := range c.queues {
		if q.Stamp != nil {
			return true
		}
	}
	return false
}

// auditKeyFile is where the audit key lives.
func (c Config) auditKeyFile() string {
	if c.Audit.KeyFile != "" {
		return c.Audit.KeyFile
	}
	return filepath.Join(c.DataDir, "audit.key")
}

package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/audit/siem"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/monitor"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/convert"
	"github.com/printgate/printgate/release/credential"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/owner"
	"github.com/printgate/printgate/release/printerinfo"
	"github.com/printgate/printgate/release/spool"
	"github.com/printgate/printgate/release/stamp"
	"github.com/printgate/printgate/release/throttle"
	"github.com/printgate/printgate/web"
)

// stack is what every subcommand that touches state opens: the database
// with its schema up to date, the user directory and the credentials.
type stack struct {
	cfg Config
	log *slog.Logger
	db  *database.DB
	dir directory.Directory
	// builtin is the built-in directory, nil when users come from LDAP.
	builtin *directory.Builtin
	ldap    *directory.LDAP
	creds   *credential.Store
	audit   *audit.Log
	// stampCodes makes and finds the verification codes of the forensic
	// stamp, under a key derived from the audit key.
	stampCodes *stamp.Codes
	// hasher checks every PIN, job PIN and password, peppered from the
	// credentials key, under one concurrency limit.
	hasher *secret.Hasher
	// newSpool says serve has just bound a spool dir that belonged to no
	// database.
	newSpool bool
	// throttle counts failed sign-ins per device, account and address;
	// passwords checks directory passwords under it.
	throttle  *throttle.Store
	passwords *throttle.Passwords
	// qrKey signs the devices' QR links (release/qrlink derives its own
	// key from it): the credentials key, shared by every instance.
	qrKey []byte
	// now is the release service's clock; nil is the wall clock.
	now func() time.Time
	// observer hears of the service's job moves and failed sign-ins
	// (serve's metrics and job log); nil tells nobody.
	observer release.Observer
}

// openStack opens the database, migrates it and opens the directory and
// the credential store.
func openStack(ctx context.Context, cfg Config, log *slog.Logger) (_ *stack, err error) {
	st := &stack{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := privatePerms(cfg, log); err != nil {
		return nil, err
	}
	if err := removeStaleStaging(cfg.DataDir, log); err != nil {
		return nil, err
	}
	if st.db, err = database.Open(ctx, cfg.Database.URL, cfg.DataDir, log); err != nil {
		return nil, err
	}
	// SQLite creates its files 0644; once they are 0600, the -wal and
	// -shm files it creates later copy the database file's mode.
	if err := privatePerms(cfg, log); err != nil {
		return nil, err
	}
	for _, m := range []func(context.Context, *database.DB) error{
		release.Migrate, directory.Migrate, credential.Migrate, audit.Migrate, web.Migrate, throttle.Migrate,
		stamp.Migrate, owner.Migrate, siem.Migrate, monitor.Migrate,
	} {
		if err := m(ctx, st.db); err != nil {
			return nil, err
		}
	}
	// A migration that copies a table (job_keys, job_documents) leaves
	// the old rows' bytes in SQLite's log; empty it before serving.
	if err := st.db.Checkpoint(ctx); err != nil && !errors.Is(err, database.ErrCheckpointBusy) {
		return nil, err
	}
	key, err := secret.LoadOrCreateKeyFile(cfg.credentialKeyFile(), credential.MinKeyLength)
	if err != nil {
		return nil, err
	}
	// One limiter for every argon2id check of the process: PINs, job
	// PINs and passwords together stay within the memory budget.
	limit := secret.NewLimiter(cfg.Credentials.Argon2MemoryMB<<20, secret.DefaultParams(), cfg.Credentials.Argon2Wait)
	st.qrKey = key
	if st.hasher, err = secret.NewHasher(key, secret.DefaultParams(), limit); err != nil {
		return nil, err
	}
	switch cfg.Directory.Type {
	case "ldap":
		if st.ldap, err = directory.NewLDAP(cfg.Directory.LDAP); err != nil {
			return nil, err
		}
		st.dir = st.ldap
	default:
		st.builtin = directory.NewBuiltin(st.db, st.hasher)
		st.dir = st.builtin
	}
	if st.creds, err = credential.New(st.db, key, cfg.Credentials.Policy, secret.Params{},
		credential.Options{Hasher: st.hasher}); err != nil {
		return nil, err
	}
	auditKey, err := secret.LoadOrCreateKeyFile(cfg.auditKeyFile(), 32)
	if err != nil {
		return nil, err
	}
	loc, _ := time.LoadLocation(cfg.Audit.TimeZone) // validated with the config
	st.audit = audit.New(st.db, audit.Options{
		Key: auditKey, Location: loc, Retention: time.Duration(cfg.Audit.RetentionYears) * 365 * 24 * time.Hour,
		PurgeDependents: stamp.PurgeUnrecorded,
	})
	stampKeys, err := stamp.NewKeys(auditKey)
	if err != nil {
		return nil, err
	}
	st.stampCodes = stamp.NewCodes(st.db, stampKeys)
	if st.throttle, err = newThrottle(cfg, st.db, key, st.creds.Policy().LockFor, st.audit); err != nil {
		return nil, err
	}
	st.passwords = throttle.NewPasswords(st.throttle, st.dir)
	return st, nil
}

// keyAudit keys the audit chain (audit.Log.Upgrade): a new chain gets its
// signed keyed start. A chain hashed without a key by an earlier version
// is signed only with signPlain, the administrator's explicit
// `printgate audit upgrade`; until then it is not keyed, and serve refuses
// to append to it. It runs only after the data dir is bound to this
// database, so that a start refused for the wrong database signs nothing
// into it.
func (st *stack) keyAudit(ctx context.Context, log *slog.Logger, signPlain bool) (audit.UpgradeReport, error) {
	// A chain that has anchors was keyed before: never sign it as plain.
	fi, err := os.Stat(st.cfg.anchorFile())
	up, err := st.audit.Upgrade(ctx, audit.UpgradeOptions{KeyedBefore: err == nil && fi.Size() > 0, SignPlain: signPlain})
	if err != nil {
		return up, err
	}
	switch {
	case up.Plain > 0:
		log.Warn("audit: chain keyed: its plain SHA-256 part is signed up to its head",
			"plain_through", up.Plain, "plain_part_verified", up.Verified, "reason", up.Reason)
	case !up.Keyed:
		log.Error("audit: the chain is not keyed", "reason", up.Reason)
	}
	return up, nil
}

// newThrottle returns the store of sign-in counts with the configured
// limits; key keys the account names it stores.
func newThrottle(cfg Config, db *database.DB, key []byte, lockFor time.Duration, log *audit.Log) (*throttle.Store, error) {
	return throttle.New(db, throttle.Options{Key: key, Audit: log, Rules: map[throttle.Kind]throttle.Rule{
		throttle.Device:  {Max: cfg.Release.DeviceMaxFailures, Window: cfg.Release.DeviceFailureWindow},
		throttle.Account: {Max: cfg.Credentials.MaxPasswordFailures, Window: lockFor},
		throttle.Address: {Max: cfg.Credentials.MaxAddressFailures, Window: lockFor},
	}})
}

// Close releases what openStack opened.
func (st *stack) Close() error {
	var errs []error
	if st.ldap != nil {
		errs = append(errs, st.ldap.Close())
	}
	if st.db != nil {
		errs = append(errs, st.db.Close())
	}
	return errors.Join(errs...)
}

// owners returns the mapper of the names jobs arrive under to directory
// users, over the stack's directory as it is now (serve may have wrapped
// it).
func (st *stack) owners() (*owner.Mapper, error) {
	o := st.cfg.Owners
	return owner.New(owner.Options{FoldCase: o.FoldCase, StripDomain: o.StripDomain, Directory: st.dir, DB: st.db,
		TTL: o.CacheFor, Now: st.now})
}

// requireBuiltin refuses commands that change users when they live in LDAP.
func (st *stack) requireBuiltin() (*directory.Builtin, error) {
	if st.builtin == nil {
		return nil, fmt.Errorf("users come from %s: manage them there", st.cfg.Directory.Type)
	}
	return st.builtin, nil
}

// service opens the spool and returns the release service over the stack,
// not yet started.
func (st *stack) service(ctx context.Context) (*release.Service, func(), error) {
	if err := st.cfg.checkLeftJournal(); err != nil {
		return nil, nil, err
	}
	dbID, err := st.db.ID(ctx)
	if err != nil {
		return nil, nil, err
	}
	key, err := spool.LoadOrCreateKey(st.cfg.spoolKeyFile())
	if err != nil {
		return nil, nil, err
	}
	sp, err := spool.Open(st.cfg.spoolDir(), key)
	if err != nil {
		return nil, nil, err
	}
	instance, err := instanceID(st.cfg.DataDir)
	if err != nil {
		sp.Close()
		return nil, nil, err
	}
	if len(st.cfg.queues) != len(st.cfg.Queues) {
		sp.Close()
		return nil, nil, errors.New("config: queues: not validated")
	}
	pause, err := commitPauseHook(os.Getenv(commitPauseEnv), os.Stderr)
	if err != nil {
		sp.Close()
		return nil, nil, err
	}
	var stamper *stamp.Stamper
	if st.cfg.stamps() {
		c := st.cfg
		stamper, err = stamp.New(stamp.Options{FontFile: c.Stamp.FontFile, Dir: c.fontDir(), MaxSize: c.Pages.MaxPDFMB << 20,
			MaxPages: c.Stamp.MaxPages,
			Budget:   stamp.Budget{DecodedBytes: c.Pages.MaxDecodedMB << 20, Objects: c.Pages.MaxObjects, Time: c.Pages.MaxTime}})
		if err != nil {
			sp.Close()
			return nil, nil, err
		}
	}
	owners, err := st.owners()
	if err != nil {
		sp.Close()
		return nil, nil, err
	}
	converter, err := convert.New(st.cfg.Convert.limits())
	if err != nil {
		st.log.Warn("documents will not be converted for printers that do not take them as they are", "err", err)
	} else if err := converter.PrivateFS(); err != nil {
		st.log.Warn("the converter's sandbox is not private: Ghostscript can read what printgate's user can, kept out only by its -dSAFER", "err", err)
	}
	svc, err := release.New(release.Options{
		DB: st.db, Spool: sp, Queues: st.cfg.queues, Client: &ipp.Client{}, Log: st.log, Directory: st.dir, Owners: owners,
		Audit: st.audit, Credentials: st.creds, Instance: instance, Throttle: st.throttle, Passwords: st.passwords,
		SessionIdle: st.cfg.Release.SessionIdle, SweepEvery: st.cfg.Release.SweepEvery,
		KeepFinished: st.cfg.Release.KeepFinished, DatabaseID: dbID, NewSpool: st.newSpool,
		SpoolQuota: st.cfg.Spool.QuotaMB << 20, SharedSpool: st.cfg.Spool.Shared,
		SpoolShare: st.cfg.Spool.QuotaPercentOfFree, MaxHeldPerUser: st.cfg.Spool.MaxHeldMBPerUser << 20,
		PageBudget: st.cfg.Pages.budget(), MaxCountedPDF: st.cfg.Pages.MaxPDFMB << 20,
		Now: st.now, BeforeCommit: pause, GroupRules: st.cfg.groupRules, Stamper: stamper, StampCodes: st.stampCodes, Converter: converter,
		Printers: printerinfo.New(printerinfo.Options{Refresh: st.cfg.Release.PrinterRefresh,
			Fresh: st.cfg.Release.PrinterFresh, Timeout: st.cfg.Release.PrinterTimeout, Now: st.now, Log: st.log}),
		Unsupported: st.cfg.Release.UnsupportedOptions.policy(),
		Text:        st.textExtractor(), MyNumberNotify: st.cfg.MyNumber.NotifyGroup,
		Observer: st.observer,
		QRKey:    st.qrKey, QRLifetime: st.cfg.Release.QRLifetime,
		JournalDir: st.cfg.journalDir(),
	})
	if err != nil {
		sp.Close()
		return nil, nil, err
	}
	return svc, func() { svc.Close(); sp.Close() }, nil
}

// checkLeftJournal refuses to run without the journal while its folder
// holds segments: jobs acknowledged there and not yet in the database,
// which only a start with the journal writes (a clean stop leaves none).
// Without it their documents would be judged orphans and removed.
func (c Config) checkLeftJournal() error {
	if c.journal() {
		return nil
	}
	segs, err := filepath.Glob(filepath.Join(c.DataDir, "journal", "*.seg"))
	if err != nil || len(segs) == 0 {
		return err
	}
	return fmt.Errorf("database.journal is false, but %s holds %d journal segments of jobs not yet in the database: "+
		"start printgate once with the journal on, which writes them and, at a clean stop, removes the journal",
		filepath.Join(c.DataDir, "journal"), len(segs))
}

// journalDir is the folder of the submissions' journal, or "" without
// one (database.journal).
func (c Config) journalDir() string {
	if !c.journal() {
		return ""
	}
	return filepath.Join(c.DataDir, "journal")
}

// journalName is the name of this data dir's journal in the database
// (release.JournalName), for a command other than serve: it reads the
// instance's name and never makes one, which serve does before its
// journal takes a record.
func (c Config) journalName() (string, error) {
	if c.Database.URL == "" {
		return "", nil
	}
	b, err := os.ReadFile(filepath.Join(c.DataDir, "instance.id"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("instance id: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// instanceID names this printgate among instances sharing a database; it
// is kept in the data dir so that it survives restarts.
func instanceID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "instance.id")
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	id := rand.Text()
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("instance id: %w", err)
	}
	return id, nil
}

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/backup"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/tlscert"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/spool"
)

// minPassphrase is the shortest backup passphrase accepted: the archive
// holds every key, so its passphrase guards everything.
const minPassphrase = 12

func (a *app) backupCommand() *cobra.Command {
	var toKeys bool
	c := &cobra.Command{
		Use:   "backup FILE",
		Short: "Write an encrypted backup of the database, the key files and the held documents, while the server runs",
		Long: `Write FILE (which must not exist): a consistent snapshot of the database (SQLite: VACUUM INTO;
PostgreSQL: pg_dump), the key files and every held document, as one archive encrypted with age to the
passphrase read from standard input (asked twice on a terminal), or with --recipients to the age public
keys read from it, one a line. printgate restore FILE brings it back.

The archive's SHA-256 is printed and recorded in the backup-made audit event (details "sha256"), which
the SIEM receives. Keep it: anyone with the public key can write an archive that decrypts, so restoring
a backup made with --recipients takes --sha256 HEX.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(a.configPath, a.dataDir)
			if err != nil {
				return err
			}
			recipients, err := a.backupRecipients(cmd.Context(), toKeys)
			if err != nil {
				return err
			}
			// Fail closed: a backup that could not be recorded is removed.
			return a.withStack(cmd, func(st *stack) error {
				made, err := a.backup(cmd.Context(), cfg, args[0], recipients)
				if err != nil {
					return err
				}
				if err := st.recordAdmin(cmd, audit.EventBackupMade, made); err != nil {
					os.Remove(args[0])
					return fmt.Errorf("backup: not recorded in the audit trail, so removed: %w", err)
				}
				fmt.Fprintf(a.stdout, "printgate: backup of %s written to %s: %s held documents in files, %s lost meanwhile\n",
					made["database-id"], args[0], made["documents"], made["lost"])
				fmt.Fprintf(a.stdout, "printgate: sha256 %s (recorded in the backup-made audit event; printgate restore --sha256 takes it)\n",
					made["sha256"])
				return nil
			})
		},
	}
	c.Flags().BoolVar(&toKeys, "recipients", false, "encrypt to the age public keys read from standard input instead of a passphrase")
	return c
}

// backupRecipients reads what the archive is encrypted to.
func (a *app) backupRecipients(ctx context.Context, toKeys bool) ([]age.Recipient, error) {
	if toKeys {
		rs, err := age.ParseRecipients(io.LimitReader(a.stdin, 64<<10))
		if err != nil {
			return nil, fmt.Errorf("read recipients from standard input: %w", err)
		}
		return rs, nil
	}
	pass, err := a.readNewSecret(ctx, "backup passphrase")
	if err != nil {
		return nil, err
	}
	if len([]rune(pass)) < minPassphrase {
		return nil, fmt.Errorf("backup passphrase: at least %d characters: it guards every key of printgate", minPassphrase)
	}
	r, err := backup.PassphraseRecipient(pass)
	if err != nil {
		return nil, err
	}
	return []age.Recipient{r}, nil
}

// journalWait bounds how long a backup waits for the running server to
// write the jobs its journal holds (within milliseconds when it runs).
const journalWait = 10 * time.Second

// backup writes the archive to path and returns what the audit event
// records of it: among them its SHA-256, hashed as it is written, which
// the event carries off the machine (to the SIEM) for a restore to check.
func (a *app) backup(ctx context.Context, cfg Config, path string, recipients []age.Recipient) (_ map[string]string, err error) {
	if cfg.Database.URL == "" {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, database.SQLiteFile)); err != nil {
			return nil, fmt.Errorf("backup: no database in %s: %w", cfg.DataDir, err)
		}
	}
	db, err := database.Open(ctx, cfg.Database.URL, cfg.DataDir, nil)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	dbID, err := db.ID(ctx)
	if err != nil {
		return nil, err
	}
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	if err := removeStaleStaging(cfg.DataDir, a.logger(cfg)); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	staging, releaseStaging, err := newStaging(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	defer releaseStaging()
	if dir := cfg.journalDir(); dir != "" {
		// A job acknowledged before the backup began is in it, even one
		// the server still holds in its journal.
		name, err := cfg.journalName()
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		if err := release.WaitJournalApplied(ctx, db.DB, dir, name, journalWait); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
	}
	snap, err := takeSnapshot(ctx, cfg, db, dbID, staging)
	if err != nil {
		return nil, err
	}
	defer snap.close()
	h := sha256.New()
	w, err := backup.NewWriter(io.MultiWriter(out, h), backup.Manifest{Created: time.Now().UTC(), Printgate: version,
		Dialect: string(db.Dialect), DatabaseID: dbID}, recipients...)
	if err != nil {
		return nil, err
	}
	if err := snap.write(w); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if err := out.Sync(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	abs, _ := filepath.Abs(path)
	return map[string]string{"file": abs, "database-id": dbID, "documents": fmt.Sprint(len(snap.docs)),
		"lost": fmt.Sprint(snap.missing), "sha256": hex.EncodeToString(h.Sum(nil))}, nil
}

// snapshot is what goes into an archive, all of it taken, none written yet.
type snapshot struct {
	// files are the key and data files: entry → copy in the staging dir.
	files map[string]string
	// dbEntry is the database's entry, dbFile its copy.
	dbEntry, dbFile string
	// docs are the referenced spool documents, ready to read; segs the
	// spool segments open for them.
	docs map[string]storedDoc
	segs map[uint64]*os.File
	// missing counts documents the snapshot refers to that were removed
	// before they could be opened (their jobs ended meanwhile).
	missing int
}

// takeSnapshot copies the small files first (the anchors before the
// database: an anchor newer than the snapshot would make the restored
// chain look cut back), opens every spool document, takes the database's
// snapshot, and keeps open the documents it refers to. A document opened
// before the snapshot stays readable whatever happens to it after.
func takeSnapshot(ctx context.Context, cfg Config, db *database.DB, dbID, staging string) (_ *snapshot, err error) {
	s := &snapshot{files: map[string]string{}, docs: map[string]storedDoc{}}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if err := s.copyFiles(cfg, staging); err != nil {
		return nil, err
	}
	sp, err := openSpoolForBackup(cfg)
	if err != nil {
		return nil, err
	}
	defer sp.Close()
	before, err := openAll(sp)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, f := range before {
			f.Close()
		}
	}()
	prefix := release.SegmentPrefix(dbID)
	if s.segs, err = openSegments(sp, prefix); err != nil {
		return nil, err
	}
	stored, err := s.snapshotDB(ctx, cfg, db, staging)
	if err != nil {
		return nil, err
	}
	for _, d := range stored {
		if d.Segment.Segment != 0 {
			err = s.addFromSegment(sp, prefix, d)
		} else {
			err = s.addFile(sp, before, d.Name)
		}
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// storedDoc is a document's sealed bytes as the archive takes them.
type storedDoc struct {
	r    io.Reader
	size int64
	// f is the document's own file, closed with the snapshot; nil for a
	// document in a segment.
	f *os.File
}

// addFile takes the document name from its file: opened before the
// database's snapshot (before) or now.
func (s *snapshot) addFile(sp *spool.Spool, before map[string]*os.File, name string) error {
	f, ok := before[name]
	delete(before, name)
	if !ok {
		var err error
		if f, err = sp.OpenStored(name); errors.Is(err, fs.ErrNotExist) {
			s.missing++
			return nil
		} else if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("backup: %w", err)
	}
	s.docs[name] = storedDoc{r: f, size: fi.Size(), f: f}
	return nil
}

// addFromSegment takes the document d from its segment, as a file of its
// own in the archive (release.StoredDocument).
func (s *snapshot) addFromSegment(sp *spool.Spool, prefix string, d release.StoredDocument) error {
	f, ok := s.segs[d.Segment.Segment]
	if !ok {
		var err error
		if f, err = sp.OpenSegment(prefix, d.Segment.Segment); errors.Is(err, fs.ErrNotExist) {
			s.missing++
			return nil
		} else if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		s.segs[d.Segment.Segment] = f
	}
	sec, err := spool.Section(f, d.Segment)
	if err != nil {
		return fmt.Errorf("backup: document %s: %w", d.Name, err)
	}
	s.docs[d.Name] = storedDoc{r: sec, size: d.Segment.Length}
	return nil
}

// openSegments opens every segment of prefix in the spool now.
func openSegments(sp *spool.Spool, prefix string) (map[uint64]*os.File, error) {
	ns, err := sp.Segments(prefix)
	if err != nil {
		return nil, err
	}
	return openEach(maps.Keys(ns), func(n uint64) (*os.File, error) { return sp.OpenSegment(prefix, n) })
}

// openEach opens the file of each key, skipping those removed since they
// were listed; on any other error it closes what it opened.
func openEach[K comparable](keys iter.Seq[K], open func(K) (*os.File, error)) (map[K]*os.File, error) {
	files := map[K]*os.File{}
	for k := range keys {
		f, err := open(k)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since the listing
		}
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, fmt.Errorf("backup: %w", err)
		}
		files[k] = f
	}
	return files, nil
}

// copyFiles copies the key files and the data dir's own files.
func (s *snapshot) copyFiles(cfg Config, staging string) error {
	required := map[string]string{backup.MasterKey: cfg.spoolKeyFile(), backup.CredentialsKey: cfg.credentialKeyFile(),
		backup.AuditKey: cfg.auditKeyFile()}
	optional := map[string]string{backup.Anchors: cfg.anchorFile(),
		backup.DatabaseIdentity: filepath.Join(cfg.DataDir, database.IdentityFile),
		backup.InstanceID:       filepath.Join(cfg.DataDir, "instance.id")}
	if cfg.Server.TLS.CertFile == "" {
		optional[backup.TLSCert] = filepath.Join(cfg.DataDir, tlscert.CertFile)
		optional[backup.TLSKey] = filepath.Join(cfg.DataDir, tlscert.KeyFile)
	}
	for entry, src := range required {
		if err := s.copyFile(entry, src, staging, false); err != nil {
			return err
		}
	}
	for entry, src := range optional {
		if err := s.copyFile(entry, src, staging, true); err != nil {
			return err
		}
	}
	return nil
}

func (s *snapshot) copyFile(entry, src, staging string, optional bool) error {
	in, err := os.Open(src)
	if optional && errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer in.Close()
	dst := filepath.Join(staging, strings.ReplaceAll(entry, "/", "_"))
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	_, err = io.Copy(out, in)
	if err = errors.Join(err, out.Close()); err != nil {
		return fmt.Errorf("backup: copy %s: %w", src, err)
	}
	s.files[entry] = dst
	return nil
}

// snapshotDB takes the database's snapshot into staging and returns the
// spool documents it refers to.
func (s *snapshot) snapshotDB(ctx context.Context, cfg Config, db *database.DB, staging string) ([]release.StoredDocument, error) {
	if db.Dialect == database.SQLite {
		dir := filepath.Join(staging, "db")
		if err := os.Mkdir(dir, 0o700); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		s.dbEntry, s.dbFile = backup.SQLiteDatabase, filepath.Join(dir, database.SQLiteFile)
		if err := db.SnapshotSQLite(ctx, s.dbFile); err != nil {
			return nil, err
		}
		// The copy is read as a database of its own: the names are the
		// snapshot's.
		copyDB, err := database.Open(ctx, "", dir, nil)
		if err != nil {
			return nil, err
		}
		defer copyDB.Close()
		return release.StoredDocuments(ctx, copyDB.DB)
	}
	snap, err := db.BeginSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	defer snap.End()
	names, err := release.StoredDocuments(ctx, snap.Tx)
	if err != nil {
		return nil, err
	}
	s.dbEntry, s.dbFile = backup.PostgresDump, filepath.Join(staging, "postgres.dump")
	f, err := os.OpenFile(s.dbFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	err = database.DumpPostgres(ctx, cfg.Database.URL, snap.ID, f)
	if err = errors.Join(err, f.Close()); err != nil {
		return nil, err
	}
	return names, nil
}

// write writes the snapshot to the archive: keys and data files, the
// database, then the documents.
func (s *snapshot) write(w *backup.Writer) error {
	for _, entry := range []string{backup.MasterKey, backup.CredentialsKey, backup.AuditKey, backup.DatabaseIdentity,
		backup.InstanceID, backup.Anchors, backup.TLSCert, backup.TLSKey} {
		if path, ok := s.files[entry]; ok {
			if err := addFile(w, entry, path); err != nil {
				return err
			}
		}
	}
	if err := addFile(w, s.dbEntry, s.dbFile); err != nil {
		return err
	}
	for name, d := range s.docs {
		if err := w.Add(backup.DocumentEntry(name), d.size, d.r); err != nil {
			return err
		}
	}
	return nil
}

func addFile(w *backup.Writer, entry, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return w.Add(entry, fi.Size(), f)
}

func (s *snapshot) close() {
	for _, d := range s.docs {
		if d.f != nil {
			d.f.Close()
		}
	}
	for _, f := range s.segs {
		f.Close()
	}
}

// openSpoolForBackup opens the spool with the existing master key, never
// making one.
func openSpoolForBackup(cfg Config) (*spool.Spool, error) {
	key, err := spool.LoadKey(cfg.spoolKeyFile())
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return spool.Open(cfg.spoolDir(), key)
}

// openAll opens every document in the spool now.
func openAll(sp *spool.Spool) (map[string]*os.File, error) {
	names, err := sp.List()
	if err != nil {
		return nil, err
	}
	return openEach(slices.Values(names), sp.OpenStored)
}

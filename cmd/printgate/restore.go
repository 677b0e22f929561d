package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/backup"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release/spool"
)

func (a *app) restoreCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "restore FILE",
		Short: "Restore a backup into an empty data dir (and an empty database), the server stopped",
		Long: `Restore FILE, written by printgate backup, into the configured data dir, which must be empty or
missing, and the configured database: the embedded SQLite database is written into the data dir; a
PostgreSQL database must be empty. The passphrase is read from standard input (or, for a backup made
with --recipients, the age identities: AGE-SECRET-KEY-1... lines). Nothing is left behind if the
archive is damaged or the passphrase wrong. Then start printgate and run printgate audit verify.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(a.configPath, a.dataDir)
			if err != nil {
				return err
			}
			ids, err := a.restoreIdentities(cmd.Context())
			if err != nil {
				return err
			}
			m, err := a.restore(cmd.Context(), cfg, args[0], ids)
			if err != nil {
				return err
			}
			return a.withStack(cmd, func(st *stack) error {
				return st.recordAdmin(cmd, audit.EventBackupRestored, map[string]string{"database-id": m.DatabaseID,
					"made": m.Created.Format(time.RFC3339), "made-by": m.Printgate})
			})
		},
	}
}

// restoreIdentities reads the passphrase, or age identities.
func (a *app) restoreIdentities(ctx context.Context) ([]age.Identity, error) {
	if fd, ok := a.terminal(); ok {
		pass, err := a.promptHidden(ctx, fd, "Backup passphrase: ")
		if err != nil {
			return nil, err
		}
		return scryptIdentity(pass)
	}
	raw, err := io.ReadAll(io.LimitReader(a.stdin, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("read the passphrase from standard input: %w", err)
	}
	text := string(raw)
	if strings.HasPrefix(strings.TrimSpace(text), "AGE-SECRET-KEY-") {
		ids, err := age.ParseIdentities(strings.NewReader(text))
		if err != nil {
			return nil, fmt.Errorf("read identities from standard input: %w", err)
		}
		return ids, nil
	}
	line, _, _ := strings.Cut(text, "\n")
	return scryptIdentity(strings.TrimRight(line, "\r"))
}

func scryptIdentity(pass string) ([]age.Identity, error) {
	if pass == "" {
		return nil, errors.New("read the backup passphrase: empty")
	}
	id, err := age.NewScryptIdentity(pass)
	if err != nil {
		return nil, err
	}
	return []age.Identity{id}, nil
}

// restore unpacks the archive at path into cfg's empty data dir and
// database. Everything is unpacked and the archive authenticated to its
// end before a PostgreSQL database is loaded; on any failure what was
// written is removed again.
func (a *app) restore(ctx context.Context, cfg Config, path string, ids []age.Identity) (_ backup.Manifest, err error) {
	if err := checkRestoreTarget(cfg); err != nil {
		return backup.Manifest{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return backup.Manifest{}, fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	r, err := backup.Open(bufio.NewReaderSize(f, 1<<20), ids...)
	if err != nil {
		return backup.Manifest{}, err
	}
	m := r.Manifest()
	if want := dialectOf(cfg); m.Dialect != want {
		return backup.Manifest{}, fmt.Errorf("restore: the backup holds a %s database, but printgate is configured for %s (database.url): restore into the same kind", m.Dialect, want)
	}
	var pg *database.DB
	if m.Dialect == string(database.Postgres) {
		if pg, err = database.Open(ctx, cfg.Database.URL, cfg.DataDir, nil); err != nil {
			return backup.Manifest{}, err
		}
		defer pg.Close()
		if empty, err := pg.Empty(ctx); err != nil {
			return backup.Manifest{}, err
		} else if !empty {
			return backup.Manifest{}, fmt.Errorf("restore: the database %s is not empty: restore into a new, empty database", pg)
		}
	}
	u := &unpacker{cfg: cfg}
	defer func() {
		if err != nil {
			u.undo()
		}
	}()
	if err := u.unpack(r); err != nil {
		return backup.Manifest{}, err
	}
	if pg != nil {
		if err := u.loadPostgres(ctx); err != nil {
			return backup.Manifest{}, err
		}
	}
	if err := checkRestored(ctx, cfg, m); err != nil {
		return backup.Manifest{}, err
	}
	fmt.Fprintf(a.stdout, "printgate: restored the backup of %s (database id %s, made %s by printgate %s): %d held documents in files\n",
		m.Dialect, m.DatabaseID, m.Created.Format("2006-01-02 15:04:05 MST"), m.Printgate, u.docs)
	fmt.Fprintln(a.stdout, "printgate: start printgate, then check the audit trail: printgate audit verify")
	return m, nil
}

func dialectOf(cfg Config) string {
	if cfg.Database.URL == "" {
		return string(database.SQLite)
	}
	return string(database.Postgres)
}

// checkRestoreTarget refuses a data dir or spool dir that holds anything,
// and key files that exist: a restore never overwrites.
func checkRestoreTarget(cfg Config) error {
	for _, dir := range []string{cfg.DataDir, cfg.spoolDir()} {
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("restore: %w", err)
		}
		if len(entries) > 0 {
			return fmt.Errorf("restore: %s is not empty: restore into an empty data dir (printgate stopped), or move it away first", dir)
		}
	}
	for _, file := range []string{cfg.spoolKeyFile(), cfg.credentialKeyFile(), cfg.auditKeyFile(), cfg.anchorFile()} {
		if _, err := os.Lstat(file); err == nil {
			return fmt.Errorf("restore: %s exists: a restore does not overwrite it", file)
		}
	}
	return nil
}

// checkRestored opens what was restored and checks it is the database the
// backup names.
func checkRestored(ctx context.Context, cfg Config, m backup.Manifest) error {
	db, err := database.Open(ctx, cfg.Database.URL, cfg.DataDir, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	id, err := db.ID(ctx)
	if err != nil {
		return err
	}
	if id != m.DatabaseID {
		return fmt.Errorf("restore: the restored database has id %s, the backup's manifest names %s", id, m.DatabaseID)
	}
	return nil
}

// unpacker writes an archive's entries where cfg keeps them.
type unpacker struct {
	cfg Config
	// created are the files and directories written, to undo.
	created []string
	sp      *spool.Spool
	dump    string // the PostgreSQL dump, unpacked
	docs    int
	seenDB  bool
}

func (u *unpacker) unpack(r *backup.Reader) error {
	if err := u.mkdir(u.cfg.DataDir); err != nil {
		return err
	}
	for {
		name, _, body, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := u.entry(name, body); err != nil {
			return err
		}
	}
	if u.sp != nil {
		u.sp.Close()
	}
	if !u.seenDB {
		return fmt.Errorf("restore: %w: it holds no database", backup.ErrInvalid)
	}
	for _, key := range []string{u.cfg.spoolKeyFile(), u.cfg.credentialKeyFile(), u.cfg.auditKeyFile()} {
		if _, err := os.Stat(key); err != nil {
			return fmt.Errorf("restore: %w: it holds no %s", backup.ErrInvalid, filepath.Base(key))
		}
	}
	return nil
}

// entry writes one entry.
func (u *unpacker) entry(name string, body io.Reader) error {
	c := u.cfg
	if doc, ok := backup.Document(name); ok {
		if u.sp == nil {
			key, err := spool.LoadKey(c.spoolKeyFile())
			if err != nil {
				return fmt.Errorf("restore: %w: documents before the master key: %w", backup.ErrInvalid, err)
			}
			if err := u.mkdir(c.spoolDir()); err != nil {
				return err
			}
			if u.sp, err = spool.Open(c.spoolDir(), key); err != nil {
				return err
			}
		}
		u.created = append(u.created, filepath.Join(c.spoolDir(), doc+backup.SpoolSuffix))
		u.docs++
		return u.sp.PutStored(doc, body)
	}
	switch name {
	case backup.SQLiteDatabase, backup.PostgresDump:
		if u.seenDB || (name == backup.SQLiteDatabase) != (dialectOf(c) == string(database.SQLite)) {
			return fmt.Errorf("restore: %w: unexpected %s", backup.ErrInvalid, name)
		}
		u.seenDB = true
		if name == backup.PostgresDump {
			u.dump = filepath.Join(c.DataDir, ".restore-postgres.dump")
			return u.write(u.dump, body)
		}
		return u.write(filepath.Join(c.DataDir, database.SQLiteFile), body)
	case backup.DatabaseIdentity:
		return u.writeIdentity(body)
	}
	dst := map[string]string{backup.MasterKey: c.spoolKeyFile(), backup.CredentialsKey: c.credentialKeyFile(),
		backup.AuditKey: c.auditKeyFile(), backup.Anchors: c.anchorFile(),
		backup.InstanceID: filepath.Join(c.DataDir, "instance.id"),
		backup.TLSCert:    filepath.Join(c.DataDir, "tls-cert.pem"), backup.TLSKey: filepath.Join(c.DataDir, "tls-key.pem")}[name]
	if dst == "" {
		return fmt.Errorf("restore: %w: unexpected %s", backup.ErrInvalid, name)
	}
	return u.write(dst, body)
}

// writeIdentity writes the data dir's identity file, and the spool
// dir's when it has its own: both belong to the restored database.
func (u *unpacker) writeIdentity(body io.Reader) error {
	raw, err := io.ReadAll(io.LimitReader(body, 4<<10))
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	dirs := []string{u.cfg.DataDir}
	if u.cfg.Spool.Dir != "" {
		if err := u.mkdir(u.cfg.Spool.Dir); err != nil {
			return err
		}
		dirs = append(dirs, u.cfg.Spool.Dir)
	}
	for _, dir := range dirs {
		if err := u.write(filepath.Join(dir, database.IdentityFile), strings.NewReader(string(raw))); err != nil {
			return err
		}
	}
	return nil
}

// write creates path (never replacing a file) from r, synced, 0600.
func (u *unpacker) write(path string, r io.Reader) error {
	if err := u.mkdir(filepath.Dir(path)); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	u.created = append(u.created, path)
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("restore: write %s: %w", path, err)
	}
	return nil
}

// mkdir creates dir 0700 with its missing parents, remembering them.
func (u *unpacker) mkdir(dir string) error {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || d == filepath.Dir(d) {
			break
		}
		missing = append(missing, d)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		u.created = append(u.created, missing[i])
	}
	return nil
}

// loadPostgres loads the unpacked dump, then removes it.
func (u *unpacker) loadPostgres(ctx context.Context) error {
	f, err := os.Open(u.dump)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer func() {
		f.Close()
		os.Remove(u.dump)
	}()
	return database.RestorePostgres(ctx, u.cfg.Database.URL, f)
}

// undo removes what was written, newest first.
func (u *unpacker) undo() {
	if u.sp != nil {
		u.sp.Close()
	}
	for i := len(u.created) - 1; i >= 0; i-- {
		os.Remove(u.created[i])
	}
}

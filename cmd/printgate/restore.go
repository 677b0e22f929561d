package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/backup"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release"
)

func (a *app) restoreCommand() *cobra.Command {
	var sum string
	c := &cobra.Command{
		Use:   "restore FILE [--sha256 HEX]",
		Short: "Restore a backup into an empty data dir (and an empty database), the server stopped",
		Long: `Restore FILE, written by printgate backup, into the configured data dir, which must be empty or
missing (and used by no printgate serve: the restore takes the data dir's lock), and the configured
database: the embedded SQLite database is written into the data dir; a PostgreSQL database must be
empty. The passphrase is read from standard input (or, for a backup made with --recipients, the
age identities: AGE-SECRET-KEY-1... lines).

A backup made with --recipients restores only with --sha256, the archive's SHA-256 as printgate
backup printed it and recorded it in its backup-made audit event (details "sha256"; in the SIEM's
copy of the trail if the server is lost): anyone with the public key can write an archive that
decrypts, so the hash is what says it is yours. It is checked before anything is written. A
passphrase backup is authenticated by its passphrase; --sha256 is checked if given.

Nothing is left behind if the archive is damaged, the passphrase wrong, or the restore cannot be
recorded in the restored audit trail. Then start printgate and run printgate audit verify.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(a.configPath, a.dataDir)
			if err != nil {
				return err
			}
			ids, passphrase, err := a.restoreIdentities(cmd.Context())
			if err != nil {
				return err
			}
			want, err := restoreSum(sum, passphrase)
			if err != nil {
				return err
			}
			return a.restore(cmd.Context(), cfg, args[0], ids, want, func(m backup.Manifest, sum string) error {
				return a.withStack(cmd, func(st *stack) error {
					return st.recordAdmin(cmd, audit.EventBackupRestored, map[string]string{"database-id": m.DatabaseID,
						"made": m.Created.Format(time.RFC3339), "made-by": m.Printgate, "sha256": sum})
				})
			})
		},
	}
	c.Flags().StringVar(&sum, "sha256", "", "the archive's SHA-256, as printgate backup printed it (required for a backup made with --recipients)")
	return c
}

// restoreSum parses --sha256, which an archive encrypted to keys needs.
func restoreSum(flag string, passphrase bool) ([]byte, error) {
	if flag == "" {
		if passphrase {
			return nil, nil
		}
		return nil, errors.New(`restore: this backup is encrypted to age keys, and anyone who has the public key can write such an archive: give --sha256 with the archive's SHA-256, which printgate backup printed and recorded in its "backup-made" audit event (details "sha256": printgate audit export, or your SIEM's copy of the trail)`)
	}
	want, err := hex.DecodeString(strings.ToLower(strings.TrimSpace(flag)))
	if err != nil || len(want) != sha256.Size {
		return nil, fmt.Errorf("restore: --sha256: %d hexadecimal digits expected, as printgate backup printed them", 2*sha256.Size)
	}
	return want, nil
}

// restoreIdentities reads the passphrase, or age identities; passphrase
// says which.
func (a *app) restoreIdentities(ctx context.Context) (_ []age.Identity, passphrase bool, _ error) {
	if fd, ok := a.terminal(); ok {
		pass, err := a.promptHidden(ctx, fd, "Backup passphrase: ")
		if err != nil {
			return nil, false, err
		}
		ids, err := scryptIdentity(pass)
		return ids, true, err
	}
	raw, err := io.ReadAll(io.LimitReader(a.stdin, 64<<10))
	if err != nil {
		return nil, false, fmt.Errorf("read the passphrase from standard input: %w", err)
	}
	text := string(raw)
	if ageIdentities(text) {
		ids, err := age.ParseIdentities(strings.NewReader(text))
		if err != nil {
			return nil, false, fmt.Errorf("read identities from standard input: %w", err)
		}
		return ids, false, nil
	}
	line, _, _ := strings.Cut(text, "\n")
	ids, err := scryptIdentity(strings.TrimRight(line, "\r"))
	return ids, true, err
}

// ageIdentities reports whether text holds age identities: its first line
// that is neither blank nor a comment (age-keygen writes two above the
// key) is one.
func ageIdentities(text string) bool {
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			return strings.HasPrefix(line, "AGE-SECRET-KEY-")
		}
	}
	return false
}

func scryptIdentity(pass string) ([]age.Identity, error) {
	if pass == "" {
		return nil, errors.New("read the backup passphrase: empty")
	}
	id, err := backup.PassphraseIdentity(pass)
	if err != nil {
		return nil, err
	}
	return []age.Identity{id}, nil
}

// restore unpacks the archive at path into cfg's empty data dir and
// database, and has record write the restore into the restored trail.
// With want, the file's SHA-256 must be want before anything is written,
// and still at the end. Everything is unpacked and the archive
// authenticated to its end before a PostgreSQL database is loaded; on any
// failure, recording included, what was written and loaded is removed
// again (unpacker.undo).
func (a *app) restore(ctx context.Context, cfg Config, path string, ids []age.Identity, want []byte,
	record func(m backup.Manifest, sum string) error) (err error) {
	if err := checkRestoreTarget(cfg); err != nil {
		return err
	}
	af, r, err := openArchive(path, ids, want)
	if err != nil {
		return err
	}
	defer af.f.Close()
	m := r.Manifest()
	if want := dialectOf(cfg); m.Dialect != want {
		return fmt.Errorf("restore: the backup holds a %s database, but printgate is configured for %s (database.url): restore into the same kind", m.Dialect, want)
	}
	u := &unpacker{cfg: cfg, dbID: m.DatabaseID, prefix: release.SegmentPrefix(m.DatabaseID),
		empty: []string{cfg.DataDir, cfg.spoolDir()}}
	defer u.close()
	// Before the undo is armed: a data dir found in use, or written
	// meanwhile, is not the restore's to empty.
	if err := u.lockTarget(); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, u.undo(ctx))
		}
	}()
	if m.Dialect == string(database.Postgres) {
		if err := u.openPostgres(ctx); err != nil {
			return err
		}
	}
	if err := u.unpack(r); err != nil {
		return err
	}
	sum, err := af.finish()
	if err != nil {
		return err
	}
	if u.pg != nil {
		if err := u.loadPostgres(ctx); err != nil {
			return err
		}
	}
	if err := checkRestored(ctx, cfg, m); err != nil {
		return err
	}
	if err := record(m, sum); err != nil {
		return fmt.Errorf("restore: not recorded in the restored audit trail, so undone: %w", err)
	}
	fmt.Fprintf(a.stdout, "printgate: restored the backup of %s (database id %s, made %s by printgate %s, sha256 %s): %d held documents in files\n",
		m.Dialect, m.DatabaseID, m.Created.Format("2006-01-02 15:04:05 MST"), m.Printgate, sum, u.docs)
	fmt.Fprintln(a.stdout, "printgate: start printgate, then check the audit trail: printgate audit verify")
	return nil
}

// archiveFile is a backup file read once through a SHA-256.
type archiveFile struct {
	f    *os.File
	path string
	in   *bufio.Reader
	h    summer
	want []byte
}

// summer is a hash.Hash (whose package name a test of this package
// takes).
type summer interface {
	io.Writer
	Sum(b []byte) []byte
}

// openArchive opens the backup at path: with want, only once the whole
// file's SHA-256 is want. The archive's entries may hold no more than
// the file.
func openArchive(path string, ids []age.Identity, want []byte) (_ *archiveFile, _ *backup.Reader, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("restore: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("restore: %w", err)
	}
	regular := fi.Mode().IsRegular()
	if want != nil && !regular {
		// The hash is checked before anything is unpacked: a pipe
		// cannot be read twice.
		return nil, nil, fmt.Errorf("restore: %s is not a file: with --sha256, copy the archive to a file first", path)
	}
	af := &archiveFile{f: f, path: path, h: sha256.New(), want: want}
	if want != nil {
		if _, err := io.Copy(af.h, f); err != nil {
			return nil, nil, fmt.Errorf("restore: %w", err)
		}
		if err := af.check(); err != nil {
			return nil, nil, err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, nil, fmt.Errorf("restore: %w", err)
		}
		af.h = sha256.New()
	}
	af.in = bufio.NewReaderSize(io.TeeReader(f, af.h), 1<<20)
	r, err := backup.Open(af.in, ids...)
	if err != nil {
		return nil, nil, err
	}
	if regular {
		// From a pipe, whatever the entries claim has to arrive in it.
		r.Limit(fi.Size())
	}
	return af, r, nil
}

// finish reads what is left of the file and returns the SHA-256 of all
// that was read, which must still be the one wanted: what was unpacked is
// the file that was checked, even if it changed on disk meanwhile.
func (af *archiveFile) finish() (string, error) {
	if _, err := io.Copy(io.Discard, af.in); err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	if err := af.check(); err != nil {
		return "", err
	}
	return hex.EncodeToString(af.h.Sum(nil)), nil
}

// check compares what was hashed with the SHA-256 wanted, if one is.
func (af *archiveFile) check() error {
	if af.want == nil {
		return nil
	}
	if got := af.h.Sum(nil); !bytes.Equal(got, af.want) {
		return fmt.Errorf("restore: %s has the SHA-256 %x, not the %x given with --sha256: it is not the archive that backup wrote (or the hash is mistyped), and nothing was restored from it",
			af.path, got, af.want)
	}
	return nil
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
		// The lock file is left by every serve, also one that stopped
		// before writing anything (say, PostgreSQL was out of reach).
		entries = slices.DeleteFunc(entries, func(e os.DirEntry) bool { return dir == cfg.DataDir && e.Name() == dataLockFile })
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

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/printgate/printgate/internal/backup"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release/spool"
)

// unpacker writes an archive's entries where cfg keeps them, and undoes
// it all when the restore fails.
type unpacker struct {
	cfg Config
	// dbID is the backup's database, prefix what the names of its spool
	// documents start with.
	dbID, prefix string
	// created are the files and directories written, to undo.
	created []string
	// empty are the folders that were empty or missing before the
	// restore: whatever is in them at an undo, the restore wrote, or the
	// stack that recorded it (SQLite's log, a TLS certificate).
	empty  []string
	sp     *spool.Spool
	dump   string // the PostgreSQL dump, unpacked
	docs   int
	seenDB bool
	// pg is the PostgreSQL database restored into, and keep what its
	// schema held before; loading says pg_restore ran, loaded that it
	// succeeded.
	pg              *database.DB
	keep            []string
	loading, loaded bool
	// lock is the data dir's, held from before the first file is
	// written until the restore is recorded or undone.
	lock *dataLock
}

// lockTarget makes the data dir if it is missing and takes its lock, so
// that no serve starts on it while the restore writes, then checks again,
// under the lock, that the target is empty. What it made, it removes on
// failure; it does no more, since a data dir it finds in use or written
// meanwhile is another printgate's.
func (u *unpacker) lockTarget() (err error) {
	if err := u.mkdir(u.cfg.DataDir); err != nil {
		return err
	}
	if u.lock, err = lockDataDir(u.cfg.DataDir, "restore"); err != nil {
		u.removeCreated()
		return fmt.Errorf("restore: %w", err)
	}
	return checkRestoreTarget(u.cfg)
}

// openPostgres connects to the PostgreSQL database and checks it is
// empty.
func (u *unpacker) openPostgres(ctx context.Context) (err error) {
	if u.pg, err = database.Open(ctx, u.cfg.Database.URL, u.cfg.DataDir, nil); err != nil {
		return err
	}
	if empty, err := u.pg.Empty(ctx); err != nil {
		return err
	} else if !empty {
		return fmt.Errorf("restore: the database %s is not empty: restore into a new, empty database", u.pg)
	}
	u.keep, err = u.pg.SchemaObjects(ctx)
	return err
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
		u.sp = nil
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
		return u.document(doc, body)
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

// document writes the spool document doc. Its name must carry the
// database's identity: start-up removes an orphan document only if it
// does, and keeps any other for ever, as another database's.
func (u *unpacker) document(doc string, body io.Reader) error {
	if u.prefix == "" || !strings.HasPrefix(doc, u.prefix) {
		return fmt.Errorf("restore: %w: the document %s does not belong to the database %s", backup.ErrInvalid, doc, u.dbID)
	}
	if u.sp == nil {
		key, err := spool.LoadKey(u.cfg.spoolKeyFile())
		if err != nil {
			return fmt.Errorf("restore: %w: documents before the master key: %w", backup.ErrInvalid, err)
		}
		if err := u.mkdir(u.cfg.spoolDir()); err != nil {
			return err
		}
		if u.sp, err = spool.Open(u.cfg.spoolDir(), key); err != nil {
			return err
		}
	}
	u.created = append(u.created, filepath.Join(u.cfg.spoolDir(), doc+backup.SpoolSuffix))
	u.docs++
	return u.sp.PutStored(doc, body)
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
	u.loading = true
	if err := database.RestorePostgres(ctx, u.cfg.Database.URL, f); err != nil {
		return err
	}
	u.loaded = true
	return nil
}

// undoWait bounds how long an undo waits for PostgreSQL, even once the
// restore was interrupted.
const undoWait = time.Minute

// undo drops what was loaded into PostgreSQL, then removes what was
// written, newest first. If the database cannot be emptied, the files
// stay beside it and the error says so: without its keys, what the
// database holds could never be read, and the next start would make new
// ones.
func (u *unpacker) undo(ctx context.Context) error {
	if u.sp != nil {
		u.sp.Close()
		u.sp = nil
	}
	if u.loading {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoWait)
		defer cancel()
		// A load that failed ran in one transaction and left nothing;
		// dropping is then only a precaution.
		if err := u.pg.DropSchemaObjects(ctx, u.keep); err != nil && u.loaded {
			return fmt.Errorf("restore: and could not undo it: the database %s still holds the restored tables, so their files stay in %s: drop them (or use a new database) and empty %s before you try again: %w",
				u.pg, u.cfg.DataDir, u.cfg.DataDir, err)
		}
	}
	for _, dir := range u.empty {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if dir == u.cfg.DataDir && e.Name() == dataLockFile {
				continue // held until the rest is gone
			}
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
	u.lock.remove()
	u.removeCreated()
	return nil
}

// removeCreated removes the directories the restore made, newest first,
// those that are empty.
func (u *unpacker) removeCreated() {
	for i := len(u.created) - 1; i >= 0; i-- {
		os.Remove(u.created[i])
	}
}

// close closes the connection to PostgreSQL and releases the data dir.
func (u *unpacker) close() {
	if u.pg != nil {
		u.pg.Close()
	}
	u.lock.Close()
}

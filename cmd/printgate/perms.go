package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// privatePerms makes what printgate keeps private to its own user: every
// directory under the data dir and the spool dir 0700 (or stricter),
// every file there and printgate's own key files 0600 (or stricter). It
// runs at start-up, before the database and the keys are opened (a copy
// of printgate.db or of a key is what the pepper and the master key are
// meant to be kept apart from), and again once they are open, for the
// files SQLite has just created with its default 0644. Each change is
// logged with the file's name and its modes, never its contents.
// Symbolic links inside are left alone: what they point to is not
// printgate's.
func privatePerms(cfg Config, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	for _, root := range []string{cfg.DataDir, cfg.spoolDir()} {
		// A data dir reached through a symbolic link is still printgate's.
		if real, err := filepath.EvalSymlinks(root); err == nil {
			root = real
		}
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			return privateEntry(path, d, err, log)
		})
		errs = append(errs, err)
	}
	for _, key := range []string{cfg.spoolKeyFile(), cfg.credentialKeyFile(), cfg.auditKeyFile()} {
		if err := makePrivate(key, log); !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("make the data dir private: %w", err)
	}
	return nil
}

// privateEntry makes one entry of a walk of the data dir private. A
// file that is gone by the time it is reached is skipped: a backup walks
// the data dir while the server runs, and removes spool files meanwhile
// (a document's temporary name once it is linked, a destroyed document).
func privateEntry(path string, d fs.DirEntry, err error, log *slog.Logger) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if d.Type()&fs.ModeSymlink != 0 {
		return nil
	}
	if err := makePrivate(path, log); !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// makePrivate takes group and other permissions off path.
func makePrivate(path string, log *slog.Logger) error {
	st, err := os.Lstat(path)
	if err != nil {
		return err
	}
	mode := st.Mode()
	if mode&fs.ModeSymlink != 0 || mode.Perm()&0o077 == 0 {
		return nil
	}
	want := mode.Perm() &^ 0o077
	if err := os.Chmod(path, want); err != nil {
		return err
	}
	log.Info("made private: others could read it", "path", path, "was", mode.Perm().String(), "now", want.String())
	return nil
}

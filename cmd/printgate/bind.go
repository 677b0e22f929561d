package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/printgate/printgate/internal/database"
)

// bindDatabase says which database is in use and refuses to go on when the
// data dir, or a spool dir of its own, belongs to another one: the held
// jobs of that database would be aborted as document-missing, or their
// documents removed as orphans. Nothing is changed then. It reports
// whether the spool was bound only now, which release.Options.NewSpool
// wants to know.
func (a *app) bindDatabase(ctx context.Context, st *stack) (id string, newSpool bool, err error) {
	id, err = st.db.ID(ctx)
	if err != nil {
		return "", false, err
	}
	dirs := []string{st.cfg.DataDir}
	if st.cfg.Spool.Dir != "" {
		dirs = append(dirs, st.cfg.Spool.Dir)
	}
	for _, dir := range dirs {
		var mm *database.MismatchError
		fresh, err := st.db.Bind(ctx, dir)
		if errors.As(err, &mm) {
			return "", false, wrongDatabase(mm)
		}
		if err != nil {
			return "", false, err
		}
		newSpool = fresh // the last dir holds the spool
	}
	return id, newSpool, nil
}

// wrongDatabase explains a data dir used with another database and what
// to do about it.
func wrongDatabase(mm *database.MismatchError) error {
	return fmt.Errorf(`%s belongs to the database %s (id %s), but printgate was started with %s (id %s).
The held jobs of that database live in it, and their documents in this directory: starting here
would lose them, so printgate stops before touching any job, document or record.
  - To go on with that database, set database.url (or PRINTGATE_DATABASE_URL) back to it.
  - To change databases, let that database's held jobs print, expire or be canceled first (or keep it
    running until they have), then start the new database with a new data_dir (or PRINTGATE_DATA_DIR).
    Jobs cannot be moved: each document's key lives in the database that holds its job.
See docs/DATA.md, "Moving to another database"`,
		mm.Dir, mm.Recorded, mm.RecordedID, mm.Current, mm.CurrentID)
}

// unbindSpool forgets that the spool dir belongs to the database, after a
// start that bound it failed.
func (st *stack) unbindSpool() {
	dir := st.cfg.DataDir
	if st.cfg.Spool.Dir != "" {
		dir = st.cfg.Spool.Dir
	}
	os.Remove(filepath.Join(dir, database.IdentityFile))
}

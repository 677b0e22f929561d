package spool

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
)

// OpenStored opens the document name as it is stored, sealed, for a
// backup: its bytes are useless without its wrapped key and the master
// key. An open file stays readable when the document is removed
// meanwhile, so a backup can open every document before it takes the
// database's snapshot. A missing document is reported with
// fs.ErrNotExist.
func (s *Spool) OpenStored(name string) (*os.File, error) {
	if err := checkName("open", name); err != nil {
		return nil, err
	}
	f, err := s.root.Open(name + docSuffix)
	if err != nil {
		return nil, fmt.Errorf("spool: open %s: %w", name, err)
	}
	return f, nil
}

// PutStored writes the document name from the sealed bytes r yields, as
// OpenStored read them, for a restore. Like a Writer's commit it writes a
// temporary file, syncs it and links it into place, so it never replaces
// a document nor leaves a partial one; the directory is synced too. It
// does not decrypt what it writes: the restored job's key does that when
// the document is printed.
func (s *Spool) PutStored(name string, r io.Reader) (err error) {
	if err := checkName("put", name); err != nil {
		return err
	}
	temp := name + "." + rand.Text()[:8] + tempSuffix
	f, err := s.root.OpenFile(temp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("spool: put %s: %w", name, err)
	}
	defer s.root.Remove(temp)
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	err = errors.Join(err, f.Close())
	if err == nil {
		err = s.root.Link(temp, name+docSuffix)
	}
	if err == nil {
		err = s.syncDir()
	}
	if err != nil {
		return fmt.Errorf("spool: put %s: %w", name, err)
	}
	return nil
}

// LoadKey reads the master key file at path, which must exist: unlike
// LoadOrCreateKey it never makes one (a backup of a spool whose key is
// missing would be worthless).
func LoadKey(path string) (MasterKey, error) { return loadKey(path) }

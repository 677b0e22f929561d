package spool

import (
	"crypto/rand"
	"errors"
	"fmt"
)

// CheckWritable reports whether the spool directory takes new files: it
// writes a small temporary file and removes it. A file left behind by a
// crash in between is a "*.part" file, which CleanTemp removes.
func (s *Spool) CheckWritable() error {
	name := "probe-" + rand.Text() + tempSuffix
	f, err := s.root.Create(name)
	if err != nil {
		return fmt.Errorf("spool: not writable: %w", err)
	}
	_, werr := f.Write([]byte{0})
	cerr := f.Close()
	rerr := s.root.Remove(name)
	if err := errors.Join(werr, cerr, rerr); err != nil {
		return fmt.Errorf("spool: not writable: %w", err)
	}
	return nil
}

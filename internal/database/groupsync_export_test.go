package database

import "os"

// SetWAL replaces the file g syncs, for tests that make an fsync fail.
func (g *GroupCommitter) SetWAL(f *os.File) { g.wal = f }

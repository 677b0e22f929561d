//go:build !linux

// Package fsync makes files durable.
package fsync

import "os"

// Data is f.Sync where fdatasync is not to be had.
func Data(f *os.File) error { return f.Sync() }

// StartWrite does nothing where sync_file_range is not to be had: the
// later Sync writes everything.
func StartWrite(f *os.File, off, n int64) error { return nil }

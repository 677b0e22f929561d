//go:build !linux

// Package fsync makes files durable.
package fsync

import "os"

// Data is f.Sync where fdatasync is not to be had.
func Data(f *os.File) error { return f.Sync() }

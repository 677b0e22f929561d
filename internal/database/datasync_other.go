//go:build !linux

package database

import "os"

// dataSync is f.Sync where fdatasync is not to be had.
func dataSync(f *os.File) error { return f.Sync() }

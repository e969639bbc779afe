//go:build !linux

package fs

import "os"

// writeBehind is a no-op where sync_file_range is missing.
type writeBehind struct{}

func newWriteBehind(*os.File, int64) *writeBehind { return &writeBehind{} }

func (*writeBehind) wrote(int64) {}

func datasync(f *os.File) error { return f.Sync() }

package fs

import (
	"os"

	"golang.org/x/sys/unix"
)

// wbChunk is the stretch of an upload handed to write-back at a time.
const wbChunk = 8 << 20

// writeBehind starts the write-back of an upload's data as it arrives
// (sync_file_range), and waits for the stretch before the last, so that
// writing, hashing and the disk overlap, dirty pages stay bounded, and the
// sync at commit finds little left to write. It is advice: errors are
// ignored here and surface at the commit's sync.
type writeBehind struct {
	fd        int
	submitted int64 // data before this offset has been handed to write-back
}

func newWriteBehind(f *os.File, start int64) *writeBehind {
	return &writeBehind{fd: int(f.Fd()), submitted: start - start%wbChunk}
}

// wrote tells that the data now ends at end.
func (w *writeBehind) wrote(end int64) {
	for end-w.submitted >= wbChunk {
		_ = unix.SyncFileRange(w.fd, w.submitted, wbChunk, unix.SYNC_FILE_RANGE_WRITE)
		if prev := w.submitted - wbChunk; prev >= 0 {
			_ = unix.SyncFileRange(w.fd, prev, wbChunk,
				unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
		}
		w.submitted += wbChunk
	}
}

// datasync makes f's data and size durable.
func datasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }

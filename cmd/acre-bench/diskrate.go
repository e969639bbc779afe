package main

import (
	"os"
	"time"
)

// measureDiskWrite writes mib MiB of pool's bytes (1 MiB at a time) to a new
// file in dir, calls fdatasync once at the end and removes the file, as
// `dd bs=1M count=<mib> conv=fdatasync` does. It returns MB/s over the
// writes and the sync: the disk's own durable sequential write rate, which
// a registry that acknowledges a blob only once it is on disk cannot beat.
func measureDiskWrite(dir string, pool []byte, mib int) (float64, error) {
	f, err := os.CreateTemp(dir, "acre-bench-disk-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	start := time.Now()
	for range mib {
		if _, err := f.Write(pool); err != nil {
			return 0, err
		}
	}
	if err := fdatasync(f); err != nil {
		return 0, err
	}
	return mbps(int64(mib)*int64(len(pool)), time.Since(start)), nil
}

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"sync"
)

const (
	pipeBuf   = 1 << 20 // read unit of the pipelined verifier
	pipeDepth = 4       // buffers in flight per blob
	pipeMin   = 4 << 20 // smaller blobs are hashed inline
)

var pipeBufs = sync.Pool{New: func() any { b := make([]byte, pipeBuf); return &b }}

// hashBody reads r to the end and returns its length and sha256 digest.
// Blobs of pipeMin bytes or more are read on this goroutine and hashed on
// another, so socket reads and hashing overlap on different cores, as in a
// client that verifies while it writes to disk.
func hashBody(r io.Reader, size int64, buf []byte) (int64, string, error) {
	h := sha256.New()
	if size < pipeMin {
		n, err := io.CopyBuffer(h, r, buf)
		return n, "sha256:" + hex.EncodeToString(h.Sum(nil)), err
	}
	free := make(chan *[]byte, pipeDepth)
	full := make(chan []byte, pipeDepth)
	for range pipeDepth {
		free <- pipeBufs.Get().(*[]byte)
	}
	done := make(chan struct{})
	go func() {
		for b := range full {
			h.Write(b)
			b = b[:cap(b)]
			free <- &b
		}
		close(done)
	}()
	var n int64
	var err error
	for {
		b := <-free
		k, rerr := io.ReadFull(r, *b)
		n += int64(k)
		if k > 0 {
			full <- (*b)[:k]
		} else {
			free <- b
		}
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) && !errors.Is(rerr, io.ErrUnexpectedEOF) {
				err = rerr
			}
			break
		}
	}
	close(full)
	<-done
	for range pipeDepth {
		pipeBufs.Put(<-free)
	}
	return n, "sha256:" + hex.EncodeToString(h.Sum(nil)), err
}

package fs

import (
	"errors"
	"hash"
	"io"
	"os"
)

// An upload is read in buffers of copyBuf bytes; with copyBufs of them in
// flight, hashing one overlaps reading and writing the next.
const (
	copyBuf  = 256 << 10
	copyBufs = 3
)

type chunk struct {
	b *[copyBuf]byte
	n int
}

func (s *Store) getBuf() *[copyBuf]byte {
	if b, ok := s.bufs.Get().(*[copyBuf]byte); ok {
		return b
	}
	return new([copyBuf]byte)
}

// copyIn writes r to f from offset start on and hashes it into h (nil: no
// hash), starting the write-back of what it wrote as it goes. A body that
// fits one buffer is hashed in line; a longer one is hashed on another
// goroutine while the next buffer is read and written. It returns the bytes
// written; on an error they are still whole in f.
func (s *Store) copyIn(f *os.File, start int64, r io.Reader, h hash.Hash) (int64, error) {
	wb := newWriteBehind(f, start)
	var written int64
	write := func(b []byte) error {
		if _, err := f.Write(b); err != nil {
			return err
		}
		written += int64(len(b))
		wb.wrote(start + written)
		return nil
	}
	buf := s.getBuf()
	n, rerr := io.ReadFull(r, buf[:])
	if h == nil || rerr != nil {
		defer s.bufs.Put(buf)
		for {
			if err := write(buf[:n]); err != nil {
				return written, err
			}
			if h != nil {
				h.Write(buf[:n])
			}
			if rerr != nil {
				return written, endOfBody(rerr)
			}
			n, rerr = io.ReadFull(r, buf[:])
		}
	}

	// Pipelined: buffers go from free to the reader, to the hasher, to free.
	in, free, done := make(chan chunk, copyBufs), make(chan *[copyBuf]byte, copyBufs), make(chan struct{})
	go func() {
		defer close(done)
		for c := range in {
			h.Write(c.b[:c.n])
			free <- c.b
		}
	}()
	for range copyBufs - 1 {
		free <- s.getBuf()
	}
	defer func() {
		close(in)
		<-done
		for range copyBufs {
			s.bufs.Put(<-free)
		}
	}()
	for {
		err := write(buf[:n])
		in <- chunk{buf, n}
		if err != nil {
			return written, err
		}
		if rerr != nil {
			return written, endOfBody(rerr)
		}
		buf = <-free
		n, rerr = io.ReadFull(r, buf[:])
	}
}

// endOfBody maps the end of the body to success.
func endOfBody(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil
	}
	return err
}

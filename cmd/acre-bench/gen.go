package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"time"
)

// chunkSize is the unit in which blob content is generated.
const chunkSize = 1 << 20

// generator produces deterministic pseudo-random blob content from a seed,
// so the same bytes can be produced twice (once to hash, once to upload)
// without holding a whole blob in memory.
//
// In "counter" mode every 1 MiB chunk is a shared random block stamped with
// the run nonce, the blob seed and the chunk index in its first 24 bytes:
// generating costs about a memcpy, leaving the CPU to the server. In
// "chacha8" mode every chunk is fresh ChaCha8 output keyed by the nonce,
// the seed and the chunk index (incompressible, but the client then spends
// about as much CPU as hashing would). Either way any chunk can be produced
// on its own, so a reader can start anywhere in a blob.
type generator struct {
	mode  string
	nonce uint64
	pool  []byte // chunkSize random bytes, read-only
}

func newGenerator(mode string, nonce uint64) *generator {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], nonce)
	pool := make([]byte, chunkSize)
	_, _ = rand.NewChaCha8(key).Read(pool)
	return &generator{mode: mode, nonce: nonce, pool: pool}
}

// genBlob is a generated blob as a blobSource.
type genBlob struct {
	g    *generator
	seed uint64
	size int64
}

func (g *generator) blob(seed uint64, size int64) genBlob { return genBlob{g, seed, size} }

func (b genBlob) section(off, n int64) io.Reader { return b.g.openRange(b.seed, b.size, off, off+n) }

// stream is bytes [off, end) of one blob's content as an io.Reader (and
// io.WriterTo).
type stream struct {
	g        *generator
	seed     uint64
	off, end int64
	cur      int64 // index of the chunk in block; -1: none yet
	block    []byte
}

// open returns a reader of the size bytes of blob seed.
func (g *generator) open(seed uint64, size int64) *stream { return g.openRange(seed, size, 0, size) }

// openRange returns a reader of bytes [off, end) of blob seed.
func (g *generator) openRange(seed uint64, size, off, end int64) *stream {
	s := &stream{g: g, seed: seed, off: off, end: end, cur: -1, block: make([]byte, min(size, chunkSize))}
	if g.mode != "chacha8" {
		copy(s.block, g.pool)
	}
	return s
}

// fill prepares the block for chunk index i.
func (s *stream) fill(i int64) {
	var stamp [24]byte
	binary.LittleEndian.PutUint64(stamp[0:], s.g.nonce)
	binary.LittleEndian.PutUint64(stamp[8:], s.seed)
	binary.LittleEndian.PutUint64(stamp[16:], uint64(i))
	if s.g.mode == "chacha8" {
		var key [32]byte
		copy(key[:], stamp[:])
		_, _ = rand.NewChaCha8(key).Read(s.block)
		return
	}
	copy(s.block, stamp[:])
}

// next returns the rest of the current chunk (at most up to end).
func (s *stream) next() []byte {
	if i := s.off / chunkSize; i != s.cur {
		s.fill(i)
		s.cur = i
	}
	in := s.off % chunkSize
	return s.block[in:min(int64(len(s.block)), in+s.end-s.off)]
}

func (s *stream) Read(p []byte) (int, error) {
	if s.off >= s.end {
		return 0, io.EOF
	}
	n := copy(p, s.next())
	s.off += int64(n)
	return n, nil
}

func (s *stream) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for s.off < s.end {
		n, err := w.Write(s.next())
		s.off += int64(n)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// digest hashes blob seed in one streaming pass.
func (g *generator) digest(seed uint64, size int64) string {
	h := sha256.New()
	_, _ = g.open(seed, size).WriteTo(h)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// bytes returns blob seed whole; only for small blobs.
func (g *generator) bytes(seed uint64, size int64) []byte {
	b := make([]byte, 0, size)
	w := &sliceWriter{b}
	_, _ = g.open(seed, size).WriteTo(w)
	return w.b
}

type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// measureSHA256 measures crypto/sha256 throughput on this machine, in MB/s
// (10^6 bytes per second), hashing mib MiB in 1 MiB buffers on one goroutine.
func measureSHA256(pool []byte, mib int) float64 {
	h := sha256.New()
	h.Write(pool[:4096]) // warm up
	h.Reset()
	start := time.Now()
	for range mib {
		h.Write(pool)
	}
	_ = h.Sum(nil)
	return mbps(int64(mib)*chunkSize, time.Since(start))
}

// mbps is bytes per duration in MB/s (10^6 bytes per second).
func mbps(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / 1e6 / d.Seconds()
}

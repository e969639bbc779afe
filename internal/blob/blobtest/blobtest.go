// Package blobtest is the conformance suite every blob backend must pass.
// A backend's own test calls Run with a constructor for a fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		blobtest.Run(t, func(t *testing.T) blobtest.Backend { return newStore(t) })
//	}
package blobtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/acre-project/acre/internal/blob"
	"github.com/opencontainers/go-digest"

	_ "crypto/sha512" // registers sha512 for go-digest
)

// Backend is what the suite exercises: a blob store and the uploads feeding it.
type Backend = interface {
	blob.Store
	blob.Uploads
}

// LargeBlobSize is the size of the streamed blob in the large-blob test.
const LargeBlobSize = 64 << 20

var idSeq atomic.Int64

// NewID returns an upload id unique within the process.
func NewID() string {
	return fmt.Sprintf("upload-%d-%08x", idSeq.Add(1), rand.Uint32())
}

// Run runs the suite. newStore must return a fresh, empty store each call;
// subtests run in parallel, each on its own store.
func Run(t *testing.T, newStore func(t *testing.T) Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Backend)
	}{
		{"RoundTrip", testRoundTrip},
		{"CommitWrongDigestKeepsSession", testCommitWrongDigest},
		{"CommitUnsupportedDigestKeepsSession", testCommitUnsupportedDigest},
		{"AppendWrongOffset", testAppendWrongOffset},
		{"FailedAppendResumes", testFailedAppendResumes},
		{"SHA512", testSHA512},
		{"EmptyBlob", testEmptyBlob},
		{"OpenWithOffset", testOpenWithOffset},
		{"UnknownDigest", testUnknownDigest},
		{"DeleteIdempotent", testDeleteIdempotent},
		{"AbortIdempotent", testAbortIdempotent},
		{"CommitEndsSession", testCommitEndsSession},
		{"CommitExistingContent", testCommitExistingContent},
		{"StartTwice", testStartTwice},
		{"ConcurrentCommitsIdenticalContent", testConcurrentCommits},
		{"ConcurrentAppendsSameOffset", testConcurrentAppends},
		{"UnknownUploadID", testUnknownUploadID},
		{"PathTrickUploadIDs", testPathTrickIDs},
		{"LargeStreaming", testLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

func start(t *testing.T, s Backend) string {
	t.Helper()
	id := NewID()
	if err := s.Start(t.Context(), id); err != nil {
		t.Fatalf("Start(%q): %v", id, err)
	}
	return id
}

func appendAt(t *testing.T, s Backend, id string, off int64, b []byte) int64 {
	t.Helper()
	n, err := s.Append(t.Context(), id, off, bytes.NewReader(b))
	if err != nil {
		t.Fatalf("Append(%q, %d, %d bytes): %v", id, off, len(b), err)
	}
	if want := off + int64(len(b)); n != want {
		t.Fatalf("Append(%q, %d, %d bytes) = %d, want %d", id, off, len(b), n, want)
	}
	return n
}

func size(t *testing.T, s Backend, id string) int64 {
	t.Helper()
	n, err := s.Size(t.Context(), id)
	if err != nil {
		t.Fatalf("Size(%q): %v", id, err)
	}
	return n
}

func commit(t *testing.T, s Backend, id string, d digest.Digest, wantSize int64) {
	t.Helper()
	n, err := s.Commit(t.Context(), id, d)
	if err != nil {
		t.Fatalf("Commit(%q, %s): %v", id, d, err)
	}
	if n != wantSize {
		t.Fatalf("Commit(%q, %s) = %d bytes, want %d", id, d, n, wantSize)
	}
}

// put stores b as one blob through a fresh session and returns its sha256 digest.
func put(t *testing.T, s Backend, b []byte) digest.Digest {
	t.Helper()
	id := start(t, s)
	appendAt(t, s, id, 0, b)
	d := digest.FromBytes(b)
	commit(t, s, id, d, int64(len(b)))
	return d
}

func read(t *testing.T, s Backend, d digest.Digest, off int64) []byte {
	t.Helper()
	rc, err := s.Open(t.Context(), d, off)
	if err != nil {
		t.Fatalf("Open(%s, %d): %v", d, off, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s from %d: %v", d, off, err)
	}
	return b
}

func wantStat(t *testing.T, s Backend, d digest.Digest, want int64) {
	t.Helper()
	n, err := s.Stat(t.Context(), d)
	if err != nil {
		t.Fatalf("Stat(%s): %v", d, err)
	}
	if n != want {
		t.Fatalf("Stat(%s) = %d, want %d", d, n, want)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

var errBroken = errors.New("connection broken")

func (r *failingReader) Read(p []byte) (int, error) {
	if r.done || len(r.b) == 0 {
		r.done = true
		return 0, errBroken
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

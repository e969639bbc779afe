// Package blobtest is the conformance suite every blob backend must pass.
// A backend's own test calls Run with a constructor for a fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		blobtest.Run(t, func(t *testing.T) blobtest.Backend { return newStore(t) })
//	}
package blobtest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
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

func testRoundTrip(t *testing.T, s Backend) {
	id := start(t, s)
	if n := size(t, s, id); n != 0 {
		t.Fatalf("Size of a new session = %d, want 0", n)
	}
	chunks := [][]byte{[]byte("hello, "), []byte("blob "), {}, []byte("world")}
	var all []byte
	var off int64
	for _, c := range chunks {
		off = appendAt(t, s, id, off, c)
		all = append(all, c...)
		if n := size(t, s, id); n != off {
			t.Fatalf("Size = %d after appending up to %d", n, off)
		}
	}
	d := digest.FromBytes(all)
	commit(t, s, id, d, int64(len(all)))
	wantStat(t, s, d, int64(len(all)))
	if got := read(t, s, d, 0); !bytes.Equal(got, all) {
		t.Fatalf("Open read %q, want %q", got, all)
	}
}

func testCommitWrongDigest(t *testing.T, s Backend) {
	ctx := t.Context()
	id := start(t, s)
	content := []byte("the right content")
	appendAt(t, s, id, 0, content)
	wrong := []digest.Digest{
		digest.FromString("other content"),
		digest.SHA512.FromString("other content"),
		digest.FromBytes(content[:5]),
	}
	for _, d := range wrong {
		_, err := s.Commit(ctx, id, d)
		wantErr(t, fmt.Sprintf("Commit with wrong digest %s", d), err, blob.ErrDigestMismatch)
		if n := size(t, s, id); n != int64(len(content)) {
			t.Fatalf("Size after failed commit = %d, want %d", n, len(content))
		}
		if _, err := s.Stat(ctx, d); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Stat(%s) after failed commit: err = %v, want ErrNotFound", d, err)
		}
	}
	// The session goes on: append more, then commit with the right digest.
	more := []byte(" and more")
	appendAt(t, s, id, int64(len(content)), more)
	all := append(content, more...)
	commit(t, s, id, digest.FromBytes(all), int64(len(all)))
	if got := read(t, s, digest.FromBytes(all), 0); !bytes.Equal(got, all) {
		t.Fatalf("read %q, want %q", got, all)
	}
}

func testCommitUnsupportedDigest(t *testing.T, s Backend) {
	id := start(t, s)
	content := []byte("content")
	appendAt(t, s, id, 0, content)
	for _, d := range []digest.Digest{
		"md5:9a0364b9e99bb480dd25e1f0284c8555",
		"sha256:not-hex",
		"sha256:" + digest.Digest(strings.Repeat("a", 63)),
		"",
	} {
		if _, err := s.Commit(t.Context(), id, d); err == nil {
			t.Fatalf("Commit(%q) succeeded", d)
		}
		if n := size(t, s, id); n != int64(len(content)) {
			t.Fatalf("Size after Commit(%q) = %d, want %d", d, n, len(content))
		}
	}
	commit(t, s, id, digest.FromBytes(content), int64(len(content)))
}

func testAppendWrongOffset(t *testing.T, s Backend) {
	id := start(t, s)
	appendAt(t, s, id, 0, []byte("0123456789"))
	for _, off := range []int64{0, 5, 9, 11, 1 << 40, -1} {
		t.Run(fmt.Sprint(off), func(t *testing.T) {
			_, err := s.Append(t.Context(), id, off, strings.NewReader("xyz"))
			wantErr(t, fmt.Sprintf("Append at %d of a 10-byte session", off), err, blob.ErrOffset)
			if n := size(t, s, id); n != 10 {
				t.Fatalf("Size after a refused append = %d, want 10", n)
			}
		})
	}
	appendAt(t, s, id, 10, []byte("abc"))
	commit(t, s, id, digest.FromString("0123456789abc"), 13)
}

// failingReader yields b, then fails.
type failingReader struct {
	b    []byte
	done bool
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

func testFailedAppendResumes(t *testing.T, s Backend) {
	ctx := t.Context()
	content := bytes.Repeat([]byte("resumable upload "), 4096)
	id := start(t, s)
	appendAt(t, s, id, 0, content[:1000])
	_, err := s.Append(ctx, id, 1000, &failingReader{b: content[1000:30000]})
	if err == nil {
		t.Fatal("Append from a failing reader succeeded")
	}
	n := size(t, s, id)
	if n < 1000 || n > 30000 {
		t.Fatalf("Size after a failed append = %d, want within [1000, 30000]", n)
	}
	appendAt(t, s, id, n, content[n:])
	commit(t, s, id, digest.FromBytes(content), int64(len(content)))
	if got := read(t, s, digest.FromBytes(content), 0); !bytes.Equal(got, content) {
		t.Fatal("content read back differs after a resumed upload")
	}
}

func testSHA512(t *testing.T, s Backend) {
	content := []byte("sha512 content, appended in two parts")
	id := start(t, s)
	appendAt(t, s, id, 0, content[:10])
	appendAt(t, s, id, 10, content[10:])
	d := digest.SHA512.FromBytes(content)
	commit(t, s, id, d, int64(len(content)))
	wantStat(t, s, d, int64(len(content)))
	if got := read(t, s, d, 0); !bytes.Equal(got, content) {
		t.Fatalf("read %q, want %q", got, content)
	}
	if _, err := s.Stat(t.Context(), digest.FromBytes(content)); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat of the sha256 digest: err = %v, want ErrNotFound", err)
	}
	// The same content may be stored under both algorithms.
	d256 := put(t, s, content)
	wantStat(t, s, d256, int64(len(content)))
	wantStat(t, s, d, int64(len(content)))
}

func testEmptyBlob(t *testing.T, s Backend) {
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		t.Run(alg.String(), func(t *testing.T) {
			id := start(t, s)
			d := alg.FromBytes(nil)
			commit(t, s, id, d, 0)
			wantStat(t, s, d, 0)
			if got := read(t, s, d, 0); len(got) != 0 {
				t.Fatalf("empty blob read %q", got)
			}
		})
	}
	// An empty append is also fine.
	id := start(t, s)
	appendAt(t, s, id, 0, nil)
	commit(t, s, id, digest.FromBytes(nil), 0)
}

func testOpenWithOffset(t *testing.T, s Backend) {
	content := []byte("0123456789abcdefghij")
	d := put(t, s, content)
	for _, off := range []int64{0, 1, 10, 19, 20} {
		t.Run(fmt.Sprint(off), func(t *testing.T) {
			if got := read(t, s, d, off); !bytes.Equal(got, content[off:]) {
				t.Fatalf("Open at %d read %q, want %q", off, got, content[off:])
			}
		})
	}
}

func testUnknownDigest(t *testing.T, s Backend) {
	ctx := t.Context()
	put(t, s, []byte("something stored"))
	for _, d := range []digest.Digest{
		digest.FromString("never stored"),
		digest.SHA512.FromString("never stored"),
		"sha256:zz",
		"sha256:../../../../etc/passwd",
		"",
	} {
		t.Run(string(d), func(t *testing.T) {
			_, err := s.Stat(ctx, d)
			wantErr(t, fmt.Sprintf("Stat(%q)", d), err, blob.ErrNotFound)
			rc, err := s.Open(ctx, d, 0)
			if err == nil {
				rc.Close()
			}
			wantErr(t, fmt.Sprintf("Open(%q)", d), err, blob.ErrNotFound)
		})
	}
}

func testDeleteIdempotent(t *testing.T, s Backend) {
	ctx := t.Context()
	keep := put(t, s, []byte("keep me"))
	d := put(t, s, []byte("delete me"))
	for i := range 2 {
		if err := s.Delete(ctx, d); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
		if _, err := s.Stat(ctx, d); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Stat after Delete: err = %v, want ErrNotFound", err)
		}
	}
	if err := s.Delete(ctx, digest.FromString("never stored")); err != nil {
		t.Fatalf("Delete of an unknown blob: %v", err)
	}
	wantStat(t, s, keep, 7)
	// Deleted content can be stored again.
	put(t, s, []byte("delete me"))
	wantStat(t, s, d, 9)
}

func testAbortIdempotent(t *testing.T, s Backend) {
	ctx := t.Context()
	other := start(t, s)
	appendAt(t, s, other, 0, []byte("other session"))
	id := start(t, s)
	appendAt(t, s, id, 0, []byte("discard me"))
	for i := range 2 {
		if err := s.Abort(ctx, id); err != nil {
			t.Fatalf("Abort #%d: %v", i+1, err)
		}
		_, err := s.Size(ctx, id)
		wantErr(t, "Size after Abort", err, blob.ErrNotFound)
	}
	_, err := s.Append(ctx, id, 0, strings.NewReader("x"))
	wantErr(t, "Append after Abort", err, blob.ErrNotFound)
	_, err = s.Commit(ctx, id, digest.FromString("discard me"))
	wantErr(t, "Commit after Abort", err, blob.ErrNotFound)
	if err := s.Abort(ctx, NewID()); err != nil {
		t.Fatalf("Abort of an unknown session: %v", err)
	}
	if n := size(t, s, other); n != 13 {
		t.Fatalf("other session Size = %d, want 13", n)
	}
}

func testCommitEndsSession(t *testing.T, s Backend) {
	ctx := t.Context()
	id := start(t, s)
	appendAt(t, s, id, 0, []byte("once"))
	d := digest.FromString("once")
	commit(t, s, id, d, 4)
	_, err := s.Size(ctx, id)
	wantErr(t, "Size after Commit", err, blob.ErrNotFound)
	_, err = s.Append(ctx, id, 4, strings.NewReader("more"))
	wantErr(t, "Append after Commit", err, blob.ErrNotFound)
	_, err = s.Commit(ctx, id, d)
	wantErr(t, "second Commit", err, blob.ErrNotFound)
	if err := s.Abort(ctx, id); err != nil {
		t.Fatalf("Abort after Commit: %v", err)
	}
	wantStat(t, s, d, 4)
}

func testCommitExistingContent(t *testing.T, s Backend) {
	ctx := t.Context()
	content := []byte("stored twice")
	d := put(t, s, content)
	d2 := put(t, s, content)
	if d != d2 {
		t.Fatalf("digests differ: %s, %s", d, d2)
	}
	wantStat(t, s, d, int64(len(content)))
	if got := read(t, s, d, 0); !bytes.Equal(got, content) {
		t.Fatalf("read %q, want %q", got, content)
	}
	// A session whose content is already stored still ends on commit.
	id := start(t, s)
	appendAt(t, s, id, 0, content)
	commit(t, s, id, d, int64(len(content)))
	_, err := s.Size(ctx, id)
	wantErr(t, "Size after committing known content", err, blob.ErrNotFound)
}

func testStartTwice(t *testing.T, s Backend) {
	id := start(t, s)
	appendAt(t, s, id, 0, []byte("keep"))
	if err := s.Start(t.Context(), id); err == nil {
		t.Fatal("Start of an existing session succeeded")
	}
	if n := size(t, s, id); n != 4 {
		t.Fatalf("Size after a second Start = %d, want 4", n)
	}
}

func testConcurrentCommits(t *testing.T, s Backend) {
	ctx := t.Context()
	content := bytes.Repeat([]byte("identical layer "), 8192)
	d := digest.FromBytes(content)
	const n = 8
	ids := make([]string, n)
	for i := range ids {
		ids[i] = start(t, s)
		appendAt(t, s, ids[i], 0, content)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	sizes := make([]int64, n)
	for i, id := range ids {
		wg.Go(func() { sizes[i], errs[i] = s.Commit(ctx, id, d) })
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || sizes[i] != int64(len(content)) {
			t.Fatalf("Commit #%d = %d, %v; want %d, nil", i, sizes[i], errs[i], len(content))
		}
		if _, err := s.Size(ctx, ids[i]); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("session #%d still exists after Commit: %v", i, err)
		}
	}
	wantStat(t, s, d, int64(len(content)))
	if got := read(t, s, d, 0); !bytes.Equal(got, content) {
		t.Fatal("content differs after concurrent commits")
	}
}

func testConcurrentAppends(t *testing.T, s Backend) {
	ctx := t.Context()
	id := start(t, s)
	const n = 8
	chunk := bytes.Repeat([]byte("c"), 64<<10)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = s.Append(ctx, id, 0, bytes.NewReader(chunk)) })
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, blob.ErrOffset):
			t.Fatalf("Append #%d: %v, want nil or ErrOffset", i, err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d appends at offset 0 succeeded, want exactly 1", ok)
	}
	commit(t, s, id, digest.FromBytes(chunk), int64(len(chunk)))
}

func testUnknownUploadID(t *testing.T, s Backend) {
	ctx := t.Context()
	id := NewID()
	_, err := s.Size(ctx, id)
	wantErr(t, "Size", err, blob.ErrNotFound)
	_, err = s.Append(ctx, id, 0, strings.NewReader("x"))
	wantErr(t, "Append", err, blob.ErrNotFound)
	_, err = s.Commit(ctx, id, digest.FromString("x"))
	wantErr(t, "Commit", err, blob.ErrNotFound)
	if err := s.Abort(ctx, id); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	if _, err := s.Size(ctx, id); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("a failed Append or Commit created session %q: %v", id, err)
	}
}

func testPathTrickIDs(t *testing.T, s Backend) {
	ctx := t.Context()
	stored := put(t, s, []byte("must survive"))
	live := start(t, s)
	appendAt(t, s, live, 0, []byte("live"))
	ids := []string{"", ".", "..", "a/b", "../" + live, live + "/..", "/tmp", "a/../" + live, "./" + live}
	for _, id := range ids {
		t.Run(fmt.Sprintf("%q", id), func(t *testing.T) {
			err := s.Start(ctx, id)
			wantErr(t, "Start", err, blob.ErrNotFound)
			_, err = s.Size(ctx, id)
			wantErr(t, "Size", err, blob.ErrNotFound)
			_, err = s.Append(ctx, id, 0, strings.NewReader("evil"))
			wantErr(t, "Append", err, blob.ErrNotFound)
			_, err = s.Commit(ctx, id, digest.FromString("evil"))
			wantErr(t, "Commit", err, blob.ErrNotFound)
			_ = s.Abort(ctx, id) // must not remove anything else
		})
	}
	wantStat(t, s, stored, 12)
	if n := size(t, s, live); n != 4 {
		t.Fatalf("live session Size = %d, want 4", n)
	}
	commit(t, s, live, digest.FromString("live"), 4)
}

// testLarge streams LargeBlobSize pseudo-random bytes through four appends
// without holding them in memory and reads them back.
func testLarge(t *testing.T, s Backend) {
	ctx := t.Context()
	src := rand.NewChaCha8([32]byte{'a', 'c', 'r', 'e'})
	const parts = 4
	const part = LargeBlobSize / parts
	whole := sha256.New()
	tail := sha256.New() // the last part alone
	id := start(t, s)
	var off int64
	for i := range parts {
		var w io.Writer = whole
		if i == parts-1 {
			w = io.MultiWriter(whole, tail)
		}
		n, err := s.Append(ctx, id, off, io.TeeReader(io.LimitReader(src, part), w))
		if err != nil {
			t.Fatalf("Append part %d: %v", i, err)
		}
		if n != off+part {
			t.Fatalf("Append part %d = %d, want %d", i, n, off+part)
		}
		off = n
	}
	d := digest.NewDigest(digest.SHA256, whole)
	commit(t, s, id, d, LargeBlobSize)
	wantStat(t, s, d, LargeBlobSize)
	check := func(off int64, want digest.Digest) {
		t.Helper()
		rc, err := s.Open(ctx, d, off)
		if err != nil {
			t.Fatalf("Open(%d): %v", off, err)
		}
		defer rc.Close()
		got, err := digest.SHA256.FromReader(rc)
		if err != nil {
			t.Fatalf("read from %d: %v", off, err)
		}
		if got != want {
			t.Fatalf("content from %d hashes to %s, want %s", off, got, want)
		}
	}
	check(0, d)
	check(LargeBlobSize-part, digest.NewDigest(digest.SHA256, tail))
}

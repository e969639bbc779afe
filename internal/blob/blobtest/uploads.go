// The suite's tests of upload sessions: commit checks, offsets, failures, aborts and ids.

package blobtest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/acre-project/acre/internal/blob"
	"github.com/opencontainers/go-digest"
)

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

// The suite's tests of stored content: round trips, reads, deletes and large blobs.

package blobtest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/acre-project/acre/internal/blob"
	"github.com/opencontainers/go-digest"
)

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

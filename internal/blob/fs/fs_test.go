package fs

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/acre-project/acre/internal/blob"
	"github.com/acre-project/acre/internal/blob/blobtest"
	"github.com/opencontainers/go-digest"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blobtest.Backend { return newStore(t) })
}

func TestNewOnAFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(f); err == nil {
		t.Fatal("New on a regular file succeeded")
	}
}

func TestCommittedLayout(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	id := blobtest.NewID()
	if err := s.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, id, 0, strings.NewReader("layout")); err != nil {
		t.Fatal(err)
	}
	d := digest.FromString("layout")
	if _, err := s.Commit(ctx, id, d); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(s.root, "blobs", "sha256", d.Encoded()[:2], d.Encoded())
	if b, err := os.ReadFile(p); err != nil || string(b) != "layout" {
		t.Fatalf("blob file %s = %q, %v", p, b, err)
	}
	if _, err := os.Stat(filepath.Join(s.root, "uploads", id)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("upload file left after commit: %v", err)
	}
}

// TestHashStateLost commits an upload whose in-memory hash state is gone
// (the server restarted between the appends and the commit, or between
// two appends): the data is read again and the digest stays right.
func TestHashStateLost(t *testing.T) {
	first, second := []byte("first part of the upload, "), []byte("then the second part")
	for _, thenAppend := range []bool{false, true} {
		s := newStore(t)
		ctx := t.Context()
		id := blobtest.NewID()
		must(t, s.Start(ctx, id))
		if _, err := s.Append(ctx, id, 0, bytes.NewReader(first)); err != nil {
			t.Fatal(err)
		}
		s, err := New(s.root) // a restart
		must(t, err)
		want := first
		if thenAppend {
			if _, err := s.Append(ctx, id, int64(len(first)), bytes.NewReader(second)); err != nil {
				t.Fatalf("Append after restart: %v", err)
			}
			want = append(append([]byte{}, first...), second...)
		}
		if _, err := s.Commit(ctx, id, digest.FromBytes(first[:3])); !errors.Is(err, blob.ErrDigestMismatch) {
			t.Fatalf("Commit with a wrong digest = %v", err)
		}
		if got, err := s.Commit(ctx, id, digest.FromBytes(want)); err != nil || got != int64(len(want)) {
			t.Fatalf("Commit(append=%v) = %d, %v; want %d", thenAppend, got, err, len(want))
		}
	}
}

// TestAppendSizes streams bodies around the buffer and write-back sizes,
// in one append and split in two, and reads them back.
func TestAppendSizes(t *testing.T) {
	for _, n := range []int{0, 1, copyBuf - 1, copyBuf, copyBuf + 1, copyBufs*copyBuf + 7, 2*wbChunkForTest + 5} {
		for _, split := range []int{0, n / 3} {
			t.Run(fmt.Sprintf("%d split %d", n, split), func(t *testing.T) {
				s := newStore(t)
				ctx := t.Context()
				b := make([]byte, n)
				_, _ = rand.Read(b)
				id := blobtest.NewID()
				must(t, s.Start(ctx, id))
				if split > 0 {
					if _, err := s.Append(ctx, id, 0, bytes.NewReader(b[:split])); err != nil {
						t.Fatal(err)
					}
				}
				// A reader that returns short reads, as a network body does.
				if got, err := s.Append(ctx, id, int64(split), iotest.HalfReader(bytes.NewReader(b[split:]))); err != nil || got != int64(n) {
					t.Fatalf("Append = %d, %v", got, err)
				}
				d := digest.FromBytes(b)
				if _, err := s.Commit(ctx, id, d); err != nil {
					t.Fatal(err)
				}
				rc, err := s.Open(ctx, d, 0)
				must(t, err)
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || !bytes.Equal(got, b) {
					t.Fatalf("read back %d bytes, %v", len(got), err)
				}
			})
		}
	}
}

// TestEarlierUploadLayout checks that an upload directory left by the
// earlier layout (uploads/<id>/data) is an unknown session that
// ListUploads lists and Abort removes.
func TestEarlierUploadLayout(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	id := blobtest.NewID()
	dir := filepath.Join(s.root, "uploads", id)
	must(t, os.Mkdir(dir, 0o700))
	write(t, filepath.Join(dir, "data"), []byte("old"))
	if _, err := s.Size(ctx, id); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Size = %v", err)
	}
	if _, err := s.Append(ctx, id, 3, strings.NewReader("x")); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Append = %v", err)
	}
	if _, err := s.Commit(ctx, id, digest.FromString("old")); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Commit = %v", err)
	}
	var listed []string
	must(t, s.ListUploads(ctx, func(id string, _ time.Time) error { listed = append(listed, id); return nil }))
	if len(listed) != 1 || listed[0] != id {
		t.Fatalf("ListUploads = %v", listed)
	}
	must(t, s.Abort(ctx, id))
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Abort left %s: %v", dir, err)
	}
}

// TestHashStateDataGrewBehindIt covers a crash between writing data and
// saving the hash state: the data holds more than the state covers.
func TestHashStateDataGrewBehindIt(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	id := blobtest.NewID()
	must(t, s.Start(ctx, id))
	if _, err := s.Append(ctx, id, 0, strings.NewReader("abc")); err != nil {
		t.Fatal(err)
	}
	p, _ := s.uploadPath(id)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	_, err = f.WriteString("def")
	must(t, err)
	must(t, f.Close())
	if n, err := s.Size(ctx, id); err != nil || n != 6 {
		t.Fatalf("Size = %d, %v; want 6", n, err)
	}
	if _, err := s.Append(ctx, id, 6, strings.NewReader("ghi")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, id, digest.FromString("abcdefghi")); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func TestWalk(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	want := map[digest.Digest]int64{}
	store := func(content string, alg digest.Algorithm) digest.Digest {
		id := blobtest.NewID()
		must(t, s.Start(ctx, id))
		if _, err := s.Append(ctx, id, 0, strings.NewReader(content)); err != nil {
			t.Fatal(err)
		}
		d := alg.FromString(content)
		if _, err := s.Commit(ctx, id, d); err != nil {
			t.Fatal(err)
		}
		want[d] = int64(len(content))
		return d
	}
	store("", digest.SHA256)
	store("one", digest.SHA256)
	store("two two", digest.SHA256)
	store("three", digest.SHA512)
	gone := store("deleted", digest.SHA256)
	must(t, s.Delete(ctx, gone))
	delete(want, gone)

	// An upload in progress is not a blob.
	id := blobtest.NewID()
	must(t, s.Start(ctx, id))
	if _, err := s.Append(ctx, id, 0, strings.NewReader("pending")); err != nil {
		t.Fatal(err)
	}
	// Stray files in the blob tree are skipped.
	hex := digest.FromString("stray").Encoded()
	for _, p := range []string{
		filepath.Join("sha256", hex[:2], "not-a-digest"),
		filepath.Join("sha256", hex[:2], hex+".tmp"),
		filepath.Join("md5", "9a", "9a0364b9e99bb480dd25e1f0284c8555"),
		filepath.Join("sha256", hex[:2], strings.ToUpper(hex)),
	} {
		p = filepath.Join(s.root, "blobs", p)
		must(t, os.MkdirAll(filepath.Dir(p), 0o700))
		write(t, p, []byte("junk"))
	}

	got := map[digest.Digest]int64{}
	err := s.Walk(ctx, func(d digest.Digest, size int64) error {
		if _, dup := got[d]; dup {
			t.Errorf("Walk listed %s twice", d)
		}
		got[d] = size
		return nil
	})
	must(t, err)
	if len(got) != len(want) {
		t.Errorf("Walk listed %d blobs, want %d: %v", len(got), len(want), got)
	}
	for d, n := range want {
		if got[d] != n {
			t.Errorf("Walk: %s = %d, want %d (listed: %v)", d, got[d], n, got[d] != 0 || n == 0)
		}
	}
	for d := range got {
		if _, ok := want[d]; !ok {
			t.Errorf("Walk listed unexpected %s", d)
		}
	}

	t.Run("stops on error", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := s.Walk(ctx, func(digest.Digest, int64) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Fatalf("Walk = %v after %d calls, want stop after 1", err, calls)
		}
	})
	t.Run("canceled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err := s.Walk(cctx, func(digest.Digest, int64) error { return nil })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Walk with a canceled context = %v", err)
		}
	})
	t.Run("empty store", func(t *testing.T) {
		err := newStore(t).Walk(ctx, func(d digest.Digest, _ int64) error {
			t.Errorf("empty store listed %s", d)
			return nil
		})
		must(t, err)
	})
}

// TestBugUploadLockLeak checks that the per-upload mutexes are dropped once
// a session is over. Every session that ends must leave s.locks empty, or a
// long-running server grows without bound.
func TestBugUploadLockLeak(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, s *Store)
	}{
		{"commit of new content", func(t *testing.T, s *Store) {
			uploadAndCommit(t, s, "new")
		}},
		{"commit of content already stored", func(t *testing.T, s *Store) {
			uploadAndCommit(t, s, "dup")
			s.locks.Clear()
			uploadAndCommit(t, s, "dup")
		}},
		{"abort", func(t *testing.T, s *Store) {
			id := blobtest.NewID()
			must(t, s.Start(t.Context(), id))
			if _, err := s.Append(t.Context(), id, 0, strings.NewReader("x")); err != nil {
				t.Fatal(err)
			}
			must(t, s.Abort(t.Context(), id))
		}},
		{"append to an unknown session", func(t *testing.T, s *Store) {
			if _, err := s.Append(t.Context(), blobtest.NewID(), 0, strings.NewReader("x")); !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("Append: %v", err)
			}
		}},
		{"commit of an unknown session", func(t *testing.T, s *Store) {
			if _, err := s.Commit(t.Context(), blobtest.NewID(), digest.FromString("x")); !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("Commit: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			tt.run(t, s)
			var left []any
			s.locks.Range(func(k, _ any) bool { left = append(left, k); return true })
			if len(left) != 0 {
				t.Errorf("upload locks left after the session ended: %v", left)
			}
			if n := s.digests.held(); n != 0 {
				t.Errorf("%d digest locks left after the session ended", n)
			}
		})
	}
}

// TestCommitReplacesLeftover covers a crash between a commit's rename and
// its syncs: the file at the blob's path may be partial and no metadata
// refers to it. The next upload of that digest must replace it, not trust it.
func TestCommitReplacesLeftover(t *testing.T) {
	for _, leftover := range []string{"", "partial", "same size!"} {
		t.Run(fmt.Sprintf("%q", leftover), func(t *testing.T) {
			s := newStore(t)
			const content = "whole blob"
			d := digest.FromString(content)
			p, err := s.blobPath(d)
			must(t, err)
			must(t, os.MkdirAll(filepath.Dir(p), 0o700))
			write(t, p, []byte(leftover))
			uploadAndCommit(t, s, content)
			if b, err := os.ReadFile(p); err != nil || string(b) != content {
				t.Fatalf("blob after commit = %q, %v; want %q", b, err, content)
			}
		})
	}
}

func uploadAndCommit(t *testing.T, s *Store, content string) {
	t.Helper()
	ctx := t.Context()
	id := blobtest.NewID()
	must(t, s.Start(ctx, id))
	if _, err := s.Append(ctx, id, 0, strings.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, id, digest.FromString(content)); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, p string, b []byte) {
	t.Helper()
	must(t, os.WriteFile(p, b, 0o600))
}

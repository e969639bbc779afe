package fs

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/acre-project/acre/internal/blob"
	"github.com/opencontainers/go-digest"
)

// hashState is the sha256 of an upload's first size bytes.
type hashState struct {
	size int64
	h    hash.Hash
}

// lock serializes work on one upload session. The unlock it returns also
// drops the session's lock entry once the session is gone (committed,
// aborted or never there), so the map does not grow with dead sessions.
func (s *Store) lock(id string) func() {
	m, _ := s.locks.LoadOrStore(id, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return func() {
		if _, err := os.Lstat(filepath.Join(s.root, "uploads", id)); errors.Is(err, fs.ErrNotExist) {
			s.locks.Delete(id)
			s.hashes.Delete(id)
		}
		mu.Unlock()
	}
}

// Start implements blob.Uploads.
func (s *Store) Start(_ context.Context, id string) error {
	p, err := s.uploadPath(id)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// openUpload opens an upload's data file; a missing one, or a directory
// of the earlier layout, is blob.ErrNotFound.
func (s *Store) openUpload(id string, flag int) (*os.File, error) {
	p, err := s.uploadPath(id)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, flag, 0)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.EISDIR) {
		return nil, blob.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = blob.ErrNotFound
		}
		return nil, err
	}
	return f, nil
}

// Size implements blob.Uploads.
func (s *Store) Size(_ context.Context, id string) (int64, error) {
	p, err := s.uploadPath(id)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !fi.Mode().IsRegular()) {
		return 0, blob.ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Append implements blob.Uploads. It hashes while it writes and keeps the
// sha256 state for the next append or the commit.
func (s *Store) Append(ctx context.Context, id string, offset int64, r io.Reader) (int64, error) {
	if _, err := s.uploadPath(id); err != nil {
		return 0, err
	}
	defer s.lock(id)()
	f, err := s.openUpload(id, os.O_WRONLY)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	if offset != size {
		return size, blob.ErrOffset
	}
	h := s.loadHash(id, size)
	s.hashes.Delete(id)
	n, err := s.copyIn(f, size, r, h)
	size += n
	if err != nil {
		return size, err // what arrived stays; the hash state is dropped
	}
	if h != nil {
		s.hashes.Store(id, &hashState{size: size, h: h})
	}
	return size, nil
}

// loadHash returns the kept sha256 state if it covers exactly size bytes,
// a fresh hash for an empty upload, or nil when the data must be re-read.
func (s *Store) loadHash(id string, size int64) hash.Hash {
	if size == 0 {
		return sha256.New()
	}
	if v, ok := s.hashes.Load(id); ok && v.(*hashState).size == size {
		return v.(*hashState).h
	}
	return nil
}

// Commit implements blob.Uploads.
func (s *Store) Commit(ctx context.Context, id string, want digest.Digest) (int64, error) {
	if _, err := s.uploadPath(id); err != nil {
		return 0, err
	}
	dst, err := s.blobPath(want)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", blob.ErrDigestMismatch, err)
	}
	defer s.lock(id)()
	f, err := s.openUpload(id, os.O_RDONLY)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := fi.Size()
	var got digest.Digest
	if h := s.loadHash(id, size); h != nil && want.Algorithm() == digest.SHA256 {
		got = digest.NewDigest(digest.SHA256, h)
	} else {
		if !want.Algorithm().Available() {
			return 0, blob.ErrDigestMismatch
		}
		if got, err = want.Algorithm().FromReader(f); err != nil {
			return 0, err
		}
	}
	if got != want {
		return 0, blob.ErrDigestMismatch
	}
	return size, s.place(f, want, dst)
}

// place moves the verified upload f into the store at dst, durably. A new
// blob is renamed into place first and then synced (file, then directory):
// on ext4 and similar file systems the file's sync commits the rename with
// it, so the directory's sync finds little left to do, and the commits of
// concurrent uploads share the file system's journal commits. Until both
// syncs return, a crash may leave a partial file at dst that no metadata
// refers to: the caller records the blob only after place returns, so a
// later upload of the same digest finds dst present but not trusted and
// replaces it the safe way (sync, then rename over it), and garbage
// collection removes it otherwise. Commits of one digest are serialized,
// so a rename-first commit never has its file replaced by an unsynced one.
func (s *Store) place(f *os.File, d digest.Digest, dst string) error {
	defer s.digests.lock(d)()
	src := f.Name()
	dir := filepath.Dir(dst)
	if _, err := os.Lstat(dst); err == nil {
		// Present, perhaps left partial by a crash: sync before replacing it.
		if err := datasync(f); err != nil {
			return err
		}
		if err := os.Rename(src, dst); err != nil {
			return err
		}
		return syncDir(dir)
	}
	if err := s.ensureDir(dir); err != nil {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		return err
	}
	if err := datasync(f); err != nil {
		return err
	}
	return syncDir(dir)
}

// ensureDir creates a blob directory that is missing and syncs its parent,
// so that the directory entry is as durable as the blob put in it.
func (s *Store) ensureDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dir))
}

// Abort implements blob.Uploads.
func (s *Store) Abort(_ context.Context, id string) error {
	p, err := s.uploadPath(id)
	if err != nil {
		return nil
	}
	defer s.lock(id)()
	return os.RemoveAll(p)
}

// ListUploads implements blob.UploadLister.
func (s *Store) ListUploads(ctx context.Context, fn func(id string, modified time.Time) error) error {
	entries, err := os.ReadDir(filepath.Join(s.root, "uploads"))
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if e.IsDir() { // the earlier layout: the data file's time
			if dfi, err := os.Stat(filepath.Join(s.root, "uploads", e.Name(), "data")); err == nil {
				fi = dfi
			}
		}
		if err := fn(e.Name(), fi.ModTime()); err != nil {
			return err
		}
	}
	return nil
}

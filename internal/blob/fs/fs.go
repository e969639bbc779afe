// Package fs is the filesystem blob store, acre's embedded default.
//
// Layout under the root directory:
//
//	blobs/<algorithm>/<first two hex>/<hex>   committed content, read-only
//	uploads/<id>/data                         bytes received so far
//	uploads/<id>/hash                         resumable sha256 state (a cache)
//
// Commit fsyncs the data, renames it into place and fsyncs the directory, so
// a blob the metadata knows about is always whole on disk.
package fs

import (
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/acre-project/acre/internal/blob"
	"github.com/opencontainers/go-digest"
)

// Store is the filesystem Store and Uploads.
type Store struct {
	root  string
	locks sync.Map // upload id -> *sync.Mutex
}

var (
	_ blob.Store   = (*Store)(nil)
	_ blob.Uploads = (*Store)(nil)
	_ blob.Walker  = (*Store)(nil)
)

// New opens (creating) a filesystem store rooted at dir.
func New(dir string) (*Store, error) {
	for _, d := range []string{"blobs", "uploads"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	return &Store{root: dir}, nil
}

func (s *Store) blobPath(d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", err
	}
	hex := d.Encoded()
	return filepath.Join(s.root, "blobs", d.Algorithm().String(), hex[:2], hex), nil
}

func (s *Store) uploadDir(id string) (string, error) {
	if id == "" || filepath.Base(id) != id || id == "." || id == ".." {
		return "", blob.ErrNotFound
	}
	return filepath.Join(s.root, "uploads", id), nil
}

// Stat implements blob.Store.
func (s *Store) Stat(_ context.Context, d digest.Digest) (int64, error) {
	p, err := s.blobPath(d)
	if err != nil {
		return 0, blob.ErrNotFound
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, blob.ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Open implements blob.Store.
func (s *Store) Open(_ context.Context, d digest.Digest, offset int64) (io.ReadCloser, error) {
	p, err := s.blobPath(d)
	if err != nil {
		return nil, blob.ErrNotFound
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, blob.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// Delete implements blob.Store.
func (s *Store) Delete(_ context.Context, d digest.Digest) error {
	p, err := s.blobPath(d)
	if err != nil {
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Walk implements blob.Walker.
func (s *Store) Walk(ctx context.Context, fn func(d digest.Digest, size int64) error) error {
	base := filepath.Join(s.root, "blobs")
	return filepath.WalkDir(base, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		alg := filepath.Base(filepath.Dir(filepath.Dir(p)))
		d := digest.NewDigestFromEncoded(digest.Algorithm(alg), e.Name())
		if d.Validate() != nil {
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		return fn(d, fi.Size())
	})
}

// lock serializes work on one upload session. The unlock it returns also
// drops the session's lock entry once the session is gone (committed,
// aborted or never there), so the map does not grow with dead sessions.
func (s *Store) lock(id string) func() {
	m, _ := s.locks.LoadOrStore(id, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return func() {
		if _, err := os.Stat(filepath.Join(s.root, "uploads", id)); errors.Is(err, fs.ErrNotExist) {
			s.locks.Delete(id)
		}
		mu.Unlock()
	}
}

// Start implements blob.Uploads.
func (s *Store) Start(_ context.Context, id string) error {
	dir, err := s.uploadDir(id)
	if err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, "data"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// Size implements blob.Uploads.
func (s *Store) Size(_ context.Context, id string) (int64, error) {
	dir, err := s.uploadDir(id)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(filepath.Join(dir, "data"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, blob.ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Append implements blob.Uploads. The sha256 state is saved next to the data
// after each append so that Commit rarely has to read the data again.
func (s *Store) Append(ctx context.Context, id string, offset int64, r io.Reader) (int64, error) {
	dir, err := s.uploadDir(id)
	if err != nil {
		return 0, err
	}
	defer s.lock(id)()
	f, err := os.OpenFile(filepath.Join(dir, "data"), os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, blob.ErrNotFound
	}
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
	h := loadHash(dir, size)
	var w io.Writer = f
	if h != nil {
		w = io.MultiWriter(f, h)
	}
	n, err := io.CopyBuffer(w, r, make([]byte, 256<<10))
	size += n
	if err != nil {
		// Keep what arrived whole; the hash state no longer matches, drop it.
		os.Remove(filepath.Join(dir, "hash"))
		return size, err
	}
	if h != nil {
		saveHash(dir, size, h)
	}
	return size, nil
}

// loadHash returns the saved sha256 state if it covers exactly size bytes,
// a fresh hash for an empty upload, or nil when the data must be re-read.
func loadHash(dir string, size int64) hash.Hash {
	h := sha256.New()
	if size == 0 {
		return h
	}
	b, err := os.ReadFile(filepath.Join(dir, "hash"))
	if err != nil || len(b) < 8 || int64(binary.BigEndian.Uint64(b)) != size {
		return nil
	}
	if h.(encoding.BinaryUnmarshaler).UnmarshalBinary(b[8:]) != nil {
		return nil
	}
	return h
}

func saveHash(dir string, size int64, h hash.Hash) {
	st, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return
	}
	b := binary.BigEndian.AppendUint64(nil, uint64(size))
	_ = os.WriteFile(filepath.Join(dir, "hash"), append(b, st...), 0o600)
}

// Commit implements blob.Uploads.
func (s *Store) Commit(ctx context.Context, id string, want digest.Digest) (int64, error) {
	dir, err := s.uploadDir(id)
	if err != nil {
		return 0, err
	}
	dst, err := s.blobPath(want)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", blob.ErrDigestMismatch, err)
	}
	defer s.lock(id)()
	data := filepath.Join(dir, "data")
	f, err := os.Open(data)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, blob.ErrNotFound
	}
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
	if h := loadHash(dir, size); h != nil && want.Algorithm() == digest.SHA256 {
		got = digest.NewDigest(digest.SHA256, h)
	} else {
		if !want.Algorithm().Available() {
			return 0, blob.ErrDigestMismatch
		}
		got, err = want.Algorithm().FromReader(f)
		if err != nil {
			return 0, err
		}
	}
	if got != want {
		return 0, blob.ErrDigestMismatch
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	if _, err := os.Stat(dst); err == nil {
		// Already stored: identical content by construction.
		return size, os.RemoveAll(dir)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return 0, err
	}
	if err := os.Rename(data, dst); err != nil {
		return 0, err
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return 0, err
	}
	return size, os.RemoveAll(dir)
}

// Abort implements blob.Uploads.
func (s *Store) Abort(_ context.Context, id string) error {
	dir, err := s.uploadDir(id)
	if err != nil {
		return nil
	}
	defer s.lock(id)()
	return os.RemoveAll(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
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
		fi, err := os.Stat(filepath.Join(s.root, "uploads", e.Name(), "data"))
		if err != nil {
			if fi, err = e.Info(); err != nil {
				continue
			}
		}
		if err := fn(e.Name(), fi.ModTime()); err != nil {
			return err
		}
	}
	return nil
}

// OlderThan implements blob.Ager.
func (s *Store) OlderThan(_ context.Context, d digest.Digest, t time.Time) bool {
	p, err := s.blobPath(d)
	if err != nil {
		return false
	}
	fi, err := os.Stat(p)
	return err == nil && fi.ModTime().Before(t)
}

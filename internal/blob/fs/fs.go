// Package fs is the filesystem blob store, acre's embedded default.
//
// Layout under the root directory:
//
//	blobs/<algorithm>/<first two hex>/<hex>   committed content, read-only
//	uploads/<id>                              bytes received so far
//
// Append hashes while it writes and starts the write-back of what it wrote
// as the upload streams (see writebehind_linux.go), keeping the sha256
// state in memory between appends (after a restart Commit reads the data
// again). Commit renames the data into place and syncs it and the
// directory before it returns (see place), so a blob the metadata knows
// about is always whole on disk.
// An upload directory of the earlier layout (uploads/<id>/data) is an
// unknown session that Abort and ListUploads still handle.
package fs

import (
	"context"
	"errors"
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
	root    string
	locks   sync.Map  // upload id -> *sync.Mutex
	hashes  sync.Map  // upload id -> *hashState, under the upload's lock
	digests keyLock   // serializes the commits of one digest
	bufs    sync.Pool // *[copyBuf]byte
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

func (s *Store) uploadPath(id string) (string, error) {
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

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
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

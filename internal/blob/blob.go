// Package blob defines the content-addressed blob store and the upload
// sessions that feed it. Blobs are stored once per server and never held in
// memory whole: every method streams.
package blob

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/opencontainers/go-digest"
)

var (
	// ErrNotFound is returned for an unknown blob or upload session.
	ErrNotFound = errors.New("blob: not found")
	// ErrDigestMismatch is returned by Commit when the content does not hash to the wanted digest.
	ErrDigestMismatch = errors.New("blob: digest mismatch")
	// ErrOffset is returned by Append when the offset is not the session's current size.
	ErrOffset = errors.New("blob: offset does not match upload size")
)

// Store is the content-addressed blob store.
type Store interface {
	// Stat returns the size of a stored blob or ErrNotFound.
	Stat(ctx context.Context, d digest.Digest) (int64, error)
	// Open returns the blob's content from offset on; ErrNotFound when absent.
	Open(ctx context.Context, d digest.Digest, offset int64) (io.ReadCloser, error)
	// Delete removes a blob; deleting an absent blob is not an error.
	Delete(ctx context.Context, d digest.Digest) error
}

// Uploads holds in-progress uploads and commits them into a Store.
type Uploads interface {
	// Start creates an empty upload session with the given id.
	Start(ctx context.Context, id string) error
	// Size returns the bytes received so far, or ErrNotFound.
	Size(ctx context.Context, id string) (int64, error)
	// Append writes r at offset, which must equal the current size (else
	// ErrOffset), and returns the new size. A failed append leaves the
	// session at a size the next Size call reports.
	Append(ctx context.Context, id string, offset int64, r io.Reader) (int64, error)
	// Commit verifies that the session's bytes hash to want and moves them
	// durably into the store under that digest, ending the session. On
	// ErrDigestMismatch the session is left as it was.
	Commit(ctx context.Context, id string, want digest.Digest) (int64, error)
	// Abort discards a session; aborting an unknown one is not an error.
	Abort(ctx context.Context, id string) error
}

// Walker lists every stored blob (garbage collection uses it).
type Walker interface {
	Walk(ctx context.Context, fn func(d digest.Digest, size int64) error) error
}

// UploadLister lists upload sessions with their last modification time
// (garbage collection removes abandoned ones).
type UploadLister interface {
	ListUploads(ctx context.Context, fn func(id string, modified time.Time) error) error
}

// Ager tells whether a stored blob was written before a time (garbage
// collection leaves young unrecorded blobs alone: they may be mid-commit).
type Ager interface {
	OlderThan(ctx context.Context, d digest.Digest, t time.Time) bool
}

// Redirector gives short-lived URLs from which clients read blobs straight
// from the object store (presigned or SAS URLs).
type Redirector interface {
	URL(ctx context.Context, d digest.Digest, ttl time.Duration) (string, error)
}

package registry

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"

	"github.com/acre-project/acre/internal/blob"
	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// Small blobs pushed whole are kept in the metadata store (Options.
// InlineMax): their bytes are written in the transaction that records and
// links them, so they need no upload file, no blob file, no fsync of
// either and no ordering between the blob store's syncs and the
// metadata's. Like every link, that transaction commits relaxed; the
// manifest that references the blob commits durably, after it, so every
// acknowledged image survives a power loss with its bytes. A body is read
// into a pooled buffer of InlineMax+1 bytes to tell whether it is small,
// and streams on to a file when it is not: no upload holds more than that
// buffer in memory. Reads go through NewContentStore.

// inliner reads small bodies into pooled buffers.
type inliner struct {
	max  int
	bufs *sync.Pool // *[]byte of len max+1
}

func newInliner(max int) inliner {
	return inliner{max: max, bufs: &sync.Pool{New: func() any { b := make([]byte, max+1); return &b }}}
}

// read reads body: a body of at most max bytes comes back whole in small
// (rest nil); a longer one as rest, which reads the same bytes and gives
// the buffer back once past them. release gives back the buffer that
// holds small; it is a no-op otherwise. An error reading the body (a
// client gone mid-body among them) is returned as it is.
func (in inliner) read(body io.Reader) (small []byte, rest io.Reader, release func(), err error) {
	bp := in.bufs.Get().(*[]byte)
	buf, n := *bp, 0
	for n < len(buf) && err == nil {
		var k int
		k, err = body.Read(buf[n:])
		n += k
	}
	switch {
	case errors.Is(err, io.EOF):
		return buf[:n], nil, func() { in.bufs.Put(bp) }, nil
	case err != nil:
		in.bufs.Put(bp)
		return nil, nil, func() {}, err
	}
	return nil, &prefixed{head: buf, rest: body, done: func() { in.bufs.Put(bp) }}, func() {}, nil
}

// prefixed reads head, then rest; done runs once head is read.
type prefixed struct {
	head []byte
	rest io.Reader
	done func()
}

func (p *prefixed) Read(b []byte) (int, error) {
	if p.head == nil {
		return p.rest.Read(b)
	}
	n := copy(b, p.head)
	if p.head = p.head[n:]; len(p.head) == 0 {
		p.head = nil
		p.done()
	}
	return n, nil
}

// putInline verifies data against d and links it, inline, into the
// repository.
func (s *Service) putInline(ctx context.Context, r Repo, d digest.Digest, data []byte) (int64, error) {
	if !d.Algorithm().Available() || d.Algorithm().FromBytes(data) != d {
		return 0, digestInvalid(d)
	}
	if data == nil {
		data = []byte{}
	}
	return int64(len(data)), s.linkUploaded(ctx, r, d, int64(len(data)), data, nil)
}

// contentStore is a blob.Store that also serves the blobs kept in the
// metadata store.
type contentStore struct {
	blob.Store
	meta meta.View[meta.BlobContents]
}

// NewContentStore returns a blob.Store that reads each blob from b or,
// when b lacks it, from the metadata store's blob contents (blobs pushed
// inline). Deletes go to b: a blob's contents go with its record.
func NewContentStore(b blob.Store, m meta.View[meta.BlobContents]) blob.Store {
	return contentStore{Store: b, meta: m}
}

func (c contentStore) content(ctx context.Context, d digest.Digest) ([]byte, error) {
	b, err := c.meta.Read().BlobContent(ctx, d)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, blob.ErrNotFound
	}
	return b, err
}

// Stat implements blob.Store.
func (c contentStore) Stat(ctx context.Context, d digest.Digest) (int64, error) {
	n, err := c.Store.Stat(ctx, d)
	if !errors.Is(err, blob.ErrNotFound) {
		return n, err
	}
	n, err = c.meta.Read().BlobContentSize(ctx, d)
	if errors.Is(err, meta.ErrNotFound) {
		return 0, blob.ErrNotFound
	}
	return n, err
}

// Open implements blob.Store.
func (c contentStore) Open(ctx context.Context, d digest.Digest, offset int64) (io.ReadCloser, error) {
	rc, err := c.Store.Open(ctx, d, offset)
	if !errors.Is(err, blob.ErrNotFound) {
		return rc, err
	}
	b, err := c.content(ctx, d)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(b[min(max(offset, 0), int64(len(b))):])), nil
}

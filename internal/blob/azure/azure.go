// Package azure is the Azure Blob Storage blob store.
//
// Layout under the configured prefix in one container:
//
//	<prefix>blobs/<algorithm>/<first two hex>/<hex>   committed content
//	<prefix>uploads/<id>                              upload in progress
//
// An upload is a block blob whose committed block list is the bytes received
// so far; its metadata carries the resumable sha256 state. Every piece of an
// upload's state lives in the storage account, so any node can continue or
// commit an upload another node began. Commit copies the verified upload into
// its content address server-side (Put Block From URL, then Put Block List),
// so the committed blob appears whole or not at all.
package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	acreblob "github.com/acre-project/acre/internal/blob"
	"github.com/opencontainers/go-digest"
)

// Options configure a Store.
type Options struct {
	// ServiceURL is the blob service endpoint, such as
	// https://ACCOUNT.blob.core.windows.net or, for Azurite,
	// http://127.0.0.1:10000/devstoreaccount1. Empty means the public
	// Azure endpoint of AccountName.
	ServiceURL string
	// AccountName and AccountKey form the shared key credential.
	AccountName string
	AccountKey  string
	// Container holds the blobs; New creates it when it is missing.
	Container string
	// Prefix is prepended to every blob name as is; end it with "/" to
	// keep acre's blobs in a folder of a shared container.
	Prefix string
}

const (
	// stageBlockSize bounds the blocks an Append stages, and so the memory
	// one Append holds.
	stageBlockSize = 16 << 20
	// copyBlockSize is the range each Put Block From URL copies on commit.
	copyBlockSize = 100 << 20
	// copyParallel is how many Put Block From URL calls a commit runs at once.
	copyParallel = 4
	// sourceSASTTL is how long the read SAS a commit copies through lives.
	sourceSASTTL = 2 * time.Hour
)

// Store is the Azure Blob Storage Store, Uploads and Walker.
type Store struct {
	c      *container.Client
	prefix string

	// Block sizes; tests shrink them to exercise many blocks.
	stageBlock int
	copyBlock  int64
}

var (
	_ acreblob.Store   = (*Store)(nil)
	_ acreblob.Uploads = (*Store)(nil)
	_ acreblob.Walker  = (*Store)(nil)
)

// New connects to the storage account and creates the container if needed.
func New(ctx context.Context, o Options) (*Store, error) {
	if o.AccountName == "" || o.AccountKey == "" || o.Container == "" {
		return nil, errors.New("azure: account name, account key and container are required")
	}
	cred, err := service.NewSharedKeyCredential(o.AccountName, o.AccountKey)
	if err != nil {
		return nil, fmt.Errorf("azure: %w", err)
	}
	u := o.ServiceURL
	if u == "" {
		u = "https://" + o.AccountName + ".blob.core.windows.net/"
	}
	svc, err := service.NewClientWithSharedKeyCredential(u, cred, nil)
	if err != nil {
		return nil, fmt.Errorf("azure: %w", err)
	}
	c := svc.NewContainerClient(o.Container)
	if _, err := c.Create(ctx, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return nil, fmt.Errorf("azure: create container %q: %w", o.Container, err)
	}
	return &Store{c: c, prefix: o.Prefix, stageBlock: stageBlockSize, copyBlock: copyBlockSize}, nil
}

// blobName returns the name of a committed blob; ok is false for a digest
// that is not valid.
func (s *Store) blobName(d digest.Digest) (string, bool) {
	if d.Validate() != nil {
		return "", false
	}
	hex := d.Encoded()
	return s.prefix + "blobs/" + d.Algorithm().String() + "/" + hex[:2] + "/" + hex, true
}

func (s *Store) blockBlob(name string) *blockblob.Client { return s.c.NewBlockBlobClient(name) }

// isNotFound reports a missing blob (or container).
func isNotFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == 404
}

// Stat implements blob.Store.
func (s *Store) Stat(ctx context.Context, d digest.Digest) (int64, error) {
	name, ok := s.blobName(d)
	if !ok {
		return 0, acreblob.ErrNotFound
	}
	p, err := s.blockBlob(name).GetProperties(ctx, nil)
	if isNotFound(err) {
		return 0, acreblob.ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	return deref(p.ContentLength), nil
}

// Open implements blob.Store with a ranged download that resumes itself
// (at the same ETag) when the connection breaks mid-way.
func (s *Store) Open(ctx context.Context, d digest.Digest, offset int64) (io.ReadCloser, error) {
	name, ok := s.blobName(d)
	if !ok || offset < 0 {
		return nil, acreblob.ErrNotFound
	}
	b := s.blockBlob(name)
	r, err := b.DownloadStream(ctx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: offset}})
	switch {
	case isNotFound(err):
		return nil, acreblob.ErrNotFound
	case bloberror.HasCode(err, bloberror.InvalidRange):
		// Offset at or past the end: Azure refuses the range, a file
		// reads nothing. Tell the two apart from a vanished blob.
		if _, err := s.Stat(ctx, d); err != nil {
			return nil, err
		}
		return io.NopCloser(strings.NewReader("")), nil
	case err != nil:
		return nil, err
	}
	return r.NewRetryReader(ctx, &blob.RetryReaderOptions{MaxRetries: 5}), nil
}

// Delete implements blob.Store.
func (s *Store) Delete(ctx context.Context, d digest.Digest) error {
	name, ok := s.blobName(d)
	if !ok {
		return nil
	}
	return s.deleteBlob(ctx, name)
}

func (s *Store) deleteBlob(ctx context.Context, name string) error {
	_, err := s.blockBlob(name).Delete(ctx, nil)
	if err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// Walk implements blob.Walker: it lists <prefix>blobs/ and reports every
// name that is a well-formed digest in its right place.
func (s *Store) Walk(ctx context.Context, fn func(d digest.Digest, size int64) error) error {
	base := s.prefix + "blobs/"
	pager := s.c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &base})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, it := range page.Segment.BlobItems {
			if err := ctx.Err(); err != nil {
				return err
			}
			if it.Name == nil || it.Properties == nil {
				continue
			}
			parts := strings.Split(strings.TrimPrefix(*it.Name, base), "/")
			if len(parts) != 3 {
				continue
			}
			d := digest.NewDigestFromEncoded(digest.Algorithm(parts[0]), parts[2])
			if d.Validate() != nil || parts[1] != parts[2][:2] {
				continue
			}
			if err := fn(d, deref(it.Properties.ContentLength)); err != nil {
				return err
			}
		}
	}
	return nil
}

// URL returns a read-only SAS URL for a committed blob, valid for ttl. It
// does not check that the blob exists: a missing one answers 404 there.
func (s *Store) URL(_ context.Context, d digest.Digest, ttl time.Duration) (string, error) {
	name, ok := s.blobName(d)
	if !ok {
		return "", acreblob.ErrNotFound
	}
	if ttl <= 0 {
		return "", fmt.Errorf("azure: URL lifetime %v is not positive", ttl)
	}
	return s.readSAS(s.blockBlob(name), ttl)
}

func (s *Store) readSAS(b *blockblob.Client, ttl time.Duration) (string, error) {
	now := time.Now().UTC()
	start := now.Add(-5 * time.Minute) // clock skew between us and the service
	return b.GetSASURL(sas.BlobPermissions{Read: true}, now.Add(ttl),
		&blob.GetSASURLOptions{StartTime: &start})
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

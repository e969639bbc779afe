package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/acre-project/acre/internal/blob"
	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// Links and usage. A registry's usage counts each blob once however many
// of its repositories link it, plus its manifests; it changes in the same
// transaction as the links, so it stays exact across deletes and GC. The
// push path reads it to enforce the SKU's storage quota; package lifecycle
// reports it.

// link makes d readable in repo. A new link is queued for garbage
// collection after the grace period (if by then no manifest of the
// repository references the blob, the link goes).
func (s *Service) link(ctx context.Context, q Store, regID int64, repo *meta.Repository, d digest.Digest, size int64) error {
	if _, err := q.LinkedBlob(ctx, repo.ID, d); err == nil {
		return nil
	} else if !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	others, err := q.ReposLinkingBlob(ctx, regID, d, 1)
	if err != nil {
		return err
	}
	return s.addLink(ctx, q, regID, repo, d, size, len(others) == 0)
}

// addLink links d, which repo does not link yet, into repo; firstInRegistry
// (no repository of the registry links it) adds its size to the usage. A
// blob whose record the same transaction created is linked nowhere, so its
// upload goes straight here.
func (s *Service) addLink(ctx context.Context, q Store, regID int64, repo *meta.Repository, d digest.Digest, size int64, firstInRegistry bool) error {
	now := time.Now().UTC()
	if err := q.LinkBlob(ctx, repo.ID, d, now); err != nil {
		return err
	}
	if firstInRegistry {
		if err := q.AddUsage(ctx, regID, size); err != nil {
			return err
		}
	}
	return q.EnqueueGC(ctx, meta.GCItem{Kind: meta.GCLink, RepositoryID: repo.ID, Digest: d, NotBefore: now.Add(s.gcGrace)})
}

// Unlink removes, inside q's transaction, repository repoID's link to d
// (ErrNotFound when there is none), gives its bytes back to registry
// regID's usage when no other repository of the registry links it, and
// queues the blob for collection after the grace period, so that content
// deleted and pushed again soon after (clients and test suites do) is
// linked again before GC looks at it. Garbage collection calls it for a
// link no manifest references.
func (s *Service) Unlink(ctx context.Context, q Store, regID, repoID int64, d digest.Digest) error {
	size, err := q.LinkedBlob(ctx, repoID, d)
	if err != nil {
		return err
	}
	if err := q.UnlinkBlob(ctx, repoID, d); err != nil {
		return err
	}
	others, err := q.ReposLinkingBlob(ctx, regID, d, 1)
	if err != nil {
		return err
	}
	if len(others) == 0 {
		if err := q.AddUsage(ctx, regID, -size); err != nil {
			return err
		}
	}
	return q.EnqueueGC(ctx, meta.GCItem{Kind: meta.GCBlob, Digest: d, NotBefore: time.Now().UTC().Add(s.gcGrace)})
}

// burialWait bounds how long an upload waits for garbage collection to
// finish deleting the bytes of the blob it carries.
const burialWait = 30 * time.Second

// errBeingBuried is ensureStored's answer for a tombstoned blob: the
// linking transaction ends and linkUploaded waits for the burial.
var errBeingBuried = errors.New("blob is being garbage collected")

// Uploads and garbage collection. GC deletes a blob's record and writes a
// tombstone in one transaction, then deletes the bytes, then the
// tombstone. An upload of the same content meanwhile is stored again, not
// refused: before it puts a file in place it waits for a tombstone to go
// (awaitBurial: a blob kept inline has no file, so a missing file does not
// show that the burial's file delete is past); and when its linking
// transaction finds a tombstone, it waits for it to go and links again,
// provided its bytes are still there (linkUploaded). Inline uploads need
// no wait before: their bytes go in with the link. What GC deleted under an upload
// anyway (a tombstone that outlives the wait, or a pass that started
// afterwards) is refused, and the client uploads again.

// beforePlacing waits for a burial of d that could delete the file an
// upload is about to put in place.
func (s *Service) beforePlacing(ctx context.Context, d digest.Digest) error {
	return s.awaitBurial(ctx, d)
}

// awaitBurial waits, up to burialWait, while a tombstone stands for d; a
// tombstone that outlives the wait (a GC pass that stopped midway leaves
// it for the next pass) refuses the upload.
func (s *Service) awaitBurial(ctx context.Context, d digest.Digest) error {
	deadline := time.Now().Add(burialWait)
	for pause := 10 * time.Millisecond; ; pause = min(2*pause, 250*time.Millisecond) {
		dead, err := s.meta.Read().Tombstoned(ctx, d)
		if err != nil || !dead {
			return err
		}
		if time.Now().After(deadline) {
			return buried(d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

func buried(d digest.Digest) error {
	return errcode.Errorf(errcode.BlobUploadInvalid, "blob %s is being garbage collected: upload it again", d)
}

// linkUploaded runs the transaction that links an upload's blob (then
// also runs, in it, then if not nil), storing content with it when not
// nil (an inline blob) or else checking that Blobs holds the bytes. If the
// blob turns out to be tombstoned, it waits for the burial and tries once
// more.
func (s *Service) linkUploaded(ctx context.Context, r Repo, d digest.Digest, size int64, content []byte, then func(q Store) error) error {
	for try := 0; ; try++ {
		err := s.meta.Tx(linkCtx(ctx), func(q Store) error {
			if err := s.linkNew(ctx, q, r, d, size, content); err != nil {
				return err
			}
			if then != nil {
				return then(q)
			}
			return nil
		})
		if !errors.Is(err, errBeingBuried) {
			return err
		}
		if try > 0 {
			return buried(d)
		}
		if err := s.awaitBurial(ctx, d); err != nil {
			return err
		}
	}
}

// ensureStored checks, inside the linking transaction, that the blob is
// not being deleted (errBeingBuried while a tombstone stands) and that its
// bytes are kept: content, when not nil, is stored in the transaction;
// otherwise the bytes must be in Blobs or already in the metadata store.
// Missing bytes are refused and the client uploads again.
func (s *Service) ensureStored(ctx context.Context, q Store, d digest.Digest, content []byte) error {
	if dead, err := q.Tombstoned(ctx, d); err != nil {
		return err
	} else if dead {
		return errBeingBuried
	}
	if content != nil {
		return q.PutBlobContent(ctx, d, content)
	}
	_, err := s.files.Stat(ctx, d)
	if errors.Is(err, blob.ErrNotFound) {
		if _, err = q.BlobContentSize(ctx, d); errors.Is(err, meta.ErrNotFound) {
			return errcode.Errorf(errcode.BlobUploadInvalid, "blob %s was collected while it was being uploaded: upload it again", d)
		}
	}
	return err
}

// checkQuota refuses pushes into a registry at or past its storage limit.
func (s *Service) checkQuota(ctx context.Context, q Store, reg *meta.Registry) error {
	limit := s.limits(reg).StorageLimit
	if limit <= 0 {
		return nil
	}
	used, err := q.Usage(ctx, reg.ID)
	if err != nil {
		return err
	}
	if used >= limit {
		return errcode.Errorf(errcode.Denied, "registry %s is over its storage quota: %s used of %s allowed (%s SKU); delete images or move to a larger SKU",
			reg.Name, bytesText(used), bytesText(limit), reg.SKU)
	}
	return nil
}

func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

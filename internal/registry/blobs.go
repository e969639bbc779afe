package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/blob"
	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/reference"
	"github.com/google/uuid"
	"github.com/opencontainers/go-digest"
)

func blobUnknown(d digest.Digest) *errcode.Error {
	return errcode.Errorf(errcode.BlobUnknown, "blob %s is not known to this repository", d).WithDetail(map[string]string{"digest": d.String()})
}

// ParseDigest parses a client-supplied digest into a spec error.
func ParseDigest(s string) (digest.Digest, error) {
	d, err := reference.ParseDigest(s)
	if err != nil {
		return "", errcode.Errorf(errcode.DigestInvalid, "invalid or unsupported digest %q", s).WithDetail(map[string]string{"digest": s})
	}
	return d, nil
}

// StatBlob returns the size of a blob linked in the repository. A blob
// that only read-locked manifests of the repository reference is locked
// with them: pulling their layers by digest would be a side door.
func (s *Service) StatBlob(ctx context.Context, r Repo, d digest.Digest) (int64, error) {
	q := s.meta.Read()
	repo, err := s.repository(ctx, q, r, blobUnknown(d))
	if err != nil {
		return 0, err
	}
	if err := checkRead(repo, nil, nil); err != nil {
		return 0, err
	}
	size, readable, err := q.ReadableBlob(ctx, repo.ID, d)
	if errors.Is(err, meta.ErrNotFound) {
		return 0, blobUnknown(d)
	}
	if err == nil && !readable {
		return 0, locked(fmt.Sprintf("blob %s@%s (referenced only by read-locked manifests)", repo.Name, d), "readEnabled")
	}
	return size, err
}

// OpenBlob opens a blob linked in the repository from offset on and returns
// it with the blob's whole size.
func (s *Service) OpenBlob(ctx context.Context, r Repo, d digest.Digest, offset int64) (io.ReadCloser, int64, error) {
	size, err := s.StatBlob(ctx, r, d)
	if err != nil {
		return nil, 0, err
	}
	if offset > size {
		offset = size
	}
	rc, err := s.blobs.Open(ctx, d, offset)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, 0, blobUnknown(d)
	}
	return rc, size, err
}

// DeleteBlob unlinks a blob from the repository; the bytes stay while other
// repositories link them (garbage collection frees the rest).
func (s *Service) DeleteBlob(ctx context.Context, r Repo, d digest.Digest) error {
	return s.meta.Tx(ctx, func(q Store) error {
		repo, err := s.repository(ctx, q, r, blobUnknown(d))
		if err != nil {
			return err
		}
		if err := CheckDelete(repo, "repository "+repo.Name, repo.Attributes); err != nil {
			return err
		}
		if err := s.Unlink(ctx, q, r.Registry.ID, repo.ID, d); errors.Is(err, meta.ErrNotFound) {
			return blobUnknown(d)
		} else if err != nil {
			return err
		}
		return nil
	})
}

// MountBlob links a blob into r without copying it. With from set, the blob
// must be linked in that repository of the same registry; without it, in any
// repository of the registry. Only source repositories for which canRead
// holds and whose locks allow reading the blob are considered (nil: all
// the locks allow). It reports false (and no error) when the blob cannot be
// mounted, so the caller can fall back to an upload.
func (s *Service) MountBlob(ctx context.Context, r Repo, from string, d digest.Digest, canRead func(repo string) bool) (bool, error) {
	if err := validName(r.Name); err != nil {
		return false, err
	}
	if canRead == nil {
		canRead = func(string) bool { return true }
	}
	mounted := false
	err := s.meta.Tx(linkCtx(ctx), func(q Store) error {
		sources := []string{from}
		if from == "" {
			var err error
			if sources, err = q.ReposLinkingBlob(ctx, r.Registry.ID, d, 100); err != nil {
				return err
			}
		}
		var size int64 = -1
		for _, src := range sources {
			if reference.ValidateName(src) != nil || !canRead(src) {
				continue
			}
			repo, err := q.GetRepository(ctx, r.Registry.ID, src)
			if errors.Is(err, meta.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if checkRead(repo, nil, nil) != nil {
				continue
			}
			n, readable, err := q.ReadableBlob(ctx, repo.ID, d)
			if errors.Is(err, meta.ErrNotFound) || (err == nil && !readable) {
				continue
			} else if err != nil {
				return err
			}
			size = n
			break
		}
		if size < 0 {
			return nil
		}
		repo, err := q.EnsureRepository(ctx, r.Registry.ID, r.Name)
		if err != nil {
			return err
		}
		if err := checkRepoWrite(repo); err != nil {
			return err
		}
		if err := s.checkQuota(ctx, q, r.Registry); err != nil {
			return err
		}
		mounted = true
		return s.link(ctx, q, r.Registry.ID, repo, d, size)
	})
	return mounted, err
}

// linkCtx is the context of a transaction that links a pushed blob into a
// repository (an upload's commit, a mount): its commit is relaxed
// (meta.Relaxed). The blob's bytes are durable before it runs. The link
// survives a crash of the process once answered, and a power loss once a
// later durable commit is made: at the latest the commit of a manifest
// that references the blob, whose transaction reads the link first. An
// image is acknowledged only by that durable commit, so every acknowledged
// image survives a power loss; a blob pushed just before one, which no
// manifest references yet, may have to be pushed again. Durability is paid
// once per image, not once per blob.
func linkCtx(ctx context.Context) context.Context { return meta.Relaxed(ctx) }

func uploadUnknown(id string) *errcode.Error {
	return errcode.Errorf(errcode.BlobUploadUnknown, "upload %q is not known to this repository", id)
}

// StartUpload opens an upload session in the repository. The session
// holds nothing until bytes arrive (see sessions.go): this checks that the
// repository takes pushes and returns the session's id.
func (s *Service) StartUpload(ctx context.Context, r Repo) (string, error) {
	if err := validName(r.Name); err != nil {
		return "", err
	}
	if err := s.checkWritable(ctx, r); err != nil {
		return "", err
	}
	return s.sessions.issue(r, time.Now()), nil
}

// openStored opens a stored upload session (a record and a file) in the
// repository for owner (a principal's key, "" for a caller without
// identity), for the bytes of a fresh session's first chunk. Stored
// sessions are capped per registry and per owner: past a cap the answer
// is TOOMANYREQUESTS until sessions end (committed, cancelled, or removed
// once idle for the upload TTL).
func (s *Service) openStored(ctx context.Context, r Repo, owner string) (string, error) {
	id := uuid.NewString()
	if err := s.uploads.Start(ctx, id); err != nil {
		return "", err
	}
	// The session's record is a relaxed commit: losing it to a power loss
	// loses only the session (the client starts over; garbage collection
	// removes its file), and the commit that links the blob is durable.
	err := s.meta.Tx(meta.Relaxed(ctx), func(q Store) error {
		inRegistry, byOwner, err := q.OpenUploads(ctx, r.Registry.ID, owner)
		if err != nil {
			return err
		}
		if inRegistry >= s.maxUploads.registry {
			return tooManyUploads("registry "+r.Registry.Name, s.maxUploads.registry)
		}
		if owner != "" && byOwner >= s.maxUploads.identity {
			return tooManyUploads("this identity", s.maxUploads.identity)
		}
		return q.CreateUpload(ctx, &meta.Upload{ID: id, RegistryID: r.Registry.ID, Repository: r.Name, Principal: owner,
			CreatedAt: time.Now().UTC()})
	})
	if err != nil {
		_ = s.uploads.Abort(ctx, id)
		return "", err
	}
	return id, nil
}

func tooManyUploads(who string, limit int) *errcode.Error {
	e := errcode.Errorf(errcode.TooManyRequests, "%s has %d upload sessions open, the most allowed: finish or cancel some "+
		"(PUT or DELETE their location) or wait until idle ones expire", who, limit)
	e.RetryAfter = time.Minute
	return e
}

// upload checks that the stored session exists and belongs to r (whose
// name its callers have checked, with the fresh-session check before it).
func (s *Service) upload(ctx context.Context, r Repo, id string) error {
	u, err := s.meta.Read().GetUpload(ctx, id)
	if errors.Is(err, meta.ErrNotFound) {
		return uploadUnknown(id)
	}
	if err != nil {
		return err
	}
	if u.RegistryID != r.Registry.ID || u.Repository != r.Name {
		return uploadUnknown(id)
	}
	return nil
}

// UploadSize returns the bytes an upload session holds.
func (s *Service) UploadSize(ctx context.Context, r Repo, id string) (int64, error) {
	if err := validName(r.Name); err != nil {
		return 0, err
	}
	if fresh, err := s.sessions.check(r, id, time.Now()); fresh {
		return 0, err
	}
	if err := s.upload(ctx, r, id); err != nil {
		return 0, err
	}
	size, err := s.uploads.Size(ctx, id)
	if errors.Is(err, blob.ErrNotFound) {
		return 0, uploadUnknown(id)
	}
	return size, err
}

// AppendUpload appends a chunk for owner (see openStored). offset is where
// the client says the chunk starts (from Content-Range), or -1 to append
// at the end. It returns the session's id from now on (a fresh session's
// first chunk opens a stored one) and the bytes it holds.
func (s *Service) AppendUpload(ctx context.Context, r Repo, id, owner string, offset int64, body io.Reader) (string, int64, error) {
	size, err := s.UploadSize(ctx, r, id)
	if err != nil {
		return id, 0, err
	}
	if offset < 0 {
		offset = size
	}
	if offset != size {
		return id, size, rangeInvalid(offset, size)
	}
	if len(id) == freshLen {
		if err := s.checkWritable(ctx, r); err != nil {
			return id, 0, err
		}
		if id, err = s.openStored(ctx, r, owner); err != nil {
			return "", 0, err
		}
		n, err := s.appendStored(ctx, id, 0, body)
		if err != nil {
			_ = s.CancelUpload(context.WithoutCancel(ctx), r, id) // the client never learns this id
			return "", 0, err
		}
		return id, n, nil
	}
	n, err := s.appendStored(ctx, id, offset, body)
	return id, n, err
}

// appendStored appends to a stored session.
func (s *Service) appendStored(ctx context.Context, id string, offset int64, body io.Reader) (int64, error) {
	n, err := s.uploads.Append(ctx, id, offset, body)
	switch {
	case errors.Is(err, blob.ErrOffset):
		return n, rangeInvalid(offset, n)
	case errors.Is(err, blob.ErrNotFound):
		return 0, uploadUnknown(id)
	}
	return n, err
}

func rangeInvalid(offset, size int64) *errcode.Error {
	return errcode.Errorf(errcode.UploadRangeInvalid, "chunk starts at %d but the upload holds %d bytes", offset, size)
}

// CommitUpload appends an optional last chunk (body may be nil), verifies
// the digest and makes the blob readable in the repository.
func (s *Service) CommitUpload(ctx context.Context, r Repo, id string, d digest.Digest, offset int64, body io.Reader) (int64, error) {
	if err := validName(r.Name); err != nil {
		return 0, err
	}
	if fresh, err := s.sessions.check(r, id, time.Now()); fresh {
		if err != nil {
			return 0, err
		}
		if offset > 0 {
			return 0, rangeInvalid(offset, 0)
		}
		if body == nil {
			body = strings.NewReader("")
		}
		// The linking transaction checks the repository's lock; the quota
		// is checked here again, as a fresh id may be used more than once.
		if err := s.checkWritable(ctx, r); err != nil {
			return 0, err
		}
		return s.putBlob(ctx, r, d, body)
	}
	if body != nil {
		if _, _, err := s.AppendUpload(ctx, r, id, "", offset, body); err != nil {
			return 0, err
		}
	} else if err := s.upload(ctx, r, id); err != nil {
		return 0, err
	}
	if err := s.beforePlacing(ctx, d); err != nil {
		return 0, err
	}
	size, err := s.uploads.Commit(ctx, id, d)
	switch {
	case errors.Is(err, blob.ErrDigestMismatch):
		return 0, digestInvalid(d)
	case errors.Is(err, blob.ErrNotFound):
		return 0, uploadUnknown(id)
	case err != nil:
		return 0, err
	}
	return size, s.linkUploaded(ctx, r, d, size, nil, func(q Store) error {
		if err := q.DeleteUpload(ctx, id); err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		return nil
	})
}

func digestInvalid(d digest.Digest) *errcode.Error {
	return errcode.Errorf(errcode.DigestInvalid, "uploaded content does not match digest %s", d).WithDetail(map[string]string{"digest": d.String()})
}

func (s *Service) linkNew(ctx context.Context, q Store, r Repo, d digest.Digest, size int64, content []byte) error {
	now := time.Now().UTC()
	repo, err := q.EnsureRepository(ctx, r.Registry.ID, r.Name)
	if err != nil {
		return err
	}
	if err := checkRepoWrite(repo); err != nil {
		return err
	}
	created, err := q.PutBlob(ctx, d, size, now)
	if err != nil {
		return err
	}
	if err := s.ensureStored(ctx, q, d, content); err != nil {
		return err
	}
	if created {
		return s.addLink(ctx, q, r.Registry.ID, repo, d, size, true)
	}
	return s.link(ctx, q, r.Registry.ID, repo, d, size)
}

// checkWritable refuses uploads into a write-locked repository or a
// registry over its quota, early. That the repository took pushes is
// remembered for a moment (see early.go); the quota is read every time.
func (s *Service) checkWritable(ctx context.Context, r Repo) error {
	q := s.meta.Read()
	if k, now := (earlyKey{r.Registry.ID, r.Name}), time.Now(); !s.early.passed(k, now) {
		repo, err := s.repository(ctx, q, r, nil)
		if err != nil {
			return err
		}
		if err := checkRepoWrite(repo); err != nil {
			return err
		}
		s.early.remember(k, now)
	}
	return s.checkQuota(ctx, q, r.Registry)
}

// PutBlob stores a whole blob in one request (a monolithic upload).
func (s *Service) PutBlob(ctx context.Context, r Repo, d digest.Digest, body io.Reader) (int64, error) {
	if err := validName(r.Name); err != nil {
		return 0, err
	}
	if err := s.checkWritable(ctx, r); err != nil {
		return 0, err
	}
	return s.putBlob(ctx, r, d, body)
}

// putBlob stores body as blob d and links it into the repository, with
// no session record: a small body is kept inline (see inline.go), a larger
// one goes through a short-lived upload file.
func (s *Service) putBlob(ctx context.Context, r Repo, d digest.Digest, body io.Reader) (int64, error) {
	if s.inline.max > 0 {
		small, rest, release, err := s.inline.read(body)
		if err != nil {
			return 0, err
		}
		defer release()
		if rest == nil {
			return s.putInline(ctx, r, d, small)
		}
		body = rest
	}
	id := uuid.NewString()
	if err := s.uploads.Start(ctx, id); err != nil {
		return 0, err
	}
	defer s.uploads.Abort(context.WithoutCancel(ctx), id) // no-op after a commit
	if _, err := s.uploads.Append(ctx, id, 0, body); err != nil {
		return 0, err
	}
	if err := s.beforePlacing(ctx, d); err != nil {
		return 0, err
	}
	size, err := s.uploads.Commit(ctx, id, d)
	if errors.Is(err, blob.ErrDigestMismatch) {
		return 0, digestInvalid(d)
	}
	if err != nil {
		return 0, err
	}
	return size, s.linkUploaded(ctx, r, d, size, nil, nil)
}

// CancelUpload ends an upload session and discards its bytes (a fresh
// session has none: its id is only checked).
func (s *Service) CancelUpload(ctx context.Context, r Repo, id string) error {
	if err := validName(r.Name); err != nil {
		return err
	}
	if fresh, err := s.sessions.check(r, id, time.Now()); fresh {
		return err
	}
	if err := s.upload(ctx, r, id); err != nil {
		return err
	}
	if err := s.meta.Tx(meta.Relaxed(ctx), func(q Store) error { return q.DeleteUpload(ctx, id) }); err != nil && !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	return s.uploads.Abort(ctx, id)
}

// BlobURL returns a short-lived URL from which the client can read a blob
// linked in the repository straight from the object store, when the store
// offers one and redirects are on ("" otherwise).
func (s *Service) BlobURL(ctx context.Context, r Repo, d digest.Digest) string {
	rd, ok := s.files.(blob.Redirector) // stores with URLs keep no blob inline
	if !s.redirect || !ok {
		return ""
	}
	if _, err := s.StatBlob(ctx, r, d); err != nil {
		return ""
	}
	u, err := rd.URL(ctx, d, 15*time.Minute)
	if err != nil {
		s.log.WarnContext(ctx, "blob redirect", "err", err)
		return ""
	}
	return u
}

package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/acre-project/acre/internal/blob"
	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/opencontainers/go-digest"
)

// Start implements blob.Uploads.
func (s *Store) Start(ctx context.Context, id string) error {
	if !validID(id) {
		return blob.ErrNotFound
	}
	_, err := s.putState(ctx, id, &state{NextPart: 1}, "")
	if errors.Is(err, errRace) {
		return fmt.Errorf("s3: upload %s already exists", id)
	}
	return err
}

// Size implements blob.Uploads.
func (s *Store) Size(ctx context.Context, id string) (int64, error) {
	u, err := s.session(ctx, id)
	if err != nil {
		return 0, err
	}
	return u.st.Size, nil
}

// Append implements blob.Uploads. It holds at most one part in memory: the
// tail and the new bytes fill a part-sized buffer, each full buffer becomes
// a part, and what is left becomes the new tail. Each part is recorded in
// the state as soon as the next one is known to follow (or the append
// ends), so a broken append keeps the parts it sent and the bytes of the
// last, partial part.
func (s *Store) Append(ctx context.Context, id string, offset int64, r io.Reader) (int64, error) {
	if !validID(id) {
		return 0, blob.ErrNotFound
	}
	defer s.locks.lock(id)()
	u, err := s.session(ctx, id)
	if err != nil {
		return 0, err
	}
	if offset != u.st.Size {
		return u.st.Size, blob.ErrOffset
	}
	if u.st.Done {
		if err := u.reopen(ctx); err != nil {
			return u.st.Size, err
		}
	}
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	buf := *bp
	h := u.st.hash() // nil: Commit will read the data again
	fill := int(u.st.TailSize)
	tailRead := fill == 0 // buf[:TailSize] is read only when needed
	var (
		pending     *part // uploaded, not yet recorded in the state
		pendingHash []byte
		got         int64
		rerr        error
	)
	// record puts the pending part into the state in place of the tail.
	record := func(st *state) {
		if pending != nil {
			st.Parts = append(st.Parts, *pending)
			st.Size += pending.Size - st.TailSize
			st.Tail, st.TailSize, st.SHA256 = "", 0, pendingHash
		}
	}
	oldTail := u.st.Tail
	for {
		var n int
		n, rerr = io.ReadFull(r, buf[fill:])
		if h != nil {
			h.Write(buf[fill : fill+n])
		}
		fill += n
		got += int64(n)
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			rerr = nil
		}
		if rerr != nil || fill < len(buf) {
			break
		}
		if !tailRead {
			if err := u.readTail(ctx, buf[:u.st.TailSize]); err != nil {
				return u.st.Size, err
			}
			tailRead = true
		}
		num, err := u.takePart(ctx, record)
		if err != nil {
			return u.st.Size, err
		}
		pending = nil
		p, err := u.uploadPart(ctx, num, buf)
		if err != nil {
			return u.st.Size, err
		}
		pending, pendingHash, fill = &p, marshalHash(h), 0
	}
	if got == 0 {
		return u.st.Size, rerr
	}
	// Keep what arrived even when the reader failed (the client went away).
	wctx := ctx
	if rerr != nil {
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		wctx = c
	}
	var tail string
	if fill > 0 {
		if !tailRead {
			if err := u.readTail(wctx, buf[:u.st.TailSize]); err != nil {
				return u.st.Size, err
			}
		}
		if tail, err = u.putTail(wctx, buf[:fill]); err != nil {
			return u.st.Size, err
		}
	}
	err = u.update(wctx, func(st *state) {
		record(st)
		if fill > 0 {
			st.Size += int64(fill) - st.TailSize
			st.Tail, st.TailSize = tail, int64(fill)
		}
		st.SHA256 = marshalHash(h)
	})
	if err != nil {
		if tail != "" {
			s.deleteObject(context.WithoutCancel(ctx), s.uploadKey(id, tail))
		}
		return u.st.Size, err
	}
	if oldTail != "" && oldTail != u.st.Tail {
		s.deleteObject(wctx, s.uploadKey(id, oldTail))
	}
	return u.st.Size, rerr
}

// Commit implements blob.Uploads. A sha256 digest is checked against the
// hash state saved by Append; other digests (or a lost hash state) read the
// data again, which needs the multipart upload completed first: on a
// mismatch its parts are copied into a new multipart upload.
func (s *Store) Commit(ctx context.Context, id string, want digest.Digest) (int64, error) {
	if !validID(id) {
		return 0, blob.ErrNotFound
	}
	dst, ok := s.blobKey(want)
	if !ok {
		return 0, fmt.Errorf("%w: %v", blob.ErrDigestMismatch, want.Validate())
	}
	defer s.locks.lock(id)()
	u, err := s.session(ctx, id)
	if err != nil {
		return 0, err
	}
	size := u.st.Size
	verified := false
	if h := u.st.hash(); h != nil && want.Algorithm() == digest.SHA256 {
		if digest.NewDigest(digest.SHA256, h) != want {
			return 0, blob.ErrDigestMismatch
		}
		verified = true
	}
	_, err = s.objectSize(ctx, dst)
	exists := err == nil
	if err != nil && !errors.Is(err, blob.ErrNotFound) {
		return 0, err
	}
	if !verified || !exists {
		src, err := u.finish(ctx)
		if err != nil {
			return 0, err
		}
		if !verified {
			got, err := s.hashObject(ctx, src, want.Algorithm())
			if err != nil {
				return 0, err
			}
			if got != want {
				if err := u.reopen(ctx); err != nil {
					return 0, err
				}
				return 0, blob.ErrDigestMismatch
			}
		}
		if !exists {
			if err := s.place(ctx, src, dst, size); err != nil {
				return 0, err
			}
		}
	}
	if err := s.deleteObject(ctx, s.uploadKey(id, "state")); err != nil {
		return 0, err
	}
	// The session is over; what is left is garbage, swept even if the
	// client has gone.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	s.sweep(sctx, id)
	return size, nil
}

// finish gathers the session's bytes into one object and returns its key
// ("" for no bytes): the tail when there is no multipart upload, else the
// completed multipart upload with the tail as its last part.
func (u *session) finish(ctx context.Context) (string, error) {
	data := u.s.uploadKey(u.id, "data")
	switch {
	case u.st.Size == 0:
		return "", nil
	case u.st.UploadID == "":
		return u.s.uploadKey(u.id, u.st.Tail), nil
	case u.st.Done:
		return data, nil
	}
	parts := u.st.Parts
	if u.st.TailSize > 0 {
		num, err := u.takePart(ctx, nil)
		if errors.Is(err, blob.ErrOffset) {
			return "", fmt.Errorf("s3: upload %s: appended to during commit", u.id)
		}
		if err != nil {
			return "", err
		}
		bp := u.s.bufs.Get().(*[]byte)
		defer u.s.bufs.Put(bp)
		b := (*bp)[:u.st.TailSize]
		if err := u.readTail(ctx, b); err != nil {
			return "", err
		}
		p, err := u.uploadPart(ctx, num, b)
		if err != nil {
			return "", err
		}
		parts = append(parts[:len(parts):len(parts)], p)
	}
	if err := u.s.complete(ctx, data, u.st.UploadID, parts); err != nil {
		return "", err
	}
	if n, err := u.s.objectSize(ctx, data); err != nil || n != u.st.Size {
		return "", fmt.Errorf("s3: upload %s: completed %d bytes of %d: %v", u.id, n, u.st.Size, err)
	}
	return data, u.update(ctx, func(st *state) { st.Done = true })
}

// reopen undoes finish: the completed data, part by part, goes into a new
// multipart upload (a server-side copy), and the tail stays as it was.
func (u *session) reopen(ctx context.Context) error {
	if !u.st.Done {
		return nil
	}
	data := u.s.uploadKey(u.id, "data")
	out, err := u.s.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: &u.s.bucket, Key: &data})
	if err != nil {
		return err
	}
	uploadID := aws.ToString(out.UploadId)
	sizes := make([]int64, len(u.st.Parts))
	for i, p := range u.st.Parts {
		sizes[i] = p.Size
	}
	parts, err := u.s.copyParts(ctx, data, uploadID, data, sizes)
	if err == nil {
		err = u.update(ctx, func(st *state) {
			st.UploadID, st.Parts, st.NextPart, st.Done = uploadID, parts, int32(len(parts)+1), false
		})
	}
	if err != nil {
		u.s.abortMPU(context.WithoutCancel(ctx), data, uploadID)
	}
	return err
}

func (s *Store) hashObject(ctx context.Context, key string, alg digest.Algorithm) (digest.Digest, error) {
	if key == "" {
		return alg.FromBytes(nil), nil
	}
	out, err := s.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	return alg.FromReader(out.Body)
}

// place stores the object src (or no bytes) under the blob key dst.
func (s *Store) place(ctx context.Context, src, dst string, size int64) error {
	if src != "" {
		return s.copyObject(ctx, src, dst, size)
	}
	_, err := s.client.PutObject(ctx, &awss3.PutObjectInput{
		Bucket: &s.bucket, Key: &dst, Body: bytes.NewReader(nil), ContentLength: aws.Int64(0),
	})
	return err
}

// Abort implements blob.Uploads.
func (s *Store) Abort(ctx context.Context, id string) error {
	if !validID(id) {
		return nil
	}
	defer s.locks.lock(id)()
	if err := s.deleteObject(ctx, s.uploadKey(id, "state")); err != nil {
		return err
	}
	return s.sweep(ctx, id)
}

// sweep aborts the multipart uploads and deletes the objects under
// uploads/<id>/, once the state object is gone.
func (s *Store) sweep(ctx context.Context, id string) error {
	dir := s.uploadKey(id, "")
	var errs []error
	mp := awss3.NewListMultipartUploadsPaginator(s.client, &awss3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: &dir})
	for mp.HasMorePages() {
		page, err := mp.NextPage(ctx)
		if err != nil {
			errs = append(errs, err)
			break
		}
		for _, m := range page.Uploads {
			errs = append(errs, s.abortMPU(ctx, aws.ToString(m.Key), aws.ToString(m.UploadId)))
		}
	}
	op := awss3.NewListObjectsV2Paginator(s.client, &awss3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &dir})
	for op.HasMorePages() {
		page, err := op.NextPage(ctx)
		if err != nil {
			errs = append(errs, err)
			break
		}
		for _, o := range page.Contents {
			errs = append(errs, s.deleteObject(ctx, aws.ToString(o.Key)))
		}
	}
	return errors.Join(errs...)
}

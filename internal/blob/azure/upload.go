package azure

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	acreblob "github.com/acre-project/acre/internal/blob"
	"github.com/opencontainers/go-digest"
)

// Upload blob metadata. Put Block List writes it together with the block
// list, so the hash state always describes exactly the committed bytes.
const (
	// metaHash is the resumable sha256 state: the byte count it covers
	// (8 bytes, big endian) then crypto/sha256's MarshalBinary, in base64.
	metaHash = "acresha256"
	// metaTag is a random tag of the write that made this version, so a
	// retried request can tell that its first try went through.
	metaTag = "acretag"
)

// commitTimeout bounds the Put Block List that saves an append's progress;
// it runs even when the caller's context has ended, so the blocks that
// arrived are kept.
const commitTimeout = time.Minute

func (s *Store) uploadName(id string) (string, bool) {
	if id == "" || len(id) > 200 || id[0] == '.' || id[len(id)-1] == '.' {
		return "", false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", false
		}
	}
	return s.prefix + "uploads/" + id, true
}

func ifMatch(etag azcore.ETag) *blob.AccessConditions {
	return &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &etag}}
}

func ifNoneMatchAny() *blob.AccessConditions {
	star := azcore.ETagAny
	return &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: &star}}
}

// isExists reports a create-only write that found the blob already there.
func isExists(err error) bool {
	return bloberror.HasCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet)
}

func empty() io.ReadSeekCloser { return streaming.NopCloser(bytes.NewReader(nil)) }

func newTag() string { return fmt.Sprintf("%016x", rand.Uint64()) }

// stageID names the seq'th block of an upload. The tag is unique to one
// Append call, so concurrent appends at the same offset never overwrite
// each other's staged blocks; only one of them can commit its list.
func stageID(seq int, tag string) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%012d-%s", seq, tag))
}

// copyID names a committed blob's block by the range it holds. Identical
// content gives identical blocks, so concurrent commits of the same digest
// may share staged blocks safely.
func copyID(off, n int64) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%016x-%016x", off, n))
}

func metaValue(md map[string]*string, key string) string {
	for k, v := range md {
		if strings.EqualFold(k, key) && v != nil {
			return *v
		}
	}
	return ""
}

// loadHash returns the saved sha256 state if it covers exactly size bytes,
// a fresh hash for an empty upload, or nil when the data must be re-read.
func loadHash(md map[string]*string, size int64) hash.Hash {
	h := sha256.New()
	if size == 0 {
		return h
	}
	b, err := base64.StdEncoding.DecodeString(metaValue(md, metaHash))
	if err != nil || len(b) < 8 || int64(binary.BigEndian.Uint64(b)) != size {
		return nil
	}
	if h.(encoding.BinaryUnmarshaler).UnmarshalBinary(b[8:]) != nil {
		return nil
	}
	return h
}

func saveHash(h hash.Hash, size int64) (string, bool) {
	st, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return "", false
	}
	return base64.StdEncoding.EncodeToString(append(binary.BigEndian.AppendUint64(nil, uint64(size)), st...)), true
}

// Start implements blob.Uploads: it creates the empty upload blob.
func (s *Store) Start(ctx context.Context, id string) error {
	name, ok := s.uploadName(id)
	if !ok {
		return acreblob.ErrNotFound
	}
	tag := newTag()
	b := s.blockBlob(name)
	_, err := b.Upload(ctx, empty(), &blockblob.UploadOptions{
		Metadata:         map[string]*string{metaTag: &tag},
		AccessConditions: ifNoneMatchAny(),
	})
	if isExists(err) {
		if p, perr := b.GetProperties(ctx, nil); perr == nil && metaValue(p.Metadata, metaTag) == tag {
			return nil // a retry of our own create
		}
		return fmt.Errorf("azure: upload %q already exists", id)
	}
	return err
}

// Size implements blob.Uploads.
func (s *Store) Size(ctx context.Context, id string) (int64, error) {
	name, ok := s.uploadName(id)
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

// Append implements blob.Uploads. It stages r as blocks of at most
// stageBlock bytes, then commits the grown block list with the new hash
// state, conditional on the ETag it started from: of concurrent appends at
// one offset exactly one commits, the others get ErrOffset. When r fails
// part way, the blocks staged so far are committed all the same.
func (s *Store) Append(ctx context.Context, id string, offset int64, r io.Reader) (int64, error) {
	name, ok := s.uploadName(id)
	if !ok {
		return 0, acreblob.ErrNotFound
	}
	b := s.blockBlob(name)
	p, err := b.GetProperties(ctx, nil)
	if isNotFound(err) {
		return 0, acreblob.ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	size, etag := deref(p.ContentLength), deref(p.ETag)
	if offset != size {
		return size, acreblob.ErrOffset
	}
	list, err := b.GetBlockList(ctx, blockblob.BlockListTypeCommitted, nil)
	if isNotFound(err) {
		return 0, acreblob.ErrNotFound
	}
	if err != nil {
		return size, err
	}
	if deref(list.ETag) != etag {
		return s.sizeAfterConflict(ctx, b, size), acreblob.ErrOffset
	}
	ids := make([]string, 0, len(list.CommittedBlocks)+1)
	for _, blk := range list.CommittedBlocks {
		ids = append(ids, deref(blk.Name))
	}

	h := loadHash(p.Metadata, size)
	tag := newTag()
	var added int64
	var buf []byte
	var rerr error
	for rerr == nil {
		buf, rerr = fill(r, buf[:0], s.stageBlock)
		if len(buf) == 0 {
			continue
		}
		bid := stageID(len(ids), tag)
		if _, err := b.StageBlock(ctx, bid, streaming.NopCloser(bytes.NewReader(buf)), nil); err != nil {
			rerr = err
			break
		}
		ids = append(ids, bid)
		added += int64(len(buf))
		if h != nil {
			h.Write(buf)
		}
	}
	if rerr == io.EOF {
		rerr = nil
	}
	if added == 0 {
		return size, rerr
	}

	md := map[string]*string{metaTag: &tag}
	if h != nil {
		if st, ok := saveHash(h, size+added); ok {
			md[metaHash] = &st
		}
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	_, err = b.CommitBlockList(cctx, ids, &blockblob.CommitBlockListOptions{Metadata: md, AccessConditions: ifMatch(etag)})
	if err != nil {
		cur, perr := b.GetProperties(cctx, nil)
		switch {
		case perr == nil && metaValue(cur.Metadata, metaTag) == tag:
			// Committed after all: the response to a try was lost.
		case isNotFound(perr):
			return 0, acreblob.ErrNotFound
		case perr == nil && deref(cur.ETag) != etag:
			return deref(cur.ContentLength), acreblob.ErrOffset
		default:
			return size, err
		}
	}
	return size + added, rerr
}

// sizeAfterConflict returns the session's size once another writer got in.
func (s *Store) sizeAfterConflict(ctx context.Context, b *blockblob.Client, fallback int64) int64 {
	if p, err := b.GetProperties(ctx, nil); err == nil {
		return deref(p.ContentLength)
	}
	return fallback
}

// fill reads from r into buf until it holds limit bytes (nil error) or r
// ends (io.EOF) or fails; buf grows as data arrives, so small chunks stay
// small.
func fill(r io.Reader, buf []byte, limit int) ([]byte, error) {
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			grow := min(max(cap(buf), 64<<10), limit-len(buf))
			buf = slices.Grow(buf, grow)
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), limit)])
		buf = buf[:len(buf)+n]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// Commit implements blob.Uploads. The digest comes from the saved sha256
// state when it covers the whole upload; otherwise (sha512, or a state that
// is missing or stale) the upload is read back. The verified version is
// copied server-side into the blob's content address, and the upload blob
// is deleted.
func (s *Store) Commit(ctx context.Context, id string, want digest.Digest) (int64, error) {
	name, ok := s.uploadName(id)
	if !ok {
		return 0, acreblob.ErrNotFound
	}
	final, ok := s.blobName(want)
	if !ok {
		return 0, fmt.Errorf("%w: %v", acreblob.ErrDigestMismatch, want.Validate())
	}
	b := s.blockBlob(name)
	p, err := b.GetProperties(ctx, nil)
	if isNotFound(err) {
		return 0, acreblob.ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	size, etag := deref(p.ContentLength), deref(p.ETag)
	var got digest.Digest
	if h := loadHash(p.Metadata, size); h != nil && want.Algorithm() == digest.SHA256 {
		got = digest.NewDigest(digest.SHA256, h)
	} else if got, err = s.readDigest(ctx, b, etag, want.Algorithm()); err != nil {
		return 0, err
	}
	if got != want {
		return 0, acreblob.ErrDigestMismatch
	}
	dst := s.blockBlob(final)
	if _, err := dst.GetProperties(ctx, nil); err == nil {
		// Already stored: identical content by construction.
		return size, s.deleteBlob(ctx, name)
	} else if !isNotFound(err) {
		return 0, err
	}
	if err := s.copyInto(ctx, dst, b, size, etag); err != nil {
		if !isExists(err) {
			return 0, err
		}
		if _, perr := dst.GetProperties(ctx, nil); perr != nil {
			return 0, err
		}
	}
	return size, s.deleteBlob(ctx, name)
}

// readDigest hashes the upload blob as of etag.
func (s *Store) readDigest(ctx context.Context, b *blockblob.Client, etag azcore.ETag, alg digest.Algorithm) (digest.Digest, error) {
	r, err := b.DownloadStream(ctx, &blob.DownloadStreamOptions{AccessConditions: ifMatch(etag)})
	if err != nil {
		return "", err
	}
	rc := r.NewRetryReader(ctx, &blob.RetryReaderOptions{MaxRetries: 5})
	defer rc.Close()
	return alg.FromReader(rc)
}

// copyInto copies the upload blob src, as of etag, into dst with Put Block
// From URL over ranges of copyBlock bytes and one create-only Put Block
// List, so dst never exists partly written.
func (s *Store) copyInto(ctx context.Context, dst, src *blockblob.Client, size int64, etag azcore.ETag) error {
	if size == 0 {
		_, err := dst.Upload(ctx, empty(), &blockblob.UploadOptions{AccessConditions: ifNoneMatchAny()})
		return err
	}
	srcURL, err := s.readSAS(src, sourceSASTTL)
	if err != nil {
		return err
	}
	n := int((size + s.copyBlock - 1) / s.copyBlock)
	ids := make([]string, n)
	errs := make([]error, n)
	sem := make(chan struct{}, copyParallel)
	var wg sync.WaitGroup
	for i := range n {
		off := int64(i) * s.copyBlock
		cnt := min(s.copyBlock, size-off)
		ids[i] = copyID(off, cnt)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_, errs[i] = dst.StageBlockFromURL(ctx, ids[i], srcURL, &blockblob.StageBlockFromURLOptions{
				Range:                          blob.HTTPRange{Offset: off, Count: cnt},
				SourceModifiedAccessConditions: &blob.SourceModifiedAccessConditions{SourceIfMatch: &etag},
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("azure: copy upload: %w", err)
	}
	// Every range was read from the verified version if that version is
	// still current now.
	p, err := src.GetProperties(ctx, nil)
	if err != nil {
		return err
	}
	if deref(p.ETag) != etag {
		return errors.New("azure: upload changed while it was being committed")
	}
	_, err = dst.CommitBlockList(ctx, ids, &blockblob.CommitBlockListOptions{AccessConditions: ifNoneMatchAny()})
	return err
}

// Abort implements blob.Uploads.
func (s *Store) Abort(ctx context.Context, id string) error {
	name, ok := s.uploadName(id)
	if !ok {
		return nil
	}
	return s.deleteBlob(ctx, name)
}

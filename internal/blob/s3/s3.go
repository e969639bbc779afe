// Package s3 is the blob store on an S3-compatible object store.
//
// Keys under the configured prefix:
//
//	blobs/<algorithm>/<first two hex>/<hex>   committed content
//	uploads/<id>/state                         upload session state (JSON)
//	uploads/<id>/tail-<random>                 bytes received but not yet in a part
//	uploads/<id>/data                          target of the session's multipart upload
//
// An upload session keeps all of its state in the bucket, so any node may
// continue a session another one started. Received bytes go into an S3
// multipart upload one part (PartSize) at a time; the bytes that do not fill
// a part yet wait in a tail object. The state object records the multipart
// upload, its parts, the size, the tail object and the running sha256 state.
// It is replaced with conditional writes (If-Match, If-None-Match), so two
// nodes writing to one session cannot both succeed; the store therefore
// needs a service that honours conditional PutObject (AWS S3, MinIO, Ceph
// RGW, Cloudflare R2 and versitygw do). Tail objects are never overwritten:
// every write uses a new name, which the state then points to.
//
// Commit completes the multipart upload into uploads/<id>/data and copies
// that object to its blob key (server-side; a multipart copy above 5 GiB).
// A blob that never filled one part is copied straight from its tail object.
//
// Sessions that are neither committed nor aborted leave objects and an
// incomplete multipart upload behind; a bucket lifecycle rule that expires
// uploads/ and aborts incomplete multipart uploads after a few days cleans
// them up.
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/acre-project/acre/internal/blob"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/opencontainers/go-digest"

	_ "crypto/sha256" // registers the digest algorithms acre accepts
	_ "crypto/sha512"
)

const (
	// DefaultPartSize is the multipart part size when Options.PartSize is 0.
	DefaultPartSize = 16 << 20
	// MinPartSize is the smallest part S3 accepts (except for the last).
	MinPartSize = 5 << 20
	// MaxPartSize is the largest part S3 accepts.
	MaxPartSize = 5 << 30

	maxParts = 10000
)

// Options configure New.
type Options struct {
	// Endpoint is the service URL, such as https://s3.example.com; empty
	// means AWS S3 for Region.
	Endpoint string
	// Region defaults to us-east-1.
	Region string
	// Bucket must exist.
	Bucket string
	// Prefix is prepended to every key; a missing trailing "/" is added.
	Prefix string
	// AccessKey and SecretKey are static credentials; when both are empty
	// the AWS default chain (environment, shared files, instance role) is used.
	AccessKey, SecretKey string
	// UsePathStyle addresses the bucket as a path (endpoint/bucket/key)
	// rather than a host name, as most self-hosted services need.
	UsePathStyle bool
	// PartSize is the multipart part size: the memory one Append or Commit
	// holds at most, and 1/10000 of the largest blob. Default 16 MiB, at
	// least 5 MiB.
	PartSize int64
}

// Store is the S3 Store, Uploads and Walker.
type Store struct {
	client   *awss3.Client
	bucket   string
	prefix   string
	partSize int64
	bufs     sync.Pool // *[]byte of partSize
	locks    locks

	// maxCopy is the largest object copied in one CopyObject call; copyPart
	// the part size of larger copies. Tests lower them.
	maxCopy, copyPart int64
}

var (
	_ blob.Store   = (*Store)(nil)
	_ blob.Uploads = (*Store)(nil)
	_ blob.Walker  = (*Store)(nil)
)

// New connects to the bucket and checks that it is reachable.
func New(ctx context.Context, o Options) (*Store, error) {
	if o.Bucket == "" {
		return nil, errors.New("s3: no bucket")
	}
	if o.PartSize == 0 {
		o.PartSize = DefaultPartSize
	}
	if o.PartSize < MinPartSize || o.PartSize > MaxPartSize {
		return nil, fmt.Errorf("s3: part size %d outside [%d, %d]", o.PartSize, MinPartSize, MaxPartSize)
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Prefix != "" && !strings.HasSuffix(o.Prefix, "/") {
		o.Prefix += "/"
	}
	opts := []func(*config.LoadOptions) error{config.WithRegion(o.Region)}
	if o.AccessKey != "" || o.SecretKey != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(o.AccessKey, o.SecretKey, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	// Checksums only where the API requires them: many S3-compatible
	// services reject the SDK's default trailing checksums.
	cfg.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	cfg.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	client := awss3.NewFromConfig(cfg, func(so *awss3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		so.UsePathStyle = o.UsePathStyle
	})
	if _, err := client.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: &o.Bucket}); err != nil {
		return nil, fmt.Errorf("s3: bucket %q: %w", o.Bucket, err)
	}
	s := &Store{
		client: client, bucket: o.Bucket, prefix: o.Prefix, partSize: o.PartSize,
		maxCopy: 5 << 30, copyPart: 1 << 30,
	}
	s.bufs.New = func() any { b := make([]byte, s.partSize); return &b }
	return s, nil
}

func (s *Store) blobKey(d digest.Digest) (string, bool) {
	if d.Validate() != nil {
		return "", false
	}
	hex := d.Encoded()
	return s.prefix + "blobs/" + d.Algorithm().String() + "/" + hex[:2] + "/" + hex, true
}

// Stat implements blob.Store.
func (s *Store) Stat(ctx context.Context, d digest.Digest) (int64, error) {
	key, ok := s.blobKey(d)
	if !ok {
		return 0, blob.ErrNotFound
	}
	return s.objectSize(ctx, key)
}

func (s *Store) objectSize(ctx context.Context, key string) (int64, error) {
	out, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return 0, mapNotFound(err)
	}
	return aws.ToInt64(out.ContentLength), nil
}

// Open implements blob.Store with a ranged GET.
func (s *Store) Open(ctx context.Context, d digest.Digest, offset int64) (io.ReadCloser, error) {
	key, ok := s.blobKey(d)
	if !ok {
		return nil, blob.ErrNotFound
	}
	if offset < 0 {
		return nil, fmt.Errorf("s3: negative offset %d", offset)
	}
	in := &awss3.GetObjectInput{Bucket: &s.bucket, Key: &key}
	if offset > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", offset))
	}
	out, err := s.client.GetObject(ctx, in)
	if err == nil {
		return out.Body, nil
	}
	if httpStatus(err) == 416 || apiCode(err) == "InvalidRange" {
		// At or past the end: nothing to read, if the blob exists.
		if _, err := s.objectSize(ctx, key); err != nil {
			return nil, err
		}
		return io.NopCloser(strings.NewReader("")), nil
	}
	return nil, mapNotFound(err)
}

// Delete implements blob.Store.
func (s *Store) Delete(ctx context.Context, d digest.Digest) error {
	key, ok := s.blobKey(d)
	if !ok {
		return nil
	}
	return s.deleteObject(ctx, key)
}

func (s *Store) deleteObject(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// Walk implements blob.Walker; keys that are not a valid blob key are skipped.
func (s *Store) Walk(ctx context.Context, fn func(d digest.Digest, size int64) error) error {
	base := s.prefix + "blobs/"
	p := awss3.NewListObjectsV2Paginator(s.client, &awss3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &base})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			if err := ctx.Err(); err != nil {
				return err
			}
			f := strings.Split(strings.TrimPrefix(aws.ToString(o.Key), base), "/")
			if len(f) != 3 {
				continue
			}
			d := digest.NewDigestFromEncoded(digest.Algorithm(f[0]), f[2])
			if d.Validate() != nil || f[1] != f[2][:2] {
				continue
			}
			if err := fn(d, aws.ToInt64(o.Size)); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// URL returns a presigned GET URL for the blob, valid for ttl (0 means 15
// minutes; SigV4 allows at most seven days, and temporary credentials that
// expire sooner cut it short). It does
// not check that the blob exists: call Stat first, as a GET of a missing
// blob is answered by the object store with 404. acre may redirect blob
// downloads to this URL, so clients must be able to reach the endpoint.
func (s *Store) URL(ctx context.Context, d digest.Digest, ttl time.Duration) (string, error) {
	key, ok := s.blobKey(d)
	if !ok {
		return "", blob.ErrNotFound
	}
	req, err := awss3.NewPresignClient(s.client).PresignGetObject(ctx,
		&awss3.GetObjectInput{Bucket: &s.bucket, Key: &key}, awss3.WithPresignExpires(ttl))
	if err != nil {
		return "", err
	}
	return req.URL, nil
}

// copyObject copies src to dst on the server: one CopyObject call up to
// maxCopy bytes, a multipart copy above.
func (s *Store) copyObject(ctx context.Context, src, dst string, size int64) error {
	if size <= s.maxCopy {
		_, err := s.client.CopyObject(ctx, &awss3.CopyObjectInput{
			Bucket: &s.bucket, Key: &dst, CopySource: s.copySource(src),
		})
		return err
	}
	mpu, err := s.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &dst})
	if err != nil {
		return err
	}
	var ranges []int64
	for off := int64(0); off < size; off += s.copyPart {
		ranges = append(ranges, min(s.copyPart, size-off))
	}
	parts, err := s.copyParts(ctx, dst, aws.ToString(mpu.UploadId), src, ranges)
	if err == nil {
		err = s.complete(ctx, dst, aws.ToString(mpu.UploadId), parts)
	}
	if err != nil {
		s.abortMPU(context.WithoutCancel(ctx), dst, aws.ToString(mpu.UploadId))
	}
	return err
}

// copyParts copies consecutive ranges of src, of the given sizes, into the
// multipart upload as parts 1, 2, ...
func (s *Store) copyParts(ctx context.Context, key, uploadID, src string, sizes []int64) ([]part, error) {
	var parts []part
	var off int64
	for i, n := range sizes {
		num := int32(i + 1)
		out, err := s.client.UploadPartCopy(ctx, &awss3.UploadPartCopyInput{
			Bucket: &s.bucket, Key: &key, UploadId: &uploadID, PartNumber: &num,
			CopySource:      s.copySource(src),
			CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1)),
		})
		if err != nil {
			return nil, err
		}
		if out.CopyPartResult == nil {
			return nil, errors.New("s3: UploadPartCopy returned no ETag")
		}
		parts = append(parts, part{Number: num, ETag: aws.ToString(out.CopyPartResult.ETag), Size: n})
		off += n
	}
	return parts, nil
}

// copySource is bucket/key for the x-amz-copy-source header, URL-encoded.
func (s *Store) copySource(key string) *string {
	var b strings.Builder
	for _, c := range []byte(s.bucket + "/" + key) {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~/", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return aws.String(b.String())
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// isNotFound reports a missing key or multipart upload (not a missing bucket).
func isNotFound(err error) bool {
	switch apiCode(err) {
	case "NoSuchKey", "NotFound", "NoSuchUpload":
		return true
	case "NoSuchBucket":
		return false
	}
	return httpStatus(err) == 404
}

func mapNotFound(err error) error {
	if isNotFound(err) {
		return blob.ErrNotFound
	}
	return err
}

// isRace reports a conditional write that lost to another writer.
func isRace(err error) bool {
	switch apiCode(err) {
	case "PreconditionFailed", "ConditionalRequestConflict":
		return true
	}
	s := httpStatus(err)
	return s == 412 || s == 409
}

package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/acre-project/acre/internal/blob"
	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// state is the JSON object uploads/<id>/state. Size is the parts' bytes,
// then the tail's.
type state struct {
	// UploadID is the multipart upload of uploads/<id>/data, started with
	// the first whole part.
	UploadID string `json:"uploadId,omitempty"`
	Parts    []part `json:"parts,omitempty"`
	// NextPart is the lowest part number no writer has taken yet. A writer
	// takes a number with a conditional write before uploading the part, so
	// a writer that loses a race never overwrites a part of the winner.
	NextPart int32 `json:"nextPart"`
	// Done says the multipart upload was completed into uploads/<id>/data,
	// which then holds all Size bytes (a Commit that failed after that point).
	Done     bool   `json:"done,omitempty"`
	Size     int64  `json:"size"`
	Tail     string `json:"tail,omitempty"` // object name under uploads/<id>/
	TailSize int64  `json:"tailSize,omitempty"`
	// SHA256 is the sha256 state after Size bytes (encoding.BinaryMarshaler).
	SHA256 []byte `json:"sha256,omitempty"`
}

type part struct {
	Number int32  `json:"n"`
	ETag   string `json:"etag"`
	Size   int64  `json:"size"`
}

// hash returns the sha256 state covering exactly Size bytes, or nil when
// there is none (the data must then be read again).
func (st *state) hash() hash.Hash {
	h := sha256.New()
	if st.Size == 0 && st.SHA256 == nil {
		return h
	}
	b := st.SHA256
	// The marshaled state ends with the number of bytes hashed.
	if len(b) < 8 || binary.BigEndian.Uint64(b[len(b)-8:]) != uint64(st.Size) {
		return nil
	}
	if h.(encoding.BinaryUnmarshaler).UnmarshalBinary(b) != nil {
		return nil
	}
	return h
}

func marshalHash(h hash.Hash) []byte {
	if h == nil {
		return nil
	}
	b, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return nil
	}
	return b
}

// validID rejects ids that would not map to exactly one uploads/<id>/ prefix.
func validID(id string) bool {
	if id == "" || id == "." || id == ".." || len(id) > 256 || !utf8.ValidString(id) {
		return false
	}
	return !strings.ContainsFunc(id, func(r rune) bool { return r == '/' || r == '\\' || r < 0x20 || r == 0x7f })
}

func (s *Store) uploadKey(id, name string) string { return s.prefix + "uploads/" + id + "/" + name }

var errRace = errors.New("s3: upload state changed concurrently")

func (s *Store) loadState(ctx context.Context, id string) (state, string, error) {
	key := s.uploadKey(id, "state")
	out, err := s.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return state{}, "", mapNotFound(err)
	}
	defer out.Body.Close()
	var st state
	if err := json.NewDecoder(io.LimitReader(out.Body, 16<<20)).Decode(&st); err != nil {
		return state{}, "", fmt.Errorf("s3: upload %s: reading state: %w", id, err)
	}
	return st, aws.ToString(out.ETag), nil
}

// putState writes the state if the stored one still has ETag ifMatch, or,
// with ifMatch empty, if there is none yet. It returns the new ETag.
func (s *Store) putState(ctx context.Context, id string, st *state, ifMatch string) (string, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	in := &awss3.PutObjectInput{
		Bucket: &s.bucket, Key: aws.String(s.uploadKey(id, "state")),
		Body: bytes.NewReader(b), ContentLength: aws.Int64(int64(len(b))),
		ContentType: aws.String("application/json"),
	}
	if ifMatch == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = &ifMatch
	}
	out, err := s.client.PutObject(ctx, in)
	switch {
	case err == nil:
		return aws.ToString(out.ETag), nil
	case isRace(err):
		return "", errRace
	default:
		return "", mapNotFound(err)
	}
}

// session is one upload session's state as last read or written.
type session struct {
	s    *Store
	id   string
	st   state
	etag string
}

func (s *Store) session(ctx context.Context, id string) (*session, error) {
	if !validID(id) {
		return nil, blob.ErrNotFound
	}
	st, etag, err := s.loadState(ctx, id)
	if err != nil {
		return nil, err
	}
	return &session{s: s, id: id, st: st, etag: etag}, nil
}

// update applies change to the state and writes it, on condition that the
// stored state is still the one this session holds. When another writer
// replaced it in between without adding bytes (it only took part numbers or
// started the multipart upload), change is applied again to the new state;
// when bytes were added the result is blob.ErrOffset. change must therefore
// be relative to the state it is given.
func (u *session) update(ctx context.Context, change func(*state)) error {
	base := u.st
	for {
		next := u.st
		next.Parts = slices.Clone(u.st.Parts)
		change(&next)
		etag, err := u.s.putState(ctx, u.id, &next, u.etag)
		if err == nil {
			u.st, u.etag = next, etag
			return nil
		}
		if !errors.Is(err, errRace) {
			return err
		}
		cur, etag, err := u.s.loadState(ctx, u.id)
		if err != nil {
			return err
		}
		u.st, u.etag = cur, etag
		switch {
		case cur.Size != base.Size || cur.Tail != base.Tail || len(cur.Parts) != len(base.Parts):
			return blob.ErrOffset
		case base.UploadID != "" && cur.UploadID != base.UploadID || cur.Done != base.Done:
			return fmt.Errorf("s3: upload %s: %w", u.id, errRace)
		}
	}
}

// takePart takes the next part number, starting the multipart upload if
// there is none; record, when not nil, is applied in the same write.
func (u *session) takePart(ctx context.Context, record func(*state)) (int32, error) {
	var created string
	if u.st.UploadID == "" {
		out, err := u.s.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{
			Bucket: &u.s.bucket, Key: aws.String(u.s.uploadKey(u.id, "data")),
		})
		if err != nil {
			return 0, err
		}
		created = aws.ToString(out.UploadId)
	}
	var num int32
	err := u.update(ctx, func(st *state) {
		if record != nil {
			record(st)
		}
		if st.UploadID == "" {
			st.UploadID = created
		}
		num = st.NextPart
		st.NextPart++
	})
	if created != "" && (err != nil || u.st.UploadID != created) {
		u.s.abortMPU(context.WithoutCancel(ctx), u.s.uploadKey(u.id, "data"), created)
	}
	if err == nil && num > maxParts {
		err = fmt.Errorf("s3: upload %s: more than %d parts of %d bytes", u.id, maxParts, u.s.partSize)
	}
	return num, err
}

func (u *session) uploadPart(ctx context.Context, num int32, b []byte) (part, error) {
	out, err := u.s.client.UploadPart(ctx, &awss3.UploadPartInput{
		Bucket: &u.s.bucket, Key: aws.String(u.s.uploadKey(u.id, "data")),
		UploadId: &u.st.UploadID, PartNumber: &num,
		Body: bytes.NewReader(b), ContentLength: aws.Int64(int64(len(b))),
	})
	if err != nil {
		return part{}, err
	}
	return part{Number: num, ETag: aws.ToString(out.ETag), Size: int64(len(b))}, nil
}

// readTail reads the tail object into b, which is TailSize long.
func (u *session) readTail(ctx context.Context, b []byte) error {
	out, err := u.s.client.GetObject(ctx, &awss3.GetObjectInput{
		Bucket: &u.s.bucket, Key: aws.String(u.s.uploadKey(u.id, u.st.Tail)),
	})
	if err != nil {
		return fmt.Errorf("s3: upload %s: reading tail: %w", u.id, err)
	}
	defer out.Body.Close()
	if _, err := io.ReadFull(out.Body, b); err != nil {
		return fmt.Errorf("s3: upload %s: reading tail: %w", u.id, err)
	}
	return nil
}

// putTail stores b as a new tail object and returns its name.
func (u *session) putTail(ctx context.Context, b []byte) (string, error) {
	name := "tail-" + rand.Text()
	_, err := u.s.client.PutObject(ctx, &awss3.PutObjectInput{
		Bucket: &u.s.bucket, Key: aws.String(u.s.uploadKey(u.id, name)),
		Body: bytes.NewReader(b), ContentLength: aws.Int64(int64(len(b))),
	})
	return name, err
}

func (s *Store) complete(ctx context.Context, key, uploadID string, parts []part) error {
	cp := make([]types.CompletedPart, len(parts))
	for i, p := range parts {
		cp[i] = types.CompletedPart{PartNumber: aws.Int32(p.Number), ETag: aws.String(p.ETag)}
	}
	slices.SortFunc(cp, func(a, b types.CompletedPart) int { return int(*a.PartNumber - *b.PartNumber) })
	_, err := s.client.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{
		Bucket: &s.bucket, Key: &key, UploadId: &uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: cp},
	})
	return err
}

func (s *Store) abortMPU(ctx context.Context, key, uploadID string) error {
	_, err := s.client.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{
		Bucket: &s.bucket, Key: &key, UploadId: &uploadID,
	})
	if err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// locks serializes work on one upload session within the process; the
// conditional writes of the state keep other processes in line.
type locks struct {
	mu sync.Mutex
	m  map[string]*idLock
}

type idLock struct {
	sync.Mutex
	n int
}

func (l *locks) lock(id string) (unlock func()) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*idLock{}
	}
	k := l.m[id]
	if k == nil {
		k = &idLock{}
		l.m[id] = k
	}
	k.n++
	l.mu.Unlock()
	k.Lock()
	return func() {
		k.Unlock()
		l.mu.Lock()
		if k.n--; k.n == 0 {
			delete(l.m, id)
		}
		l.mu.Unlock()
	}
}

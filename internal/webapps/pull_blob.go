package webapps

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
)

// verifier checks a blob's digest as it is read.
type verifier struct {
	r    io.Reader
	h    hash.Hash
	want string
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	return n, err
}

func (v *verifier) check() error {
	if got := "sha256:" + hex.EncodeToString(v.h.Sum(nil)); got != v.want {
		return fmt.Errorf("blob %s arrived with digest %s", v.want, got)
	}
	return nil
}

func (s *session) blob(ctx context.Context, d descriptor) (io.ReadCloser, *verifier, error) {
	if !strings.HasPrefix(d.Digest, "sha256:") {
		return nil, nil, fmt.Errorf("pull %s: unsupported digest %q", s.ref, d.Digest)
	}
	resp, err := s.get(ctx, s.url("blobs", d.Digest))
	if err != nil {
		return nil, nil, err
	}
	return resp.Body, &verifier{r: resp.Body, h: sha256.New(), want: d.Digest}, nil
}

func (s *session) blobBytes(ctx context.Context, d descriptor) ([]byte, error) {
	body, v, err := s.blob(ctx, d)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(v, 4<<20))
	if err != nil {
		return nil, err
	}
	return b, v.check()
}

// applyBlob streams a layer through digest verification and decompression
// into the tree.
func (s *session) applyBlob(ctx context.Context, root *os.Root, d descriptor) error {
	body, v, err := s.blob(ctx, d)
	if err != nil {
		return err
	}
	defer body.Close()
	var r io.Reader = v
	switch {
	case strings.HasSuffix(d.MediaType, "gzip"):
		zr, err := gzip.NewReader(v)
		if err != nil {
			return fmt.Errorf("layer %s: %w", d.Digest, err)
		}
		r = zr
	case strings.HasSuffix(d.MediaType, ".tar"), strings.HasSuffix(d.MediaType, "tar"):
	default:
		return fmt.Errorf("layer %s: unsupported media type %q", d.Digest, d.MediaType)
	}
	if err := applyLayer(root, r); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, v); err != nil {
		return err
	}
	return v.check()
}

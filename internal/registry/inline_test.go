package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/acre-project/acre/internal/blob"
	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/sku"
	"github.com/opencontainers/go-digest"
)

func TestInlineBlobs(t *testing.T) {
	const max = 1000
	s, _, files := newServiceWith(t, func(o *Options) { o.InlineMax = max })
	reg := ensure(t, s, "acre", "acre.localhost")
	r := Repo{Registry: reg, Name: "app"}
	ctx := t.Context()
	body := func(n int, seed string) []byte { return []byte(strings.Repeat(seed, n)[:n]) }
	monolithic := func(d digest.Digest, b []byte) error {
		_, err := s.PutBlob(ctx, r, d, bytes.NewReader(b))
		return err
	}
	session := func(d digest.Digest, b []byte) error {
		id, err := s.StartUpload(ctx, r)
		if err == nil {
			_, err = s.CommitUpload(ctx, r, id, d, 0, bytes.NewReader(b))
		}
		return err
	}
	chunked := func(d digest.Digest, b []byte) error {
		id, err := s.StartUpload(ctx, r)
		if err == nil {
			id, _, err = s.AppendUpload(ctx, r, id, "", 0, bytes.NewReader(b))
		}
		if err == nil {
			_, err = s.CommitUpload(ctx, r, id, d, -1, nil)
		}
		return err
	}
	for _, tc := range []struct {
		name   string
		data   []byte
		push   func(digest.Digest, []byte) error
		inline bool
	}{
		{"small, monolithic", body(100, "a"), monolithic, true},
		{"small, POST then PUT", body(100, "b"), session, true},
		{"empty", nil, session, true},
		{"exactly the limit", body(max, "c"), session, true},
		{"one byte over", body(max+1, "d"), session, false},
		{"large", body(50_000, "e"), monolithic, false},
		{"small but chunked", body(100, "f"), chunked, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := digest.FromBytes(tc.data)
			other := Repo{Registry: reg, Name: "other/" + d.Encoded()[:12]}
			if err := tc.push(d, tc.data); err != nil {
				t.Fatalf("push: %v", err)
			}
			_, err := files.Stat(ctx, d)
			if inFile := err == nil; inFile == tc.inline {
				t.Fatalf("blob in a file: %v (%v), want %v", inFile, err, !tc.inline)
			}
			if n, err := s.StatBlob(ctx, r, d); err != nil || n != int64(len(tc.data)) {
				t.Fatalf("StatBlob = %d, %v", n, err)
			}
			for _, off := range []int64{0, int64(len(tc.data) / 2), int64(len(tc.data))} {
				rc, size, err := s.OpenBlob(ctx, r, d, off)
				if err != nil {
					t.Fatalf("OpenBlob at %d: %v", off, err)
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || size != int64(len(tc.data)) || !bytes.Equal(got, tc.data[off:]) {
					t.Fatalf("OpenBlob at %d: %d bytes of %d (%v)", off, len(got), size, err)
				}
			}
			// A mount into another repository links the same bytes.
			if ok, err := s.MountBlob(ctx, other, "app", d, nil); err != nil || !ok {
				t.Fatalf("MountBlob = %v, %v", ok, err)
			}
			if n, err := s.StatBlob(ctx, other, d); err != nil || n != int64(len(tc.data)) {
				t.Fatalf("StatBlob after the mount = %d, %v", n, err)
			}
		})
	}
	t.Run("wrong digest", func(t *testing.T) {
		d := digest.FromString("something else")
		if err := session(d, []byte("small")); errcode.CodeOf(err) != errcode.DigestInvalid {
			t.Fatalf("push = %v, want DIGEST_INVALID", err)
		}
		if _, err := s.StatBlob(ctx, r, d); errcode.CodeOf(err) != errcode.BlobUnknown {
			t.Fatalf("StatBlob after a refused push = %v", err)
		}
		if _, err := s.blobs.Stat(ctx, d); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("bytes kept after a refused push: %v", err)
		}
	})
}

// failingReader returns its bytes, then err.
type failingReader struct {
	b   []byte
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.b) == 0 {
		return 0, f.err
	}
	n := copy(p, f.b)
	f.b = f.b[n:]
	return n, nil
}

func TestInlineBlobEdges(t *testing.T) {
	ctx := t.Context()
	t.Run("a body cut short is an error, not a digest mismatch", func(t *testing.T) {
		s, _, _ := newServiceWith(t, func(o *Options) { o.InlineMax = 1000 })
		r := Repo{Registry: ensure(t, s, "acre", "acre.localhost"), Name: "app"}
		_, err := s.PutBlob(ctx, r, digest.FromString("whole"), &failingReader{[]byte("who"), io.ErrUnexpectedEOF})
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("PutBlob = %v, want the body's error", err)
		}
	})
	t.Run("inline blobs stay readable with inlining off", func(t *testing.T) {
		s, m, files := newServiceWith(t, func(o *Options) { o.InlineMax = 1000 })
		r := Repo{Registry: ensure(t, s, "acre", "acre.localhost"), Name: "app"}
		data := []byte("kept inline")
		d := digest.FromBytes(data)
		if _, err := s.PutBlob(ctx, r, d, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		off := New(Options{Meta: meta.Narrow(m, func(q meta.Queries) Store { return q }), Blobs: files, Uploads: files})
		rc, _, err := off.OpenBlob(ctx, r, d, 0)
		if err != nil {
			t.Fatalf("OpenBlob with inlining off: %v", err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, data) {
			t.Fatalf("read %q, want %q", got, data)
		}
	})
	t.Run("the quota holds for an id used again", func(t *testing.T) {
		s, _, _ := newServiceWith(t, func(o *Options) {
			o.InlineMax = 1000
			o.Limits = func(*meta.Registry) sku.Limits { return sku.Limits{StorageLimit: 10} }
		})
		r := Repo{Registry: ensure(t, s, "acre", "acre.localhost"), Name: "app"}
		id, err := s.StartUpload(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []errcode.Code{"", "", errcode.Denied} { // 8 bytes, 16 bytes, then over 10
			b := []byte(fmt.Sprintf("blob %03d", i))
			if _, err := s.CommitUpload(ctx, r, id, digest.FromBytes(b), 0, bytes.NewReader(b)); errcode.CodeOf(err) != want {
				t.Fatalf("PUT %d with the same id = %v, want %q", i, err, want)
			}
		}
		if _, _, err := s.AppendUpload(ctx, r, id, "", 0, strings.NewReader("x")); errcode.CodeOf(err) != errcode.Denied {
			t.Fatalf("PATCH over the quota = %v, want DENIED", err)
		}
	})
}

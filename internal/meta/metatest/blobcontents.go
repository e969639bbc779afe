package metatest

import (
	"bytes"
	"testing"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

func testBlobContents(t *testing.T, s meta.Store) {
	ctx := t.Context()
	small := bytes.Repeat([]byte{0, 1, 2, 0xff}, 40000) // binary, with NULs, over a page
	d := digest.FromBytes(small)
	empty := digest.FromBytes(nil)
	filed := digest.FromString("kept in a file")
	tx(t, s, func(q meta.Queries) error {
		for _, b := range []struct {
			d digest.Digest
			n int64
		}{{d, int64(len(small))}, {empty, 0}, {filed, 14}} {
			if _, err := q.PutBlob(ctx, b.d, b.n, at(0)); err != nil {
				return err
			}
		}
		if err := q.PutBlobContent(ctx, d, small); err != nil {
			return err
		}
		return q.PutBlobContent(ctx, empty, []byte{})
	})
	tx(t, s, func(q meta.Queries) error { return q.PutBlobContent(ctx, d, []byte("other bytes")) }) // a no-op
	for _, tc := range []struct {
		name string
		d    digest.Digest
		want []byte
		err  error
	}{
		{"stored", d, small, nil},
		{"empty", empty, []byte{}, nil},
		{"a blob in a file has none", filed, nil, meta.ErrNotFound},
		{"unknown", digest.FromString("unknown"), nil, meta.ErrNotFound},
	} {
		got, err := s.Read().BlobContent(ctx, tc.d)
		wantErr(t, "BlobContent "+tc.name, err, tc.err)
		if tc.err == nil && !bytes.Equal(got, tc.want) {
			t.Fatalf("BlobContent %s: %d bytes, want %d", tc.name, len(got), len(tc.want))
		}
		n, err := s.Read().BlobContentSize(ctx, tc.d)
		wantErr(t, "BlobContentSize "+tc.name, err, tc.err)
		if tc.err == nil && n != int64(len(tc.want)) {
			t.Fatalf("BlobContentSize %s = %d, want %d", tc.name, n, len(tc.want))
		}
	}
	if err := s.Tx(ctx, func(q meta.Queries) error { return q.PutBlobContent(ctx, digest.FromString("x"), []byte("x")) }); err == nil {
		t.Fatal("PutBlobContent of an unrecorded blob succeeded")
	}
	tx(t, s, func(q meta.Queries) error { return q.DeleteBlob(ctx, d) })
	_, err := s.Read().BlobContent(ctx, d)
	wantErr(t, "BlobContent after DeleteBlob", err, meta.ErrNotFound)
}

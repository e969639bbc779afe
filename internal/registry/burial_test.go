package registry

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// TestUploadWaitsForBurial: content pushed again while garbage collection
// is deleting it (its record gone, its tombstone standing) is stored again
// once GC is done, not refused: whether GC has yet to delete the bytes or
// already has, and whether the push is one request or a session.
func TestUploadWaitsForBurial(t *testing.T) {
	pushes := []struct {
		name string
		push func(ctx context.Context, s *Service, r Repo, body []byte) error
	}{
		{"monolithic", func(ctx context.Context, s *Service, r Repo, body []byte) error {
			_, err := s.PutBlob(ctx, r, digest.FromBytes(body), bytes.NewReader(body))
			return err
		}},
		{"session", func(ctx context.Context, s *Service, r Repo, body []byte) error {
			id, err := s.StartUpload(ctx, r)
			if err != nil {
				return err
			}
			_, err = s.CommitUpload(ctx, r, id, digest.FromBytes(body), 0, bytes.NewReader(body))
			return err
		}},
		{"chunked session", func(ctx context.Context, s *Service, r Repo, body []byte) error {
			id, err := s.StartUpload(ctx, r)
			if err != nil {
				return err
			}
			if id, _, err = s.AppendUpload(ctx, r, id, "", 0, bytes.NewReader(body[:1])); err != nil {
				return err
			}
			_, err = s.CommitUpload(ctx, r, id, digest.FromBytes(body), 1, bytes.NewReader(body[1:]))
			return err
		}},
	}
	for _, p := range pushes {
		for _, bytesDeleted := range []bool{false, true} {
			name := p.name + "/bytes-still-there"
			if bytesDeleted {
				name = p.name + "/bytes-already-deleted"
			}
			t.Run(name, func(t *testing.T) {
				ctx := t.Context()
				s, m := newService(t, "acre")
				r := Repo{Registry: ensure(t, s, "acre", "acre.localhost"), Name: "app"}
				body := []byte("pushed again as GC removes it: " + name)
				d := digest.FromBytes(body)
				if err := p.push(ctx, s, r, body); err != nil {
					t.Fatal(err)
				}
				// GC's deleting transaction: the link and the record go, a tombstone stands.
				if err := m.Tx(ctx, func(q meta.Queries) error {
					repo, err := q.GetRepository(ctx, r.Registry.ID, r.Name)
					if err != nil {
						return err
					}
					if err := q.UnlinkBlob(ctx, repo.ID, d); err != nil {
						return err
					}
					if err := q.DeleteBlob(ctx, d); err != nil {
						return err
					}
					return q.EnqueueGC(ctx, meta.GCItem{Kind: meta.GCTombstone, Digest: d, NotBefore: time.Now().UTC()})
				}); err != nil {
					t.Fatal(err)
				}
				if bytesDeleted {
					if err := s.blobs.Delete(ctx, d); err != nil {
						t.Fatal(err)
					}
				}
				done := make(chan error, 1)
				go func() { done <- p.push(ctx, s, r, body) }()
				time.Sleep(100 * time.Millisecond) // let the push reach the tombstone (it passes either way)
				select {
				case err := <-done:
					t.Fatalf("the push ended while the tombstone stood: %v", err)
				default:
				}
				// The rest of the burial: the bytes, then the tombstone.
				if !bytesDeleted {
					if err := s.blobs.Delete(ctx, d); err != nil {
						t.Fatal(err)
					}
				}
				if err := m.Tx(ctx, func(q meta.Queries) error {
					return q.DoneGC(ctx, meta.GCItem{Kind: meta.GCTombstone, Digest: d, NotBefore: time.Now().UTC().Add(time.Hour)})
				}); err != nil {
					t.Fatal(err)
				}
				if err := <-done; err != nil {
					t.Fatalf("push after the burial: %v", err)
				}
				rc, _, err := s.OpenBlob(ctx, r, d, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer rc.Close()
				if got, _ := io.ReadAll(rc); !bytes.Equal(got, body) {
					t.Fatalf("read back %q", got)
				}
			})
		}
	}
}

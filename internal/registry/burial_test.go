package registry

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// TestUploadWaitsForBurial: content pushed again while garbage collection
// is deleting it (its tombstone stands) is stored again once GC is done,
// not refused, whether it comes in one request or as a session.
func TestUploadWaitsForBurial(t *testing.T) {
	tests := []struct {
		name string
		push func(s *Service, r Repo, body []byte) error
	}{
		{"monolithic", func(s *Service, r Repo, body []byte) error {
			_, err := s.PutBlob(t.Context(), r, digest.FromBytes(body), bytes.NewReader(body))
			return err
		}},
		{"session", func(s *Service, r Repo, body []byte) error {
			id, err := s.StartUpload(t.Context(), r, "")
			if err != nil {
				return err
			}
			_, err = s.CommitUpload(t.Context(), r, id, digest.FromBytes(body), 0, bytes.NewReader(body))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, m := newService(t, "acre")
			r := Repo{Registry: ensure(t, s, "acre", "acre.localhost"), Name: "app"}
			body := []byte("pushed again as GC removes it: " + tt.name)
			d := digest.FromBytes(body)
			tomb := meta.GCItem{Kind: meta.GCTombstone, Digest: d, NotBefore: time.Now().UTC()}
			if err := m.Tx(t.Context(), func(q meta.Queries) error { return q.EnqueueGC(t.Context(), tomb) }); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- tt.push(s, r, body) }()
			time.Sleep(100 * time.Millisecond) // let the push reach the tombstone (it passes either way)
			select {
			case err := <-done:
				t.Fatalf("the push ended while the tombstone stood: %v", err)
			default:
			}
			// GC's burial: the bytes are deleted (none here), then the tombstone.
			if err := m.Tx(t.Context(), func(q meta.Queries) error {
				return q.DoneGC(t.Context(), meta.GCItem{Kind: meta.GCTombstone, Digest: d, NotBefore: time.Now().UTC().Add(time.Hour)})
			}); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatalf("push after the burial: %v", err)
			}
			rc, _, err := s.OpenBlob(t.Context(), r, d, 0)
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

package registry

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// txRecorder is a store view that records, for each transaction, whether
// it was relaxed (meta.Relaxed).
type txRecorder struct {
	meta.View[Store]
	mu      sync.Mutex
	relaxed []bool
}

func (r *txRecorder) Tx(ctx context.Context, fn func(q Store) error) error {
	r.mu.Lock()
	r.relaxed = append(r.relaxed, meta.IsRelaxed(ctx))
	r.mu.Unlock()
	return r.View.Tx(ctx, fn)
}

// take returns the relaxed flags recorded since the last take.
func (r *txRecorder) take() []bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.relaxed
	r.relaxed = nil
	return out
}

// TestPushDurability checks which commits of a push are relaxed: starting,
// committing and cancelling an upload, a monolithic upload and a mount may
// be (the blob's bytes are synced before; a lost link only means a blob to
// push again), and the manifest's commit, which acknowledges the image and
// makes the links before it durable, never is.
func TestPushDurability(t *testing.T) {
	s, _ := newService(t, "acre")
	rec := &txRecorder{View: s.meta}
	s.meta = rec
	ctx := t.Context()
	reg := ensure(t, s, "acre", "acre.localhost")
	r := Repo{Registry: reg, Name: "app"}
	steps := []struct {
		name    string
		relaxed bool
		run     func() error
	}{
		{"monolithic uploads", true, func() error { pushImage(t, s, r, "base"); return nil }},
		{"upload in one PUT", true, func() error {
			id, err := s.StartUpload(ctx, r)
			if err != nil {
				return err
			}
			_, err = s.CommitUpload(ctx, r, id, digest.FromString("chunk"), 0, strings.NewReader("chunk"))
			return err
		}},
		{"chunked upload", true, func() error {
			id, err := s.StartUpload(ctx, r)
			if err != nil {
				return err
			}
			if id, _, err = s.AppendUpload(ctx, r, id, "", 0, strings.NewReader("chu")); err != nil {
				return err
			}
			_, err = s.CommitUpload(ctx, r, id, digest.FromString("chunk"), 3, strings.NewReader("nk"))
			return err
		}},
		{"cancelled upload", true, func() error {
			id, err := s.StartUpload(ctx, r)
			if err != nil {
				return err
			}
			if id, _, err = s.AppendUpload(ctx, r, id, "", 0, strings.NewReader("c")); err != nil {
				return err
			}
			return s.CancelUpload(ctx, r, id)
		}},
		{"mount", true, func() error {
			_, err := s.MountBlob(ctx, Repo{Registry: reg, Name: "other"}, "app", digest.FromString("chunk"), nil)
			return err
		}},
		{"manifest", false, func() error {
			body := pushImage(t, s, r, "img")
			rec.take()
			_, err := s.PutManifest(ctx, r, "v1", MediaTypeOCIManifest, bytes.NewReader(body), nil)
			return err
		}},
	}
	for _, st := range steps {
		rec.take()
		if err := st.run(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got := rec.take()
		if len(got) == 0 {
			t.Fatalf("%s: no transaction", st.name)
		}
		for i, relaxed := range got {
			if relaxed != st.relaxed {
				t.Errorf("%s: transaction %d relaxed = %v, want %v", st.name, i, relaxed, st.relaxed)
			}
		}
	}
}

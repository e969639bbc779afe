package tasks

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// TestSourceOfAnotherRegistryRefused: a run builds only from a source
// uploaded to its own registry; another registry's upload, or any other
// blob whose digest is known, is refused before anything is queued.
func TestSourceOfAnotherRegistryRefused(t *testing.T) {
	s, m, reg := newTestService(t, nil)
	ctx := t.Context()
	other := &meta.Registry{Name: "other", LoginServer: "other.localhost", SKU: "Standard", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := m.Tx(ctx, func(q meta.Queries) error { return q.CreateRegistry(ctx, other) }); err != nil {
		t.Fatal(err)
	}
	d, _, err := s.PutSource(ctx, reg, bytes.NewReader([]byte("a build context")))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		reg     *meta.Registry
		digest  string
		refused bool
	}{
		{"its own registry's upload", reg, d.String(), false},
		{"another registry's upload", other, d.String(), true},
		{"an unknown digest", reg, "sha256:" + string(bytes.Repeat([]byte("0"), 64)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.SubmitQuick(ctx, tc.reg, RunSpec{Kind: KindBuild, SourceDigest: tc.digest, Identity: "owner"})
			var inv invalidError
			if refused := errors.As(err, &inv); refused != tc.refused || (!tc.refused && err != nil) {
				t.Fatalf("SubmitQuick = %v, want refused %v", err, tc.refused)
			}
		})
	}
}

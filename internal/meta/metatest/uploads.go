package metatest

import (
	"fmt"
	"testing"

	"github.com/acre-project/acre/internal/meta"
)

// testOpenUploads checks the counts behind the caps on open upload
// sessions: per registry, and per principal across registries ("" counts
// nothing).
func testOpenUploads(t *testing.T, s meta.Store) {
	ctx := t.Context()
	alpha, beta := mkRegistry(t, s, "alpha"), mkRegistry(t, s, "beta")
	for i, u := range []struct {
		reg   int64
		owner string
	}{{alpha.ID, "7"}, {alpha.ID, "7"}, {alpha.ID, "8"}, {beta.ID, "7"}, {alpha.ID, ""}} {
		tx(t, s, func(q meta.Queries) error {
			return q.CreateUpload(ctx, &meta.Upload{ID: fmt.Sprintf("u%d", i), RegistryID: u.reg, Repository: "app", Principal: u.owner, CreatedAt: at(i)})
		})
	}
	for _, tt := range []struct {
		reg           int64
		owner         string
		inReg, byUser int
	}{{alpha.ID, "7", 4, 3}, {alpha.ID, "8", 4, 1}, {beta.ID, "7", 1, 3}, {alpha.ID, "", 4, 0}, {beta.ID, "9", 1, 0}} {
		inReg, byUser, err := s.Read().OpenUploads(ctx, tt.reg, tt.owner)
		ok(t, "OpenUploads", err)
		if inReg != tt.inReg || byUser != tt.byUser {
			t.Errorf("OpenUploads(%d, %q) = %d, %d; want %d, %d", tt.reg, tt.owner, inReg, byUser, tt.inReg, tt.byUser)
		}
	}
	u, err := s.Read().GetUpload(ctx, "u0")
	ok(t, "GetUpload", err)
	if u.Principal != "7" {
		t.Errorf("GetUpload principal %q, want 7", u.Principal)
	}
}

package sqlstore

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

func TestChangesResolution(t *testing.T) {
	for _, tt := range []struct {
		q    string
		want bool
	}{
		{"SELECT id FROM tags", false},
		{"\n\t select 1", false},
		{"INSERT INTO audit_log (at) VALUES (?)", false},
		{"UPDATE manifests SET last_pulled_at = ? WHERE id = ?", false},
		{"UPDATE tags SET last_pulled_at = ? WHERE repository_id = ?", false},
		{"UPDATE tags SET manifest_id = ? WHERE repository_id = ?", true},
		{"UPDATE repositories SET read_enabled = ?", true},
		{"INSERT INTO tags (name) VALUES (?)", true},
		{"DELETE FROM manifests WHERE id = ?", true},
		{"WITH x AS (SELECT 1) DELETE FROM tags", true},
		{"INSERT INTO audit_logx (at) VALUES (?)", true},
	} {
		if got := changesResolution(tt.q); got != tt.want {
			t.Errorf("changesResolution(%q) = %v, want %v", tt.q, got, tt.want)
		}
	}
}

// TestResolveCacheInvalidation checks that a transaction that only appends
// to the audit log keeps cached answers, and that one that changes a
// repository's attributes drops them, so the next read sees the lock.
func TestResolveCacheInvalidation(t *testing.T) {
	s := openTemp(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	var reg meta.Registry
	var repo *meta.Repository
	m := &meta.Manifest{Digest: digest.Digest("sha256:" + strings.Repeat("a", 64)), MediaType: "application/vnd.oci.image.manifest.v1+json",
		Size: 2, Content: []byte("{}"), CreatedAt: time.Now(), UpdatedAt: time.Now()}
	err := s.Tx(ctx, func(q meta.Queries) error {
		reg = meta.Registry{Name: "r", LoginServer: "r.example.com", SKU: "Standard", CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := q.CreateRegistry(ctx, &reg); err != nil {
			return err
		}
		var err error
		if repo, err = q.EnsureRepository(ctx, reg.ID, "app"); err != nil {
			return err
		}
		m.RepositoryID = repo.ID
		if _, err := q.PutManifest(ctx, m); err != nil {
			return err
		}
		return q.PutTag(ctx, repo.ID, "v1", m.ID, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	read := func() *meta.Repository {
		r, _, got, err := s.Read().ResolveManifest(ctx, reg.ID, "app", "v1", true)
		if err != nil || got == nil || got.Digest != m.Digest {
			t.Fatalf("ResolveManifest = %v, %v", got, err)
		}
		return r
	}
	read()
	gen := s.cache.gen.Load()
	if err := s.Tx(ctx, func(q meta.Queries) error {
		return q.AppendAuditBatch(ctx, []meta.AuditEntry{{At: time.Now(), RegistryID: reg.ID, Category: "x", Operation: "pull"}})
	}); err != nil {
		t.Fatal(err)
	}
	if s.cache.gen.Load() != gen {
		t.Fatal("an audit-only transaction dropped the resolution cache")
	}
	if _, ok := s.cache.entries[resolveKey{reg.ID, "app", "v1", true}]; !ok {
		t.Fatal("the answer was not cached")
	}
	if err := s.Tx(ctx, func(q meta.Queries) error {
		a := meta.DefaultAttributes()
		a.ReadEnabled = false
		return q.(*queries).SetRepositoryAttributes(ctx, repo.ID, a)
	}); err != nil {
		t.Fatal(err)
	}
	if read().Attributes.ReadEnabled {
		t.Fatal("a repository lock committed before the read is not visible")
	}
}

// TestResolveSeesAcknowledgedMove: a tag moved by a transaction that has
// returned is what the next resolution answers, every time (the cache is
// dropped before the writer answers, not after).
func TestResolveSeesAcknowledgedMove(t *testing.T) {
	s := openTemp(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	reg := meta.Registry{Name: "r", LoginServer: "r.example.com", SKU: "Standard", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	var repo *meta.Repository
	var ms [2]*meta.Manifest
	if err := s.Tx(ctx, func(q meta.Queries) error {
		if err := q.CreateRegistry(ctx, &reg); err != nil {
			return err
		}
		var err error
		if repo, err = q.EnsureRepository(ctx, reg.ID, "app"); err != nil {
			return err
		}
		for i := range ms {
			body := []byte(fmt.Sprintf(`{"n":%d}`, i))
			ms[i] = &meta.Manifest{RepositoryID: repo.ID, Digest: digest.FromBytes(body), MediaType: "application/vnd.oci.image.manifest.v1+json",
				Size: int64(len(body)), Content: body, CreatedAt: time.Now(), UpdatedAt: time.Now()}
			if _, err := q.PutManifest(ctx, ms[i]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		want := ms[i%2]
		if err := s.Tx(ctx, func(q meta.Queries) error { return q.PutTag(ctx, repo.ID, "v1", want.ID, time.Now()) }); err != nil {
			t.Fatal(err)
		}
		_, _, got, err := s.Read().ResolveManifest(ctx, reg.ID, "app", "v1", false)
		if err != nil || got.Digest != want.Digest {
			t.Fatalf("move %d: resolved %v, %v; want %s", i, got, err, want.Digest)
		}
	}
}

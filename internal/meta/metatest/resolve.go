package metatest

import (
	"testing"

	"github.com/acre-project/acre/internal/meta"
)

// testResolveSeesWrites resolves a tag and a digest again after each write
// that changes the answer: a store may keep answers in memory, but a
// committed write must show in the very next read.
func testResolveSeesWrites(t *testing.T, s meta.Store) {
	reg := mkRegistry(t, s, "resolve")
	repo := mkRepo(t, s, reg.ID, "app")
	m1 := mkManifest(t, s, repo.ID, "one")
	m2 := mkManifest(t, s, repo.ID, "two")
	resolve := func(ref string) *meta.Manifest {
		t.Helper()
		for range 2 { // twice: the second read may come from a cache
			_, _, m, err := s.Read().ResolveManifest(t.Context(), reg.ID, "app", ref, true)
			ok(t, "ResolveManifest "+ref, err)
			if m != nil && string(m.Content) == "" {
				t.Fatalf("ResolveManifest %s: no content", ref)
			}
			if m == nil {
				return nil
			}
		}
		_, _, m, _ := s.Read().ResolveManifest(t.Context(), reg.ID, "app", ref, true)
		return m
	}
	want := func(ref string, m *meta.Manifest) {
		t.Helper()
		got := resolve(ref)
		switch {
		case m == nil && got != nil:
			t.Fatalf("%s resolves to %s, want nothing", ref, got.Digest)
		case m != nil && (got == nil || got.Digest != m.Digest):
			t.Fatalf("%s resolves to %v, want %s", ref, got, m.Digest)
		}
	}
	putTag(t, s, repo.ID, "latest", m1, at(20))
	want("latest", m1)
	want(m2.Digest.String(), m2)
	putTag(t, s, repo.ID, "latest", m2, at(21))
	want("latest", m2)
	tx(t, s, func(q meta.Queries) error { return q.DeleteTag(t.Context(), repo.ID, "latest") })
	want("latest", nil)
	tx(t, s, func(q meta.Queries) error { return q.DeleteManifest(t.Context(), repo.ID, m2.Digest) })
	want(m2.Digest.String(), nil)
	want(m1.Digest.String(), m1)
}

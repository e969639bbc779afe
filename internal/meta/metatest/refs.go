package metatest

import (
	"testing"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// testLinkReferenced checks GC's link check (LinkReferenced) and its
// sibling for index children (ReferencedBy) when one digest is referenced
// from several repositories: each answers for its own repository only,
// counts only its own kind of reference, and follows manifest and
// repository deletion. It also checks that a readable manifest in one
// repository does not make a blob that only read-locked manifests
// reference readable in another.
func testLinkReferenced(t *testing.T, s meta.Store) {
	ctx := t.Context()
	reg := mkRegistry(t, s, "alpha")
	a, b, c := mkRepo(t, s, reg.ID, "a"), mkRepo(t, s, reg.ID, "b"), mkRepo(t, s, reg.ID, "c")
	layer, child := digest.FromString("layer"), digest.FromString("child")
	put := func(repoID int64, seed string, refs ...meta.Ref) *meta.Manifest {
		m := newManifest(repoID, seed)
		m.Refs = refs
		return putManifest(t, s, m)
	}
	asBlob, asChild := meta.Ref{Digest: layer, Kind: meta.RefBlob}, meta.Ref{Digest: child, Kind: meta.RefManifest}
	a1, a2 := put(a.ID, "a1", asBlob), put(a.ID, "a2", asBlob, asChild)
	b1 := put(b.ID, "b1", asBlob)
	// c references the layer's digest only as a child, and the child's
	// digest as a blob: neither counts as the other kind.
	put(c.ID, "c1", meta.Ref{Digest: layer, Kind: meta.RefManifest}, meta.Ref{Digest: child, Kind: meta.RefBlob})

	type want struct{ a, b, c bool }
	check := func(step string, linked, children want) {
		t.Helper()
		for _, r := range []struct {
			repo          *meta.Repository
			linked, child bool
		}{{a, linked.a, children.a}, {b, linked.b, children.b}, {c, linked.c, children.c}} {
			got, err := s.Read().LinkReferenced(ctx, r.repo.ID, layer)
			ok(t, "LinkReferenced", err)
			if got != r.linked {
				t.Errorf("%s: LinkReferenced(%s, layer) = %v, want %v", step, r.repo.Name, got, r.linked)
			}
			got, err = s.Read().ReferencedBy(ctx, r.repo.ID, child)
			ok(t, "ReferencedBy", err)
			if got != r.child {
				t.Errorf("%s: ReferencedBy(%s, child) = %v, want %v", step, r.repo.Name, got, r.child)
			}
		}
	}
	check("pushed", want{true, true, false}, want{true, false, false})
	steps := []struct {
		name            string
		do              func(q meta.Queries) error
		linked, childOf want
	}{
		{"a1 deleted", func(q meta.Queries) error { return q.DeleteManifest(ctx, a.ID, a1.Digest) },
			want{true, true, false}, want{true, false, false}},
		{"a2 deleted", func(q meta.Queries) error { return q.DeleteManifest(ctx, a.ID, a2.Digest) },
			want{false, true, false}, want{false, false, false}},
		{"a1 pushed again", func(q meta.Queries) error { _, err := q.PutManifest(ctx, a1); return err },
			want{true, true, false}, want{false, false, false}},
		{"b deleted", func(q meta.Queries) error { return q.DeleteRepository(ctx, b.ID) },
			want{true, false, false}, want{false, false, false}},
	}
	for _, st := range steps {
		tx(t, s, st.do)
		check(st.name, st.linked, st.childOf)
	}
	refs, err := s.Read().RefsOf(ctx, b1.ID)
	ok(t, "RefsOf", err)
	if len(refs) != 0 {
		t.Errorf("the references of a deleted repository's manifest are left: %v", refs)
	}

	// A read-locked manifest in c hides the layer there even though a
	// readable manifest of a references it.
	tx(t, s, func(q meta.Queries) error {
		if _, err := q.PutBlob(ctx, layer, 5, at(0)); err != nil {
			return err
		}
		if err := q.LinkBlob(ctx, a.ID, layer, at(0)); err != nil {
			return err
		}
		return q.LinkBlob(ctx, c.ID, layer, at(0))
	})
	locked := put(c.ID, "locked", asBlob)
	lock := meta.DefaultAttributes()
	lock.ReadEnabled = false
	tx(t, s, func(q meta.Queries) error { return q.SetManifestAttributes(ctx, c.ID, locked.Digest, lock) })
	for _, r := range []struct {
		repo *meta.Repository
		want bool
	}{{a, true}, {c, false}} {
		_, readable, err := s.Read().ReadableBlob(ctx, r.repo.ID, layer)
		ok(t, "ReadableBlob", err)
		if readable != r.want {
			t.Errorf("ReadableBlob(%s) readable = %v, want %v", r.repo.Name, readable, r.want)
		}
	}
}

package metatest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/acre-project/acre/internal/meta"
)

// Tags: set, move, list in order and in pages, and list-enabled filtering.

func testTags(t *testing.T, s meta.Store) {
	ctx := t.Context()
	reg := mkRegistry(t, s, "alpha")
	repo := mkRepo(t, s, reg.ID, "app")
	other := mkRepo(t, s, reg.ID, "other")
	m1 := mkManifest(t, s, repo.ID, "one")
	m2 := mkManifest(t, s, repo.ID, "two")
	mo := mkManifest(t, s, other.ID, "one")

	putTag(t, s, repo.ID, "latest", m1, at(100))
	tg, err := s.Read().GetTag(ctx, repo.ID, "latest")
	ok(t, "GetTag", err)
	if tg.RepositoryID != repo.ID || tg.Name != "latest" || tg.ManifestID != m1.ID || tg.Digest != m1.Digest {
		t.Fatalf("GetTag = %+v", tg)
	}
	if tg.Attributes != meta.DefaultAttributes() {
		t.Errorf("tag attributes = %+v", tg.Attributes)
	}
	sameTime(t, "tag CreatedAt", tg.CreatedAt, at(100))
	sameTime(t, "tag UpdatedAt", tg.UpdatedAt, at(100))

	putTag(t, s, other.ID, "latest", mo, at(150))
	putTag(t, s, repo.ID, "latest", m2, at(200)) // a move
	tg, err = s.Read().GetTag(ctx, repo.ID, "latest")
	ok(t, "GetTag after a move", err)
	if tg.ManifestID != m2.ID || tg.Digest != m2.Digest {
		t.Fatalf("moved tag = %+v, want manifest %d", tg, m2.ID)
	}
	sameTime(t, "moved tag CreatedAt", tg.CreatedAt, at(100))
	sameTime(t, "moved tag UpdatedAt", tg.UpdatedAt, at(200))
	if tg, err := s.Read().GetTag(ctx, other.ID, "latest"); err != nil || tg.ManifestID != mo.ID {
		t.Fatalf("other repository's tag = %+v, %v", tg, err)
	}

	for _, name := range []string{"LATEST", "nope", ""} {
		_, err := s.Read().GetTag(ctx, repo.ID, name)
		wantErr(t, fmt.Sprintf("GetTag(%q)", name), err, meta.ErrNotFound)
	}

	tx(t, s, func(q meta.Queries) error { return q.DeleteTag(ctx, repo.ID, "latest") })
	_, err = s.Read().GetTag(ctx, repo.ID, "latest")
	wantErr(t, "GetTag after DeleteTag", err, meta.ErrNotFound)
	err = s.Tx(ctx, func(q meta.Queries) error { return q.DeleteTag(ctx, repo.ID, "latest") })
	wantErr(t, "second DeleteTag", err, meta.ErrNotFound)
	if _, err := s.Read().GetManifest(ctx, repo.ID, m2.Digest, false); err != nil {
		t.Fatalf("DeleteTag removed the manifest: %v", err)
	}
	if _, err := s.Read().GetTag(ctx, other.ID, "latest"); err != nil {
		t.Fatalf("DeleteTag removed another repository's tag: %v", err)
	}
}

var tagNames = []string{"v1.10", "v1.2", "Latest", "latest", "_x", "1.0", "a-b", "a.b", "a_b", "v1.2-rc1", "Z"}

func listTags(t *testing.T, s meta.Store, repoID int64, p meta.Page) []string {
	t.Helper()
	tags, err := s.Read().ListTags(t.Context(), repoID, p)
	ok(t, "ListTags", err)
	return tags
}

func testListTags(t *testing.T, s meta.Store) {
	reg := mkRegistry(t, s, "alpha")
	repo := mkRepo(t, s, reg.ID, "app")
	other := mkRepo(t, s, reg.ID, "other")
	empty := mkRepo(t, s, reg.ID, "empty")
	m := mkManifest(t, s, repo.ID, "m")
	mo := mkManifest(t, s, other.ID, "m")
	for i, n := range tagNames {
		putTag(t, s, repo.ID, n, m, at(i))
	}
	putTag(t, s, other.ID, "only-in-other", mo, at(0))

	want := slices.Sorted(slices.Values(tagNames))
	sameStrings(t, "all tags", listTags(t, s, repo.ID, meta.Page{N: 1000}), want)
	for _, n := range []int{1, 2, 3, len(want), len(want) + 1} {
		sameStrings(t, fmt.Sprintf("paged by %d", n), pageAll(t, n, func(p meta.Page) []string { return listTags(t, s, repo.ID, p) }), want)
	}
	sameStrings(t, "after Z", listTags(t, s, repo.ID, meta.Page{Last: "Z", N: 2}), want[slices.Index(want, "Z")+1:][:2])
	sameStrings(t, "after an absent tag", listTags(t, s, repo.ID, meta.Page{Last: "v1.1", N: 100}), after(want, "v1.1"))
	sameStrings(t, "after the last", listTags(t, s, repo.ID, meta.Page{Last: "v1.2-rc1", N: 100}), nil)
	sameStrings(t, "other repository", listTags(t, s, other.ID, meta.Page{N: 100}), []string{"only-in-other"})
	sameStrings(t, "repository without tags", listTags(t, s, empty.ID, meta.Page{N: 100}), nil)
}

func testListTagsListEnabled(t *testing.T, s meta.Store) {
	as, isSetter := s.(AttributeSetter)
	if !isSetter {
		t.Skip("store does not implement metatest.AttributeSetter")
	}
	ctx := t.Context()
	reg := mkRegistry(t, s, "alpha")
	repo := mkRepo(t, s, reg.ID, "app")
	m := mkManifest(t, s, repo.ID, "m")
	for _, n := range []string{"a", "b", "c"} {
		putTag(t, s, repo.ID, n, m, at(0))
	}
	a := meta.DefaultAttributes()
	a.ListEnabled = false
	ok(t, "SetTagAttributes", as.SetTagAttributes(ctx, repo.ID, "b", a))
	sameStrings(t, "ListTags", listTags(t, s, repo.ID, meta.Page{N: 10}), []string{"a", "c"})
	sameStrings(t, "ListTags after a", listTags(t, s, repo.ID, meta.Page{Last: "a", N: 1}), []string{"c"})
	tg, err := s.Read().GetTag(ctx, repo.ID, "b")
	ok(t, "GetTag of an unlisted tag", err)
	if tg.Attributes != a {
		t.Errorf("tag attributes = %+v, want %+v", tg.Attributes, a)
	}
}

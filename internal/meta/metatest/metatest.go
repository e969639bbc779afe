// Package metatest is the conformance suite every metadata backend must
// pass. A backend's own test calls Run with a constructor for a fresh, empty
// store:
//
//	func TestConformance(t *testing.T) {
//		metatest.Run(t, func(t *testing.T) meta.Store { return open(t) })
//	}
//
// Run closes each store it opens when the subtest using it ends.
package metatest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// AttributeSetter is implemented by stores (or by a backend test's wrapper
// around one) that can change the attributes of repositories and tags. The
// subtests checking that listEnabled is respected skip without it.
type AttributeSetter interface {
	SetRepositoryAttributes(ctx context.Context, repositoryID int64, a meta.Attributes) error
	SetTagAttributes(ctx context.Context, repositoryID int64, tag string, a meta.Attributes) error
}

// Run runs the suite. Subtests run in parallel, each on its own store.
func Run(t *testing.T, open func(t *testing.T) meta.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s meta.Store)
	}{
		{"Ping", testPing},
		{"Registries", testRegistries},
		{"RegistryConflict", testRegistryConflict},
		{"ListRegistries", testListRegistries},
		{"UpdateAndDeleteRegistry", testUpdateDeleteRegistry},
		{"Repositories", testRepositories},
		{"ListRepositories", testListRepositories},
		{"ListRepositoriesListEnabled", testListRepositoriesListEnabled},
		{"Blobs", testBlobs},
		{"Manifests", testManifests},
		{"ManifestSameDigestTwoRepositories", testManifestTwoRepositories},
		{"DeleteManifestCascadesTags", testDeleteManifest},
		{"Referrers", testReferrers},
		{"Tags", testTags},
		{"ListTags", testListTags},
		{"ListTagsListEnabled", testListTagsListEnabled},
		{"Uploads", testUploads},
		{"Outbox", testOutbox},
		{"TxRollback", testTxRollback},
		{"TxRollbackKeepsExisting", testTxRollbackKeepsExisting},
		{"TxIsolation", testTxIsolation},
		{"ReadRefusesWrites", testReadRefusesWrites},
		{"ConcurrentTx", testConcurrentTx},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

// base is a fixed time with microsecond precision, which every backend keeps.
var base = time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)

func at(sec int) time.Time { return base.Add(time.Duration(sec) * time.Second) }

func tx(t *testing.T, s meta.Store, fn func(q meta.Queries) error) {
	t.Helper()
	if err := s.Tx(t.Context(), fn); err != nil {
		t.Fatalf("Tx: %v", err)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func ok(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func sameStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

func mkRegistry(t *testing.T, s meta.Store, name string) *meta.Registry {
	t.Helper()
	r := &meta.Registry{Name: name, LoginServer: name + ".example.com", SKU: "Standard", CreatedAt: at(0), UpdatedAt: at(1)}
	tx(t, s, func(q meta.Queries) error { return q.CreateRegistry(t.Context(), r) })
	if r.ID == 0 {
		t.Fatal("CreateRegistry left ID 0")
	}
	return r
}

func mkRepo(t *testing.T, s meta.Store, regID int64, name string) *meta.Repository {
	t.Helper()
	var r *meta.Repository
	tx(t, s, func(q meta.Queries) error {
		var err error
		r, err = q.EnsureRepository(t.Context(), regID, name)
		return err
	})
	return r
}

// newManifest builds an image manifest row whose content is derived from seed.
func newManifest(repoID int64, seed string) *meta.Manifest {
	content := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","seed":"` + seed + `"}`)
	return &meta.Manifest{
		RepositoryID:    repoID,
		Digest:          digest.FromBytes(content),
		MediaType:       "application/vnd.oci.image.manifest.v1+json",
		ConfigMediaType: "application/vnd.oci.image.config.v1+json",
		Size:            int64(len(content)),
		ImageSize:       int64(len(content)) + 100,
		Content:         content,
		CreatedAt:       at(10),
		UpdatedAt:       at(11),
	}
}

func putManifest(t *testing.T, s meta.Store, m *meta.Manifest) *meta.Manifest {
	t.Helper()
	tx(t, s, func(q meta.Queries) error {
		created, err := q.PutManifest(t.Context(), m)
		if err == nil && !created {
			return fmt.Errorf("PutManifest(%s) did not create", m.Digest)
		}
		return err
	})
	if m.ID == 0 {
		t.Fatal("PutManifest left ID 0")
	}
	return m
}

func mkManifest(t *testing.T, s meta.Store, repoID int64, seed string) *meta.Manifest {
	t.Helper()
	return putManifest(t, s, newManifest(repoID, seed))
}

func putTag(t *testing.T, s meta.Store, repoID int64, name string, m *meta.Manifest, when time.Time) {
	t.Helper()
	tx(t, s, func(q meta.Queries) error { return q.PutTag(t.Context(), repoID, name, m.ID, when) })
}

func testPing(t *testing.T, s meta.Store) {
	ok(t, "Ping", s.Ping(t.Context()))
}

func checkRegistry(t *testing.T, got *meta.Registry, want *meta.Registry) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.LoginServer != want.LoginServer || got.SKU != want.SKU {
		t.Errorf("registry = %+v, want %+v", got, want)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}

func testRegistries(t *testing.T, s meta.Store) {
	ctx := t.Context()
	r := mkRegistry(t, s, "alpha")
	other := mkRegistry(t, s, "beta")
	if other.ID == r.ID {
		t.Fatalf("two registries share ID %d", r.ID)
	}
	got, err := s.Read().GetRegistry(ctx, "alpha")
	ok(t, "GetRegistry", err)
	checkRegistry(t, got, r)
	got, err = s.Read().RegistryByLoginServer(ctx, "alpha.example.com")
	ok(t, "RegistryByLoginServer", err)
	checkRegistry(t, got, r)
	// Reads inside a transaction see the same.
	tx(t, s, func(q meta.Queries) error {
		got, err := q.GetRegistry(ctx, "beta")
		if err == nil {
			checkRegistry(t, got, other)
		}
		return err
	})
	for _, name := range []string{"nope", "ALPHA", "alpha.example.com", ""} {
		_, err = s.Read().GetRegistry(ctx, name)
		wantErr(t, fmt.Sprintf("GetRegistry(%q)", name), err, meta.ErrNotFound)
	}
	for _, host := range []string{"nope.example.com", "alpha", ""} {
		_, err = s.Read().RegistryByLoginServer(ctx, host)
		wantErr(t, fmt.Sprintf("RegistryByLoginServer(%q)", host), err, meta.ErrNotFound)
	}
}

func testRegistryConflict(t *testing.T, s meta.Store) {
	ctx := t.Context()
	r := mkRegistry(t, s, "alpha")
	tests := []struct {
		name string
		reg  meta.Registry
	}{
		{"same name", meta.Registry{Name: "alpha", LoginServer: "elsewhere.example.com", SKU: "Basic"}},
		{"same login server", meta.Registry{Name: "gamma", LoginServer: "alpha.example.com", SKU: "Basic"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := tt.reg
			reg.CreatedAt, reg.UpdatedAt = at(5), at(5)
			err := s.Tx(ctx, func(q meta.Queries) error { return q.CreateRegistry(ctx, &reg) })
			wantErr(t, "CreateRegistry", err, meta.ErrConflict)
		})
	}
	got, err := s.Read().GetRegistry(ctx, "alpha")
	ok(t, "GetRegistry", err)
	checkRegistry(t, got, r)
	_, err = s.Read().GetRegistry(ctx, "gamma")
	wantErr(t, "GetRegistry(gamma)", err, meta.ErrNotFound)
	list, err := s.Read().ListRegistries(ctx, meta.Page{N: 10})
	ok(t, "ListRegistries", err)
	if len(list) != 1 {
		t.Fatalf("ListRegistries = %d registries after conflicts, want 1", len(list))
	}
}

func testUpdateDeleteRegistry(t *testing.T, s meta.Store) {
	ctx := t.Context()
	r := &meta.Registry{Name: "alpha", LoginServer: "alpha.example.com", SKU: "Basic",
		Settings: meta.RegistrySettings{AdminEnabled: true}, CreatedAt: at(0), UpdatedAt: at(0)}
	tx(t, s, func(q meta.Queries) error { return q.CreateRegistry(ctx, r) })
	keep := mkRegistry(t, s, "beta")
	got, err := s.Read().GetRegistry(ctx, "alpha")
	ok(t, "GetRegistry", err)
	if got.Settings != r.Settings {
		t.Fatalf("settings = %+v, want %+v", got.Settings, r.Settings)
	}

	upd := *got
	upd.SKU, upd.Settings, upd.UpdatedAt = "Premium", meta.RegistrySettings{AnonymousPull: true}, at(50)
	upd.Name, upd.LoginServer = "renamed", "renamed.example.com" // not changeable
	tx(t, s, func(q meta.Queries) error { return q.UpdateRegistry(ctx, &upd) })
	got, err = s.Read().GetRegistry(ctx, "alpha")
	ok(t, "GetRegistry after UpdateRegistry", err)
	if got.SKU != "Premium" || got.Settings != upd.Settings || got.LoginServer != "alpha.example.com" {
		t.Fatalf("updated registry = %+v", got)
	}
	sameTime(t, "UpdatedAt", got.UpdatedAt, at(50))
	sameTime(t, "CreatedAt", got.CreatedAt, at(0))
	missing := upd
	missing.ID = r.ID + keep.ID + 100
	err = s.Tx(ctx, func(q meta.Queries) error { return q.UpdateRegistry(ctx, &missing) })
	wantErr(t, "UpdateRegistry of an unknown registry", err, meta.ErrNotFound)

	repo := mkRepo(t, s, r.ID, "app")
	m := mkManifest(t, s, repo.ID, "m")
	putTag(t, s, repo.ID, "latest", m, at(1))
	tx(t, s, func(q meta.Queries) error {
		return q.CreateUpload(ctx, &meta.Upload{ID: "u1", RegistryID: r.ID, Repository: "app", CreatedAt: at(0)})
	})
	other := mkRepo(t, s, keep.ID, "app")
	mkManifest(t, s, other.ID, "m")

	tx(t, s, func(q meta.Queries) error { return q.DeleteRegistry(ctx, r.ID) })
	_, err = s.Read().GetRegistry(ctx, "alpha")
	wantErr(t, "GetRegistry after DeleteRegistry", err, meta.ErrNotFound)
	_, err = s.Read().GetRepository(ctx, r.ID, "app")
	wantErr(t, "GetRepository after DeleteRegistry", err, meta.ErrNotFound)
	_, err = s.Read().GetManifest(ctx, repo.ID, m.Digest, false)
	wantErr(t, "GetManifest after DeleteRegistry", err, meta.ErrNotFound)
	_, err = s.Read().GetTag(ctx, repo.ID, "latest")
	wantErr(t, "GetTag after DeleteRegistry", err, meta.ErrNotFound)
	_, err = s.Read().GetUpload(ctx, "u1")
	wantErr(t, "GetUpload after DeleteRegistry", err, meta.ErrNotFound)
	if _, err := s.Read().GetManifest(ctx, other.ID, m.Digest, false); err != nil {
		t.Fatalf("DeleteRegistry removed another registry's manifest: %v", err)
	}
	err = s.Tx(ctx, func(q meta.Queries) error { return q.DeleteRegistry(ctx, r.ID) })
	wantErr(t, "second DeleteRegistry", err, meta.ErrNotFound)
	// The name and login server are free again.
	mkRegistry(t, s, "alpha")
}

func testListRegistries(t *testing.T, s meta.Store) {
	ctx := t.Context()
	names := []string{"delta", "alpha", "echo", "charlie", "bravo"}
	for _, n := range names {
		mkRegistry(t, s, n)
	}
	sorted := slices.Sorted(slices.Values(names))
	list := func(p meta.Page) []string {
		rs, err := s.Read().ListRegistries(ctx, p)
		ok(t, "ListRegistries", err)
		var out []string
		for _, r := range rs {
			if r.ID == 0 || r.LoginServer != r.Name+".example.com" || r.SKU != "Standard" {
				t.Errorf("listed registry %+v is incomplete", r)
			}
			out = append(out, r.Name)
		}
		return out
	}
	tests := []struct {
		p    meta.Page
		want []string
	}{
		{meta.Page{N: 100}, sorted},
		{meta.Page{N: 2}, []string{"alpha", "bravo"}},
		{meta.Page{Last: "bravo", N: 2}, []string{"charlie", "delta"}},
		{meta.Page{Last: "delta", N: 2}, []string{"echo"}},
		{meta.Page{Last: "echo", N: 2}, nil},
		{meta.Page{Last: "b", N: 1}, []string{"bravo"}},
		{meta.Page{Last: "zzz", N: 5}, nil},
		{meta.Page{N: 5}, sorted},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("last=%q,n=%d", tt.p.Last, tt.p.N), func(t *testing.T) {
			sameStrings(t, "ListRegistries", list(tt.p), tt.want)
		})
	}
}

func testRepositories(t *testing.T, s meta.Store) {
	ctx := t.Context()
	reg := mkRegistry(t, s, "alpha")
	reg2 := mkRegistry(t, s, "beta")
	r := mkRepo(t, s, reg.ID, "library/app")
	if r.ID == 0 || r.RegistryID != reg.ID || r.Name != "library/app" {
		t.Fatalf("EnsureRepository = %+v", r)
	}
	if r.Attributes != meta.DefaultAttributes() {
		t.Errorf("new repository attributes = %+v, want %+v", r.Attributes, meta.DefaultAttributes())
	}
	if r.CreatedAt.IsZero() || r.UpdatedAt.IsZero() {
		t.Errorf("new repository times = %v, %v", r.CreatedAt, r.UpdatedAt)
	}
	again := mkRepo(t, s, reg.ID, "library/app")
	if again.ID != r.ID {
		t.Fatalf("second EnsureRepository ID = %d, want %d", again.ID, r.ID)
	}
	got, err := s.Read().GetRepository(ctx, reg.ID, "library/app")
	ok(t, "GetRepository", err)
	if got.ID != r.ID || got.Name != r.Name || got.RegistryID != reg.ID || got.Attributes != r.Attributes {
		t.Fatalf("GetRepository = %+v, want %+v", got, r)
	}
	other := mkRepo(t, s, reg2.ID, "library/app")
	if other.ID == r.ID || other.RegistryID != reg2.ID {
		t.Fatalf("same name in another registry = %+v, first %+v", other, r)
	}
	for _, tt := range []struct {
		reg  int64
		name string
	}{{reg.ID, "library"}, {reg.ID, "library/app/x"}, {reg.ID, "LIBRARY/APP"}, {reg.ID + reg2.ID + 100, "library/app"}} {
		_, err := s.Read().GetRepository(ctx, tt.reg, tt.name)
		wantErr(t, fmt.Sprintf("GetRepository(%d, %q)", tt.reg, tt.name), err, meta.ErrNotFound)
	}
	tx(t, s, func(q meta.Queries) error { return q.TouchRepository(ctx, r.ID, at(3600)) })
	got, err = s.Read().GetRepository(ctx, reg.ID, "library/app")
	ok(t, "GetRepository", err)
	sameTime(t, "UpdatedAt after TouchRepository", got.UpdatedAt, at(3600))
	sameTime(t, "CreatedAt after TouchRepository", got.CreatedAt, r.CreatedAt)
	got, err = s.Read().GetRepository(ctx, reg2.ID, "library/app")
	ok(t, "GetRepository", err)
	if got.UpdatedAt.Equal(at(3600)) {
		t.Error("TouchRepository changed another repository")
	}
}

// repoNames sort differently byte-wise than in most locales; listings are byte-wise.
var repoNames = []string{"b", "a/b", "a-b", "a_b", "ab", "a.b", "c/d/e", "a", "a0"}

func listRepos(t *testing.T, s meta.Store, regID int64, p meta.Page) []string {
	t.Helper()
	names, err := s.Read().ListRepositories(t.Context(), regID, p)
	ok(t, "ListRepositories", err)
	return names
}

// after returns the names of sorted that come after last byte-wise.
func after(sorted []string, last string) []string {
	var out []string
	for _, n := range sorted {
		if n > last {
			out = append(out, n)
		}
	}
	return out
}

// pageAll walks a listing n at a time and returns everything it saw.
func pageAll(t *testing.T, n int, list func(p meta.Page) []string) []string {
	t.Helper()
	var all []string
	p := meta.Page{N: n}
	for i := 0; ; i++ {
		if i > 100 {
			t.Fatal("paging does not end")
		}
		page := list(p)
		if len(page) > n {
			t.Fatalf("page of %d entries for n=%d", len(page), n)
		}
		all = append(all, page...)
		if len(page) < n {
			return all
		}
		p.Last = page[len(page)-1]
	}
}

func testListRepositories(t *testing.T, s meta.Store) {
	ctx := t.Context()
	reg := mkRegistry(t, s, "alpha")
	reg2 := mkRegistry(t, s, "beta")
	repos := map[string]*meta.Repository{}
	manifests := map[string]*meta.Manifest{}
	for _, n := range repoNames {
		repos[n] = mkRepo(t, s, reg.ID, n)
		manifests[n] = mkManifest(t, s, repos[n].ID, n)
	}
	mkRepo(t, s, reg.ID, "empty")                // no manifest: not listed
	mkRepo(t, s, reg.ID, "empty/with-blob")      // a linked blob is not enough
	o := mkRepo(t, s, reg2.ID, "other-registry") // another registry's
	mkManifest(t, s, o.ID, "other")
	tx(t, s, func(q meta.Queries) error {
		d := digest.FromString("blob")
		if err := q.PutBlob(ctx, d, 4, at(0)); err != nil {
			return err
		}
		r, err := q.GetRepository(ctx, reg.ID, "empty/with-blob")
		if err != nil {
			return err
		}
		return q.LinkBlob(ctx, r.ID, d, at(0))
	})

	want := slices.Sorted(slices.Values(repoNames))
	sameStrings(t, "all repositories", listRepos(t, s, reg.ID, meta.Page{N: 1000}), want)
	for _, n := range []int{1, 2, 3, len(want), len(want) + 1} {
		got := pageAll(t, n, func(p meta.Page) []string { return listRepos(t, s, reg.ID, p) })
		sameStrings(t, fmt.Sprintf("paged by %d", n), got, want)
	}
	sameStrings(t, "after a/b", listRepos(t, s, reg.ID, meta.Page{Last: "a/b", N: 2}), want[slices.Index(want, "a/b")+1:][:2])
	sameStrings(t, "after an absent name", listRepos(t, s, reg.ID, meta.Page{Last: "a1", N: 100}), after(want, "a1"))
	sameStrings(t, "after the last", listRepos(t, s, reg.ID, meta.Page{Last: "c/d/e", N: 100}), nil)
	sameStrings(t, "other registry", listRepos(t, s, reg2.ID, meta.Page{N: 100}), []string{"other-registry"})
	sameStrings(t, "unknown registry", listRepos(t, s, reg.ID+reg2.ID+100, meta.Page{N: 100}), nil)

	// A repository whose last manifest goes is no longer listed.
	tx(t, s, func(q meta.Queries) error { return q.DeleteManifest(ctx, repos["b"].ID, manifests["b"].Digest) })
	sameStrings(t, "after deleting b's manifest", listRepos(t, s, reg.ID, meta.Page{N: 1000}), slices.DeleteFunc(slices.Clone(want), func(n string) bool { return n == "b" }))
}

func testListRepositoriesListEnabled(t *testing.T, s meta.Store) {
	as, isSetter := s.(AttributeSetter)
	if !isSetter {
		t.Skip("store does not implement metatest.AttributeSetter")
	}
	ctx := t.Context()
	reg := mkRegistry(t, s, "alpha")
	var hidden *meta.Repository
	for _, n := range []string{"a", "b", "c", "d"} {
		r := mkRepo(t, s, reg.ID, n)
		mkManifest(t, s, r.ID, n)
		if n == "b" {
			hidden = r
		}
	}
	a := meta.DefaultAttributes()
	a.ListEnabled = false
	ok(t, "SetRepositoryAttributes", as.SetRepositoryAttributes(ctx, hidden.ID, a))
	got, err := s.Read().GetRepository(ctx, reg.ID, "b")
	ok(t, "GetRepository", err)
	if got.Attributes != a {
		t.Fatalf("attributes = %+v, want %+v", got.Attributes, a)
	}
	sameStrings(t, "listing", listRepos(t, s, reg.ID, meta.Page{N: 100}), []string{"a", "c", "d"})
	sameStrings(t, "paged listing", pageAll(t, 1, func(p meta.Page) []string { return listRepos(t, s, reg.ID, p) }), []string{"a", "c", "d"})
	sameStrings(t, "after a", listRepos(t, s, reg.ID, meta.Page{Last: "a", N: 1}), []string{"c"})
}

func testBlobs(t *testing.T, s meta.Store) {
	ctx := t.Context()
	reg := mkRegistry(t, s, "alpha")
	reg2 := mkRegistry(t, s, "beta")
	a := mkRepo(t, s, reg.ID, "a")
	b := mkRepo(t, s, reg.ID, "b")
	c := mkRepo(t, s, reg2.ID, "c")
	d := digest.FromString("layer")
	other := digest.FromString("other")
	linked := func(repoID int64) (int64, error) { return s.Read().LinkedBlob(ctx, repoID, d) }
	linking := func(regID int64) []string {
		t.Helper()
		names, err := s.Read().ReposLinkingBlob(ctx, regID, d, 10)
		ok(t, "ReposLinkingBlob", err)
		return names
	}
	inRegistry := func(regID int64) bool { t.Helper(); return len(linking(regID)) > 0 }

	tx(t, s, func(q meta.Queries) error { return q.PutBlob(ctx, d, 5, at(0)) })
	tx(t, s, func(q meta.Queries) error { return q.PutBlob(ctx, d, 99, at(1)) }) // a no-op
	tx(t, s, func(q meta.Queries) error { return q.PutBlob(ctx, other, 7, at(0)) })
	_, err := linked(a.ID)
	wantErr(t, "LinkedBlob before LinkBlob", err, meta.ErrNotFound)
	if inRegistry(reg.ID) {
		t.Fatal("ReposLinkingBlob lists a repository before any link")
	}

	for range 2 {
		tx(t, s, func(q meta.Queries) error { return q.LinkBlob(ctx, a.ID, d, at(2)) })
	}
	n, err := linked(a.ID)
	ok(t, "LinkedBlob", err)
	if n != 5 {
		t.Fatalf("LinkedBlob size = %d, want 5 (the first PutBlob's)", n)
	}
	_, err = linked(b.ID)
	wantErr(t, "LinkedBlob in another repository", err, meta.ErrNotFound)
	_, err = s.Read().LinkedBlob(ctx, a.ID, other)
	wantErr(t, "LinkedBlob of an unlinked blob", err, meta.ErrNotFound)
	sameStrings(t, "ReposLinkingBlob", linking(reg.ID), []string{"a"})
	if inRegistry(reg2.ID) {
		t.Fatal("ReposLinkingBlob lists a repository of another registry")
	}

	err = s.Tx(ctx, func(q meta.Queries) error { return q.UnlinkBlob(ctx, b.ID, d) })
	wantErr(t, "UnlinkBlob where not linked", err, meta.ErrNotFound)
	tx(t, s, func(q meta.Queries) error { return q.UnlinkBlob(ctx, a.ID, d) })
	err = s.Tx(ctx, func(q meta.Queries) error { return q.UnlinkBlob(ctx, a.ID, d) })
	wantErr(t, "second UnlinkBlob", err, meta.ErrNotFound)
	_, err = linked(a.ID)
	wantErr(t, "LinkedBlob after UnlinkBlob", err, meta.ErrNotFound)
	if inRegistry(reg.ID) {
		t.Fatal("ReposLinkingBlob lists a repository after the only link went")
	}

	tx(t, s, func(q meta.Queries) error {
		if err := q.LinkBlob(ctx, b.ID, d, at(3)); err != nil {
			return err
		}
		return q.LinkBlob(ctx, c.ID, d, at(3))
	})
	sameStrings(t, "ReposLinkingBlob(registry 1)", linking(reg.ID), []string{"b"})
	sameStrings(t, "ReposLinkingBlob(registry 2)", linking(reg2.ID), []string{"c"})
	// Relinking after an unlink works.
	tx(t, s, func(q meta.Queries) error { return q.LinkBlob(ctx, a.ID, d, at(4)) })
	if n, err := linked(a.ID); err != nil || n != 5 {
		t.Fatalf("LinkedBlob after relink = %d, %v", n, err)
	}
	sameStrings(t, "ReposLinkingBlob after relink", linking(reg.ID), []string{"a", "b"})
	names, err := s.Read().ReposLinkingBlob(ctx, reg.ID, d, 1)
	ok(t, "ReposLinkingBlob(n=1)", err)
	sameStrings(t, "ReposLinkingBlob(n=1)", names, []string{"a"})
	names, err = s.Read().ReposLinkingBlob(ctx, reg.ID, other, 10)
	ok(t, "ReposLinkingBlob(unlinked)", err)
	sameStrings(t, "ReposLinkingBlob(unlinked)", names, nil)
}

func checkManifest(t *testing.T, got, want *meta.Manifest, withContent bool) {
	t.Helper()
	if got.ID != want.ID || got.RepositoryID != want.RepositoryID || got.Digest != want.Digest ||
		got.MediaType != want.MediaType || got.ArtifactType != want.ArtifactType ||
		got.ConfigMediaType != want.ConfigMediaType || got.Subject != want.Subject || got.Size != want.Size ||
		got.ImageSize != want.ImageSize || got.Architecture != want.Architecture || got.OS != want.OS {
		t.Errorf("manifest =\n\t%+v\nwant\n\t%+v", *got, *want)
	}
	if !maps.Equal(got.Annotations, want.Annotations) {
		t.Errorf("annotations = %v, want %v", got.Annotations, want.Annotations)
	}
	sameTime(t, "manifest CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "manifest UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	if got.Attributes != meta.DefaultAttributes() {
		t.Errorf("manifest attributes = %+v", got.Attributes)
	}
	if withContent && string(got.Content) != string(want.Content) {
		t.Errorf("content = %q, want %q", got.Content, want.Content)
	}
	if !withContent && got.Content != nil {
		t.Errorf("content loaded without withContent: %q", got.Content)
	}
}

func testManifests(t *testing.T, s meta.Store) {
	ctx := t.Context()
	reg := mkRegistry(t, s, "alpha")
	repo := mkRepo(t, s, reg.ID, "app")
	other := mkRepo(t, s, reg.ID, "other")
	layer := digest.FromString("layer")
	m := newManifest(repo.ID, "full")
	m.ArtifactType = "application/vnd.example.thing"
	m.Subject = digest.FromString("subject")
	m.Annotations = map[string]string{"org.opencontainers.image.created": "2024-05-06T07:08:09Z", "k": "v"}
	m.Architecture, m.OS = "arm64", "linux"
	// The same layer twice (as images with repeated empty layers have) and a child.
	m.Refs = []meta.Ref{{Digest: layer, Kind: meta.RefBlob}, {Digest: layer, Kind: meta.RefBlob},
		{Digest: digest.FromString("config"), Kind: meta.RefBlob}, {Digest: digest.FromString("child"), Kind: meta.RefManifest}}
	putManifest(t, s, m)

	for _, withContent := range []bool{false, true} {
		got, err := s.Read().GetManifest(ctx, repo.ID, m.Digest, withContent)
		ok(t, "GetManifest", err)
		checkManifest(t, got, m, withContent)
	}

	// A second put of the same digest is a no-op that reports the stored ID.
	dup := newManifest(repo.ID, "full")
	dup.ImageSize, dup.Architecture = 1, "s390x"
	var created bool
	tx(t, s, func(q meta.Queries) error {
		var err error
		created, err = q.PutManifest(ctx, dup)
		return err
	})
	if created || dup.ID != m.ID {
		t.Fatalf("second PutManifest = created %v, ID %d; want false, %d", created, dup.ID, m.ID)
	}
	got, err := s.Read().GetManifest(ctx, repo.ID, m.Digest, true)
	ok(t, "GetManifest", err)
	checkManifest(t, got, m, true)

	// A manifest without subject or annotations.
	plain := mkManifest(t, s, repo.ID, "plain")
	got, err = s.Read().GetManifest(ctx, repo.ID, plain.Digest, false)
	ok(t, "GetManifest(plain)", err)
	if got.Subject != "" || len(got.Annotations) != 0 || got.ArtifactType != "" {
		t.Errorf("plain manifest = subject %q, annotations %v, artifactType %q", got.Subject, got.Annotations, got.ArtifactType)
	}
	if got.ID == m.ID {
		t.Error("two manifests share an ID")
	}

	for _, tt := range []struct {
		repo int64
		d    digest.Digest
	}{{repo.ID, digest.FromString("absent")}, {other.ID, m.Digest}, {repo.ID, ""}} {
		for _, withContent := range []bool{false, true} {
			_, err := s.Read().GetManifest(ctx, tt.repo, tt.d, withContent)
			wantErr(t, fmt.Sprintf("GetManifest(%d, %q, %v)", tt.repo, tt.d, withContent), err, meta.ErrNotFound)
		}
	}
}

func testManifestTwoRepositories(t *testing.T, s meta.Store) {
	ctx := t.Context()
	reg := mkRegistry(t, s, "alpha")
	a := mkRepo(t, s, reg.ID, "a")
	b := mkRepo(t, s, reg.ID, "b")
	ma := mkManifest(t, s, a.ID, "shared")
	mb := mkManifest(t, s, b.ID, "shared") // created in b too
	if ma.Digest != mb.Digest || ma.ID == mb.ID {
		t.Fatalf("same content in two repositories: %s/%d and %s/%d", ma.Digest, ma.ID, mb.Digest, mb.ID)
	}
	tx(t, s, func(q meta.Queries) error { return q.DeleteManifest(ctx, a.ID, ma.Digest) })
	_, err := s.Read().GetManifest(ctx, a.ID, ma.Digest, false)
	wantErr(t, "GetManifest after delete", err, meta.ErrNotFound)
	if _, err := s.Read().GetManifest(ctx, b.ID, mb.Digest, false); err != nil {
		t.Fatalf("deleting from a removed b's manifest: %v", err)
	}
}

func testDeleteManifest(t *testing.T, s meta.Store) {
	ctx := t.Context()
	reg := mkRegistry(t, s, "alpha")
	repo := mkRepo(t, s, reg.ID, "app")
	other := mkRepo(t, s, reg.ID, "other")
	m1 := mkManifest(t, s, repo.ID, "one")
	m2 := mkManifest(t, s, repo.ID, "two")
	mo := mkManifest(t, s, other.ID, "one")
	putTag(t, s, repo.ID, "latest", m1, at(1))
	putTag(t, s, repo.ID, "v1", m1, at(1))
	putTag(t, s, repo.ID, "v2", m2, at(1))
	putTag(t, s, other.ID, "latest", mo, at(1))

	tx(t, s, func(q meta.Queries) error { return q.DeleteManifest(ctx, repo.ID, m1.Digest) })
	for _, tag := range []string{"latest", "v1"} {
		_, err := s.Read().GetTag(ctx, repo.ID, tag)
		wantErr(t, "GetTag("+tag+") after its manifest went", err, meta.ErrNotFound)
	}
	if tg, err := s.Read().GetTag(ctx, repo.ID, "v2"); err != nil || tg.Digest != m2.Digest {
		t.Fatalf("GetTag(v2) = %+v, %v", tg, err)
	}
	if tg, err := s.Read().GetTag(ctx, other.ID, "latest"); err != nil || tg.Digest != mo.Digest {
		t.Fatalf("other repository's tag = %+v, %v", tg, err)
	}
	tags, err := s.Read().ListTags(ctx, repo.ID, meta.Page{N: 10})
	ok(t, "ListTags", err)
	sameStrings(t, "ListTags", tags, []string{"v2"})
	_, err = s.Read().GetManifest(ctx, repo.ID, m1.Digest, false)
	wantErr(t, "GetManifest after delete", err, meta.ErrNotFound)
	err = s.Tx(ctx, func(q meta.Queries) error { return q.DeleteManifest(ctx, repo.ID, m1.Digest) })
	wantErr(t, "second DeleteManifest", err, meta.ErrNotFound)
	err = s.Tx(ctx, func(q meta.Queries) error { return q.DeleteManifest(ctx, repo.ID, digest.FromString("absent")) })
	wantErr(t, "DeleteManifest of an absent digest", err, meta.ErrNotFound)

	// The digest can be pushed again.
	again := newManifest(repo.ID, "one")
	putManifest(t, s, again)
	putTag(t, s, repo.ID, "latest", again, at(2))
	if tg, err := s.Read().GetTag(ctx, repo.ID, "latest"); err != nil || tg.ManifestID != again.ID {
		t.Fatalf("GetTag(latest) after repush = %+v, %v", tg, err)
	}
}

func referrerDigests(t *testing.T, s meta.Store, repoID int64, d digest.Digest, artifactType string) []string {
	t.Helper()
	ms, err := s.Read().Referrers(t.Context(), repoID, d, artifactType)
	ok(t, "Referrers", err)
	out := []string{}
	for _, m := range ms {
		if m.Subject != d {
			t.Errorf("referrer %s has subject %s, want %s", m.Digest, m.Subject, d)
		}
		if m.Content != nil {
			t.Errorf("referrer %s loaded with content", m.Digest)
		}
		out = append(out, m.Digest.String())
	}
	sort.Strings(out)
	return out
}

func testReferrers(t *testing.T, s meta.Store) {
	ctx := t.Context()
	reg := mkRegistry(t, s, "alpha")
	repo := mkRepo(t, s, reg.ID, "app")
	other := mkRepo(t, s, reg.ID, "other")
	subject := mkManifest(t, s, repo.ID, "subject")
	const (
		sig   = "application/vnd.example.signature"
		sbom  = "application/vnd.example.sbom"
		empty = "application/vnd.oci.empty.v1+json"
	)
	ref := func(repoID int64, seed, artifactType, configType string, subj digest.Digest) *meta.Manifest {
		m := newManifest(repoID, seed)
		m.ArtifactType, m.ConfigMediaType, m.Subject = artifactType, configType, subj
		m.Annotations = map[string]string{"seed": seed}
		return putManifest(t, s, m)
	}
	a := ref(repo.ID, "a", sig, empty, subject.Digest)
	b := ref(repo.ID, "b", "", sbom, subject.Digest) // typed by its config
	c := ref(repo.ID, "c", sbom, empty, subject.Digest)
	d := ref(repo.ID, "d", "application/vnd.example.other", sbom, subject.Digest) // artifactType wins over config
	ref(repo.ID, "e", sig, empty, digest.FromString("another subject"))
	f := ref(other.ID, "f", sig, empty, subject.Digest)
	digests := func(ms ...*meta.Manifest) []string {
		out := []string{}
		for _, m := range ms {
			out = append(out, m.Digest.String())
		}
		sort.Strings(out)
		return out
	}
	tests := []struct {
		name         string
		repo         int64
		subject      digest.Digest
		artifactType string
		want         []string
	}{
		{"all", repo.ID, subject.Digest, "", digests(a, b, c, d)},
		{"signature", repo.ID, subject.Digest, sig, digests(a)},
		{"sbom by artifactType or config fallback", repo.ID, subject.Digest, sbom, digests(b, c)},
		{"config type of typed artifacts", repo.ID, subject.Digest, empty, digests()},
		{"unknown type", repo.ID, subject.Digest, "application/unknown", digests()},
		{"unknown subject", repo.ID, digest.FromString("nothing refers"), "", digests()},
		{"other repository", other.ID, subject.Digest, "", digests(f)},
		{"other repository filtered", other.ID, subject.Digest, sbom, digests()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sameStrings(t, "Referrers", referrerDigests(t, s, tt.repo, tt.subject, tt.artifactType), tt.want)
		})
	}
	ms, err := s.Read().Referrers(ctx, repo.ID, subject.Digest, sig)
	ok(t, "Referrers", err)
	if len(ms) == 1 {
		checkManifest(t, &ms[0], a, false)
	}
	tx(t, s, func(q meta.Queries) error { return q.DeleteManifest(ctx, repo.ID, c.Digest) })
	sameStrings(t, "after deleting c", referrerDigests(t, s, repo.ID, subject.Digest, sbom), digests(b))
}

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

func testUploads(t *testing.T, s meta.Store) {
	ctx := t.Context()
	reg := mkRegistry(t, s, "alpha")
	u := &meta.Upload{ID: "3f1e2d4c-0000-4000-8000-000000000001", RegistryID: reg.ID, Repository: "library/app", CreatedAt: at(7)}
	tx(t, s, func(q meta.Queries) error { return q.CreateUpload(ctx, u) })
	got, err := s.Read().GetUpload(ctx, u.ID)
	ok(t, "GetUpload", err)
	if got.ID != u.ID || got.RegistryID != u.RegistryID || got.Repository != u.Repository {
		t.Fatalf("GetUpload = %+v, want %+v", got, u)
	}
	sameTime(t, "upload CreatedAt", got.CreatedAt, u.CreatedAt)

	dup := *u
	dup.Repository = "elsewhere"
	err = s.Tx(ctx, func(q meta.Queries) error { return q.CreateUpload(ctx, &dup) })
	wantErr(t, "CreateUpload with a taken id", err, meta.ErrConflict)
	if got, _ := s.Read().GetUpload(ctx, u.ID); got == nil || got.Repository != u.Repository {
		t.Fatalf("conflicting CreateUpload changed the session: %+v", got)
	}

	_, err = s.Read().GetUpload(ctx, "unknown")
	wantErr(t, "GetUpload(unknown)", err, meta.ErrNotFound)
	tx(t, s, func(q meta.Queries) error { return q.DeleteUpload(ctx, u.ID) })
	_, err = s.Read().GetUpload(ctx, u.ID)
	wantErr(t, "GetUpload after DeleteUpload", err, meta.ErrNotFound)
	err = s.Tx(ctx, func(q meta.Queries) error { return q.DeleteUpload(ctx, u.ID) })
	wantErr(t, "second DeleteUpload", err, meta.ErrNotFound)
}

func checkEvent(t *testing.T, got, want meta.Event) {
	t.Helper()
	if got.ID != want.ID || got.RegistryID != want.RegistryID || got.Action != want.Action || got.Repository != want.Repository ||
		got.Tag != want.Tag || got.Digest != want.Digest || got.MediaType != want.MediaType || got.Size != want.Size ||
		string(got.Payload) != string(want.Payload) {
		t.Errorf("event =\n\t%+v\nwant\n\t%+v", got, want)
	}
	sameTime(t, "event CreatedAt", got.CreatedAt, want.CreatedAt)
}

func testOutbox(t *testing.T, s meta.Store) {
	ctx := t.Context()
	list := func(after int64, n int) []meta.Event {
		t.Helper()
		es, err := s.Read().ListEvents(ctx, after, n)
		ok(t, "ListEvents", err)
		return es
	}
	if es := list(0, 10); len(es) != 0 {
		t.Fatalf("new store has %d events", len(es))
	}
	var all []meta.Event
	for batch := range 3 {
		tx(t, s, func(q meta.Queries) error {
			for i := range 2 {
				k := batch*2 + i
				e := meta.Event{RegistryID: int64(1 + k%2), Action: []string{"push", "delete"}[k%2], Repository: fmt.Sprintf("repo%d", k),
					Digest: digest.FromString(fmt.Sprint(k)), MediaType: "application/vnd.oci.image.manifest.v1+json",
					Size: int64(100 + k), Payload: []byte(fmt.Sprintf(`{"n":%d}`, k)), CreatedAt: at(k)}
				if k%2 == 0 {
					e.Tag = fmt.Sprintf("v%d", k)
				}
				if err := q.AppendEvent(ctx, &e); err != nil {
					return err
				}
				if len(all) > 0 && e.ID <= all[len(all)-1].ID {
					return fmt.Errorf("event ID %d after %d", e.ID, all[len(all)-1].ID)
				}
				all = append(all, e)
			}
			return nil
		})
	}
	got := list(0, 100)
	if len(got) != len(all) {
		t.Fatalf("ListEvents = %d events, want %d", len(got), len(all))
	}
	for i := range all {
		checkEvent(t, got[i], all[i])
	}
	tests := []struct {
		after int64
		n     int
		want  []meta.Event
	}{
		{0, 2, all[:2]},
		{all[0].ID, 3, all[1:4]},
		{all[3].ID, 100, all[4:]},
		{all[len(all)-1].ID, 100, nil},
		{all[len(all)-1].ID + 1000, 100, nil},
	}
	for _, tt := range tests {
		got := list(tt.after, tt.n)
		if len(got) != len(tt.want) {
			t.Fatalf("ListEvents(%d, %d) = %d events, want %d", tt.after, tt.n, len(got), len(tt.want))
		}
		for i := range got {
			checkEvent(t, got[i], tt.want[i])
		}
	}
}

var errBoom = errors.New("boom")

func testTxRollback(t *testing.T, s meta.Store) {
	ctx := t.Context()
	d := digest.FromString("layer")
	var m *meta.Manifest
	err := s.Tx(ctx, func(q meta.Queries) error {
		reg := &meta.Registry{Name: "ghost", LoginServer: "ghost.example.com", SKU: "Standard", CreatedAt: at(0), UpdatedAt: at(0)}
		if err := q.CreateRegistry(ctx, reg); err != nil {
			return err
		}
		repo, err := q.EnsureRepository(ctx, reg.ID, "app")
		if err != nil {
			return err
		}
		if err := q.PutBlob(ctx, d, 5, at(0)); err != nil {
			return err
		}
		if err := q.LinkBlob(ctx, repo.ID, d, at(0)); err != nil {
			return err
		}
		m = newManifest(repo.ID, "ghost")
		if _, err := q.PutManifest(ctx, m); err != nil {
			return err
		}
		if err := q.PutTag(ctx, repo.ID, "latest", m.ID, at(0)); err != nil {
			return err
		}
		if err := q.CreateUpload(ctx, &meta.Upload{ID: "ghost-upload", RegistryID: reg.ID, Repository: "app", CreatedAt: at(0)}); err != nil {
			return err
		}
		if err := q.AppendEvent(ctx, &meta.Event{RegistryID: reg.ID, Action: "push", Repository: "app", Digest: m.Digest, Payload: []byte("{}"), CreatedAt: at(0)}); err != nil {
			return err
		}
		// Everything is visible inside the transaction.
		if _, err := q.GetTag(ctx, repo.ID, "latest"); err != nil {
			return fmt.Errorf("inside the transaction: %w", err)
		}
		return fmt.Errorf("wrapped: %w", errBoom)
	})
	wantErr(t, "Tx", err, errBoom)

	r := s.Read()
	_, err = r.GetRegistry(ctx, "ghost")
	wantErr(t, "GetRegistry after rollback", err, meta.ErrNotFound)
	_, err = r.RegistryByLoginServer(ctx, "ghost.example.com")
	wantErr(t, "RegistryByLoginServer after rollback", err, meta.ErrNotFound)
	if rs, err := r.ListRegistries(ctx, meta.Page{N: 10}); err != nil || len(rs) != 0 {
		t.Fatalf("ListRegistries after rollback = %v, %v", rs, err)
	}
	_, err = r.GetUpload(ctx, "ghost-upload")
	wantErr(t, "GetUpload after rollback", err, meta.ErrNotFound)
	if es, err := r.ListEvents(ctx, 0, 10); err != nil || len(es) != 0 {
		t.Fatalf("ListEvents after rollback = %v, %v", es, err)
	}
	_, err = r.GetManifest(ctx, m.RepositoryID, m.Digest, false)
	wantErr(t, "GetManifest after rollback", err, meta.ErrNotFound)

	// The same rows can be created afterwards: nothing half-exists.
	reg := mkRegistry(t, s, "ghost")
	repo := mkRepo(t, s, reg.ID, "app")
	mkManifest(t, s, repo.ID, "ghost")
	tx(t, s, func(q meta.Queries) error {
		return q.CreateUpload(ctx, &meta.Upload{ID: "ghost-upload", RegistryID: reg.ID, Repository: "app", CreatedAt: at(0)})
	})
}

func testTxRollbackKeepsExisting(t *testing.T, s meta.Store) {
	ctx := t.Context()
	reg := mkRegistry(t, s, "alpha")
	repo := mkRepo(t, s, reg.ID, "app")
	d := digest.FromString("layer")
	tx(t, s, func(q meta.Queries) error {
		if err := q.PutBlob(ctx, d, 5, at(0)); err != nil {
			return err
		}
		return q.LinkBlob(ctx, repo.ID, d, at(0))
	})
	m1 := mkManifest(t, s, repo.ID, "one")
	m2 := mkManifest(t, s, repo.ID, "two")
	putTag(t, s, repo.ID, "latest", m1, at(1))
	putTag(t, s, repo.ID, "keep", m2, at(1))
	tx(t, s, func(q meta.Queries) error {
		return q.CreateUpload(ctx, &meta.Upload{ID: "u1", RegistryID: reg.ID, Repository: "app", CreatedAt: at(0)})
	})

	tests := []struct {
		name string
		fn   func(q meta.Queries) error
	}{
		{"changes then error", func(q meta.Queries) error {
			if err := q.PutTag(ctx, repo.ID, "latest", m2.ID, at(9)); err != nil {
				return err
			}
			if err := q.DeleteTag(ctx, repo.ID, "keep"); err != nil {
				return err
			}
			if err := q.UnlinkBlob(ctx, repo.ID, d); err != nil {
				return err
			}
			if err := q.DeleteUpload(ctx, "u1"); err != nil {
				return err
			}
			if err := q.TouchRepository(ctx, repo.ID, at(9)); err != nil {
				return err
			}
			return errBoom
		}},
		{"delete manifest then error", func(q meta.Queries) error {
			if err := q.DeleteManifest(ctx, repo.ID, m1.Digest); err != nil {
				return err
			}
			return errBoom
		}},
		{"store error after a write", func(q meta.Queries) error {
			if err := q.PutTag(ctx, repo.ID, "new", m1.ID, at(9)); err != nil {
				return err
			}
			return q.CreateRegistry(ctx, &meta.Registry{Name: "alpha", LoginServer: "x.example.com", SKU: "Standard", CreatedAt: at(0), UpdatedAt: at(0)})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Tx(ctx, tt.fn); err == nil {
				t.Fatal("Tx succeeded")
			}
			r := s.Read()
			if tg, err := r.GetTag(ctx, repo.ID, "latest"); err != nil || tg.ManifestID != m1.ID {
				t.Errorf("tag latest = %+v, %v; want manifest %d", tg, err, m1.ID)
			}
			if _, err := r.GetTag(ctx, repo.ID, "keep"); err != nil {
				t.Errorf("tag keep: %v", err)
			}
			_, err := r.GetTag(ctx, repo.ID, "new")
			wantErr(t, "GetTag(new)", err, meta.ErrNotFound)
			if _, err := r.GetManifest(ctx, repo.ID, m1.Digest, false); err != nil {
				t.Errorf("manifest one: %v", err)
			}
			if _, err := r.LinkedBlob(ctx, repo.ID, d); err != nil {
				t.Errorf("blob link: %v", err)
			}
			if _, err := r.GetUpload(ctx, "u1"); err != nil {
				t.Errorf("upload: %v", err)
			}
			if got, err := r.GetRepository(ctx, reg.ID, "app"); err != nil || got.UpdatedAt.Equal(at(9)) {
				t.Errorf("repository = %+v, %v; the touch was not rolled back", got, err)
			}
		})
	}
}

func testTxIsolation(t *testing.T, s meta.Store) {
	ctx := t.Context()
	tx(t, s, func(q meta.Queries) error {
		r := &meta.Registry{Name: "pending", LoginServer: "pending.example.com", SKU: "Standard", CreatedAt: at(0), UpdatedAt: at(0)}
		if err := q.CreateRegistry(ctx, r); err != nil {
			return err
		}
		if _, err := s.Read().GetRegistry(ctx, "pending"); !errors.Is(err, meta.ErrNotFound) {
			return fmt.Errorf("a read outside the transaction saw its uncommitted registry (err = %v)", err)
		}
		return nil
	})
	if _, err := s.Read().GetRegistry(ctx, "pending"); err != nil {
		t.Fatalf("committed registry not visible: %v", err)
	}
}

func testReadRefusesWrites(t *testing.T, s meta.Store) {
	ctx := t.Context()
	reg := mkRegistry(t, s, "alpha")
	repo := mkRepo(t, s, reg.ID, "app")
	d := digest.FromString("linked")
	d2 := digest.FromString("recorded")
	tx(t, s, func(q meta.Queries) error {
		for _, x := range []digest.Digest{d, d2} {
			if err := q.PutBlob(ctx, x, 6, at(0)); err != nil {
				return err
			}
		}
		return q.LinkBlob(ctx, repo.ID, d, at(0))
	})
	m := mkManifest(t, s, repo.ID, "m")
	putTag(t, s, repo.ID, "latest", m, at(0))
	tx(t, s, func(q meta.Queries) error {
		return q.CreateUpload(ctx, &meta.Upload{ID: "u1", RegistryID: reg.ID, Repository: "app", CreatedAt: at(0)})
	})
	m2 := newManifest(repo.ID, "m2")
	r := s.Read()
	tests := []struct {
		name  string
		write func() error
		check func() error // nil when the write had no effect
	}{
		{"CreateRegistry", func() error {
			return r.CreateRegistry(ctx, &meta.Registry{Name: "new", LoginServer: "new.example.com", SKU: "Standard", CreatedAt: at(0), UpdatedAt: at(0)})
		}, func() error { return absent(r.GetRegistry(ctx, "new")) }},
		{"EnsureRepository", func() error { _, err := r.EnsureRepository(ctx, reg.ID, "new"); return err },
			func() error { return absent(r.GetRepository(ctx, reg.ID, "new")) }},
		{"TouchRepository", func() error { return r.TouchRepository(ctx, repo.ID, at(999)) }, func() error {
			got, err := r.GetRepository(ctx, reg.ID, "app")
			if err == nil && got.UpdatedAt.Equal(at(999)) {
				return errors.New("repository touched")
			}
			return err
		}},
		{"PutBlob", func() error { return r.PutBlob(ctx, digest.FromString("new"), 3, at(0)) }, nil},
		{"LinkBlob", func() error { return r.LinkBlob(ctx, repo.ID, d2, at(0)) },
			func() error { _, err := r.LinkedBlob(ctx, repo.ID, d2); return absentErr(err) }},
		{"UnlinkBlob", func() error { return r.UnlinkBlob(ctx, repo.ID, d) },
			func() error { _, err := r.LinkedBlob(ctx, repo.ID, d); return err }},
		{"PutManifest", func() error { _, err := r.PutManifest(ctx, m2); return err },
			func() error { return absent(r.GetManifest(ctx, repo.ID, m2.Digest, false)) }},
		{"DeleteManifest", func() error { return r.DeleteManifest(ctx, repo.ID, m.Digest) },
			func() error { _, err := r.GetManifest(ctx, repo.ID, m.Digest, false); return err }},
		{"PutTag new", func() error { return r.PutTag(ctx, repo.ID, "new", m.ID, at(0)) },
			func() error { return absent(r.GetTag(ctx, repo.ID, "new")) }},
		{"DeleteTag", func() error { return r.DeleteTag(ctx, repo.ID, "latest") },
			func() error { _, err := r.GetTag(ctx, repo.ID, "latest"); return err }},
		{"CreateUpload", func() error {
			return r.CreateUpload(ctx, &meta.Upload{ID: "u2", RegistryID: reg.ID, Repository: "app", CreatedAt: at(0)})
		}, func() error { return absent(r.GetUpload(ctx, "u2")) }},
		{"DeleteUpload", func() error { return r.DeleteUpload(ctx, "u1") },
			func() error { _, err := r.GetUpload(ctx, "u1"); return err }},
		{"AppendEvent", func() error {
			return r.AppendEvent(ctx, &meta.Event{RegistryID: reg.ID, Action: "push", Repository: "app", Payload: []byte("{}"), CreatedAt: at(0)})
		}, func() error {
			es, err := r.ListEvents(ctx, 0, 10)
			if err == nil && len(es) != 0 {
				return fmt.Errorf("%d events written", len(es))
			}
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.write(); err == nil {
				t.Errorf("%s through Read() succeeded", tt.name)
			}
			if tt.check != nil {
				if err := tt.check(); err != nil {
					t.Errorf("%s through Read() had an effect: %v", tt.name, err)
				}
			}
		})
	}
}

// absent turns "found" into an error and ErrNotFound into nil.
func absent[T any](_ T, err error) error { return absentErr(err) }

func absentErr(err error) error {
	switch {
	case errors.Is(err, meta.ErrNotFound):
		return nil
	case err == nil:
		return errors.New("the row exists")
	}
	return err
}

func testConcurrentTx(t *testing.T, s meta.Store) {
	ctx := t.Context()
	reg := mkRegistry(t, s, "alpha")
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	repoIDs := make([]int64, n)
	created := make([]bool, n)
	manifestIDs := make([]int64, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Tx(ctx, func(q meta.Queries) error {
				repo, err := q.EnsureRepository(ctx, reg.ID, "shared")
				if err != nil {
					return err
				}
				repoIDs[i] = repo.ID
				m := newManifest(repo.ID, "same")
				if created[i], err = q.PutManifest(ctx, m); err != nil {
					return err
				}
				manifestIDs[i] = m.ID
				own := newManifest(repo.ID, fmt.Sprint("own", i))
				if _, err := q.PutManifest(ctx, own); err != nil {
					return err
				}
				return q.PutTag(ctx, repo.ID, fmt.Sprint("t", i), own.ID, at(i))
			})
			// Reads run alongside the writers.
			if _, err := s.Read().ListTags(ctx, 1, meta.Page{N: 10}); err != nil && errs[i] == nil {
				errs[i] = err
			}
		})
	}
	wg.Wait()
	creates := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if repoIDs[i] != repoIDs[0] || manifestIDs[i] != manifestIDs[0] {
			t.Fatalf("goroutine %d saw repository %d manifest %d; goroutine 0 saw %d, %d", i, repoIDs[i], manifestIDs[i], repoIDs[0], manifestIDs[0])
		}
		if created[i] {
			creates++
		}
	}
	if creates != 1 {
		t.Fatalf("%d transactions created the same manifest, want 1", creates)
	}
	if tags := listTags(t, s, repoIDs[0], meta.Page{N: 100}); len(tags) != n {
		t.Fatalf("ListTags = %q, want %d tags", tags, n)
	}
}

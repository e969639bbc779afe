package metatest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

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
		if _, err := q.PutBlob(ctx, d, 4, at(0)); err != nil {
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

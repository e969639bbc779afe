package metatest

import (
	"fmt"
	"maps"
	"sort"
	"testing"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

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

	if !putBlob(t, s, d, 5, at(0)) {
		t.Fatal("PutBlob of a new blob: created = false")
	}
	if putBlob(t, s, d, 99, at(1)) { // a no-op
		t.Fatal("PutBlob of a recorded blob: created = true")
	}
	putBlob(t, s, other, 7, at(0))
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
	ms, err := s.Read().Referrers(t.Context(), repoID, d, artifactType, false)
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
	ms, err := s.Read().Referrers(ctx, repo.ID, subject.Digest, sig, false)
	ok(t, "Referrers", err)
	if len(ms) == 1 {
		checkManifest(t, &ms[0], a, false)
	}
	tx(t, s, func(q meta.Queries) error { return q.DeleteManifest(ctx, repo.ID, c.Digest) })
	sameStrings(t, "after deleting c", referrerDigests(t, s, repo.ID, subject.Digest, sbom), digests(b))
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

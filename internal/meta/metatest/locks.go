package metatest

import (
	"testing"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// testReadableBlob checks that a blob only read-locked manifests of a
// repository reference is reported unreadable there, and readable where
// no manifest references it or a readable one does.
func testReadableBlob(t *testing.T, s meta.Store) {
	ctx := t.Context()
	reg := mkRegistry(t, s, "alpha")
	repo := mkRepo(t, s, reg.ID, "app")
	other := mkRepo(t, s, reg.ID, "other")
	d := digest.FromString("layer")
	tx(t, s, func(q meta.Queries) error {
		if _, err := q.PutBlob(ctx, d, 5, at(0)); err != nil {
			return err
		}
		if err := q.LinkBlob(ctx, repo.ID, d, at(0)); err != nil {
			return err
		}
		return q.LinkBlob(ctx, other.ID, d, at(0))
	})
	readable := func(repoID int64) bool {
		t.Helper()
		size, r, err := s.Read().ReadableBlob(ctx, repoID, d)
		ok(t, "ReadableBlob", err)
		if size != 5 {
			t.Fatalf("ReadableBlob size %d, want 5", size)
		}
		return r
	}
	if !readable(repo.ID) {
		t.Fatal("a blob no manifest references is unreadable")
	}
	locked := newManifest(repo.ID, "locked")
	locked.Refs = []meta.Ref{{Digest: d, Kind: meta.RefBlob}}
	putManifest(t, s, locked)
	lock := meta.DefaultAttributes()
	lock.ReadEnabled = false
	tx(t, s, func(q meta.Queries) error { return q.SetManifestAttributes(ctx, repo.ID, locked.Digest, lock) })
	if readable(repo.ID) {
		t.Fatal("a blob only a read-locked manifest references is readable")
	}
	if !readable(other.ID) {
		t.Fatal("a lock in one repository hides the blob in another")
	}
	open := newManifest(repo.ID, "open")
	open.Refs = []meta.Ref{{Digest: d, Kind: meta.RefBlob}}
	putManifest(t, s, open)
	if !readable(repo.ID) {
		t.Fatal("a blob a readable manifest references is unreadable")
	}
	_, _, err := s.Read().ReadableBlob(ctx, repo.ID, digest.FromString("absent"))
	wantErr(t, "ReadableBlob of an unlinked blob", err, meta.ErrNotFound)
}

// testReferrersListEnabled checks that Referrers leaves out manifests with
// listEnabled=false unless asked for hidden ones (lifecycle jobs).
func testReferrersListEnabled(t *testing.T, s meta.Store) {
	ctx := t.Context()
	reg := mkRegistry(t, s, "alpha")
	repo := mkRepo(t, s, reg.ID, "app")
	subject := mkManifest(t, s, repo.ID, "subject")
	var refs []*meta.Manifest
	for _, seed := range []string{"shown", "hidden"} {
		m := newManifest(repo.ID, seed)
		m.Subject = subject.Digest
		refs = append(refs, putManifest(t, s, m))
	}
	hide := meta.DefaultAttributes()
	hide.ListEnabled = false
	tx(t, s, func(q meta.Queries) error { return q.SetManifestAttributes(ctx, repo.ID, refs[1].Digest, hide) })
	sameStrings(t, "Referrers", referrerDigests(t, s, repo.ID, subject.Digest, ""), []string{refs[0].Digest.String()})
	all, err := s.Read().Referrers(ctx, repo.ID, subject.Digest, "", true)
	ok(t, "Referrers(hidden)", err)
	if len(all) != 2 {
		t.Fatalf("Referrers with hidden: %d manifests, want 2", len(all))
	}
}

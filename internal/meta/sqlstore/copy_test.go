package sqlstore

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// testCopyAll copies a SQLite store holding one digest referenced from two
// repositories into dst (a fresh store) and checks that every table's rows
// arrived and that each reference kept its repository: the link check
// answers per repository on dst, and dst takes new manifests.
func testCopyAll(t *testing.T, dst *Store) {
	ctx := t.Context()
	src := openTemp(t, t.TempDir())
	defer src.Close()
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	shared, onlyB := digest.FromString("shared"), digest.FromString("only-b")
	repos := map[string]int64{}
	err := src.Tx(ctx, func(q meta.Queries) error {
		reg := &meta.Registry{Name: "acre", LoginServer: "acre.localhost", SKU: "Standard", CreatedAt: at, UpdatedAt: at}
		if err := q.CreateRegistry(ctx, reg); err != nil {
			return err
		}
		for i, name := range []string{"a", "b"} {
			r, err := q.EnsureRepository(ctx, reg.ID, name)
			if err != nil {
				return err
			}
			repos[name] = r.ID
			m := benchManifest(r.ID, name, at)
			m.Refs = []meta.Ref{{Digest: shared}}
			if i == 1 {
				m.Refs = append(m.Refs, meta.Ref{Digest: onlyB})
			}
			if _, err := q.PutManifest(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	copied, err := CopyAll(ctx, src, dst)
	if err != nil {
		t.Fatalf("CopyAll: %v", err)
	}
	want, err := Counts(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Counts(ctx, dst)
	if err != nil || !maps.Equal(got, want) || copied["manifest_refs"] != 3 {
		t.Fatalf("after CopyAll: dst counts %v (%v), src %v, copied %v", got, err, want, copied)
	}
	for _, c := range []struct {
		repo string
		d    digest.Digest
		want bool
	}{{"a", shared, true}, {"b", shared, true}, {"a", onlyB, false}, {"b", onlyB, true}} {
		if ok, err := dst.Read().LinkReferenced(ctx, repos[c.repo], c.d); err != nil || ok != c.want {
			t.Errorf("copied LinkReferenced(%s, %s) = %v, %v; want %v", c.repo, c.d, ok, err, c.want)
		}
	}
	err = dst.Tx(ctx, func(q meta.Queries) error {
		m := benchManifest(repos["a"], "after", at)
		m.Refs = []meta.Ref{{Digest: onlyB}}
		if created, err := q.PutManifest(ctx, m); err != nil || !created {
			return fmt.Errorf("PutManifest after copying: %v, %v", created, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := dst.Read().LinkReferenced(ctx, repos["a"], onlyB); err != nil || !ok {
		t.Errorf("LinkReferenced after a push to the copy = %v, %v", ok, err)
	}
}

func TestCopyAll(t *testing.T) {
	dst := openTemp(t, t.TempDir())
	defer dst.Close()
	testCopyAll(t, dst)
}

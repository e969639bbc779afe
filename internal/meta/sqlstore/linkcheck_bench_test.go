package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// linkFixture is a registry with one repository of n image manifests, each
// referencing a shared base layer and a layer of its own, and a second
// repository of n manifests referencing another base layer ("popular"),
// which the first repository does not reference.
type linkFixture struct {
	store   *Store
	repo    int64
	own     digest.Digest // a layer one manifest of repo references
	base    digest.Digest // referenced by every manifest of repo
	popular digest.Digest // referenced by every manifest of the other repository
}

func newLinkFixture(b *testing.B, n int) *linkFixture {
	b.Helper()
	ctx := context.Background()
	s, err := OpenSQLite(ctx, filepath.Join(b.TempDir(), "meta.db"), Options{Synchronous: "normal"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	f := &linkFixture{store: s, base: digest.FromString("base"), popular: digest.FromString("popular")}
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	reg := &meta.Registry{Name: "bench", LoginServer: "bench.example.com", SKU: "Standard", CreatedAt: at, UpdatedAt: at}
	if err := s.Tx(ctx, func(q meta.Queries) error { return q.CreateRegistry(ctx, reg) }); err != nil {
		b.Fatal(err)
	}
	for _, r := range []struct {
		name   string
		shared digest.Digest
	}{{"big/app", f.base}, {"other/app", f.popular}} {
		var repo *meta.Repository
		for lo := 0; lo < n; lo += benchBatch {
			err := s.Tx(ctx, func(q meta.Queries) error {
				if repo, err = q.EnsureRepository(ctx, reg.ID, r.name); err != nil {
					return err
				}
				for i := lo; i < min(lo+benchBatch, n); i++ {
					key := fmt.Sprintf("%s-%d", r.name, i)
					m := benchManifest(repo.ID, key, at)
					m.Refs = []meta.Ref{{Digest: r.shared}, {Digest: digest.FromString(key)}}
					if _, err := q.PutManifest(ctx, m); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		if f.repo == 0 {
			f.repo, f.own = repo.ID, digest.FromString(fmt.Sprintf("%s-%d", r.name, n/2))
		}
	}
	return f
}

// BenchmarkLinkReferenced measures GC's check of a link (LinkReferenced)
// in a repository of 1,000 and of 20,000 manifests: a layer one manifest
// references, one none does (a deleted image's layer: the usual case in
// GC), and one that very many manifests of another repository reference.
// Each check should cost an index lookup, so the two sizes' ns/op should
// be close.
//
//	go test -run '^$' -bench LinkReferenced ./internal/meta/sqlstore/
func BenchmarkLinkReferenced(b *testing.B) {
	for _, n := range []int{1_000, 20_000} {
		b.Run(fmt.Sprintf("manifests=%d", n), func(b *testing.B) {
			f := newLinkFixture(b, n)
			for _, c := range []struct {
				name string
				d    digest.Digest
				want bool
			}{
				{"referenced", f.own, true},
				{"base", f.base, true},
				{"unreferenced", digest.FromString("gone"), false},
				{"popular-elsewhere", f.popular, false},
			} {
				b.Run(c.name, func(b *testing.B) {
					q := f.store.Read()
					for b.Loop() {
						got, err := q.LinkReferenced(context.Background(), f.repo, c.d)
						if err != nil || got != c.want {
							b.Fatalf("LinkReferenced = %v, %v; want %v", got, err, c.want)
						}
					}
				})
			}
		})
	}
}

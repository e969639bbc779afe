package sqlstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// The listing fixture: a registry of benchRepos small repositories (one
// manifest each) plus one repository holding benchTags tags (set
// ACRE_LISTING_BENCH_TAGS to change it, e.g. 1000000) on benchManifests
// manifests, every tag and manifest with its own update time.
const (
	benchRepos     = 10_000
	benchTags      = 100_000
	benchManifests = 4_000
	benchBatch     = 5_000 // inserts per transaction while seeding
	benchPage      = 100
	benchBigRepo   = "big/app"
	// benchStride spreads tag names over time: tag i is the stride*i mod
	// benchTags-th oldest, so name order and time order differ.
	benchStride = 7919
)

type listingFixture struct {
	dir      string
	store    *Store
	registry int64
	big      int64 // the repository with the tags

	// The keys of each listing in ascending order.
	repos             []string // by name
	tagsByName        []string
	tagsByTime        []string
	manifestsByDigest []string
	manifestsByTime   []string

	seedTime time.Duration
	tags     int // tags in the big repository
}

// benchFixture is built by the first benchmark that needs it and shared by
// the rest of the process; plain test runs never build it.
var benchFixture = sync.OnceValues(func() (*listingFixture, error) {
	dir, err := os.MkdirTemp("", "acre-listing-bench-")
	if err != nil {
		return nil, err
	}
	f := &listingFixture{dir: dir, tags: benchTags}
	if v, err := strconv.Atoi(os.Getenv("ACRE_LISTING_BENCH_TAGS")); err == nil && v > 0 {
		f.tags = v
	}
	benchCleanup = f.close
	start := time.Now()
	if err := f.seed(context.Background()); err != nil {
		return nil, err
	}
	f.seedTime = time.Since(start)
	return f, nil
})

// benchCleanup removes the fixture once the benchmarks are done, if one was
// built.
var benchCleanup func()

func (f *listingFixture) close() {
	if f.store != nil {
		f.store.Close()
	}
	os.RemoveAll(f.dir)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchCleanup != nil {
		benchCleanup()
	}
	os.Exit(code)
}

func getBenchFixture(b *testing.B) *listingFixture {
	b.Helper()
	f, err := benchFixture()
	if err != nil {
		b.Fatalf("seeding the listing fixture: %v", err)
	}
	return f
}

// inBatches calls fn for 0 <= i < n, benchBatch calls per transaction.
func (f *listingFixture) inBatches(ctx context.Context, n int, fn func(q meta.Queries, i int) error) error {
	for lo := 0; lo < n; lo += benchBatch {
		err := f.store.Tx(ctx, func(q meta.Queries) error {
			for i := lo; i < min(lo+benchBatch, n); i++ {
				if err := fn(q, i); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func benchManifest(repo int64, key string, at time.Time) *meta.Manifest {
	content := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","key":"` + key + `"}`)
	return &meta.Manifest{RepositoryID: repo, Digest: digest.FromBytes(content),
		MediaType: "application/vnd.oci.image.manifest.v1+json", ConfigMediaType: "application/vnd.oci.image.config.v1+json",
		Size: int64(len(content)), ImageSize: int64(len(content)), Architecture: "amd64", OS: "linux",
		Content: content, CreatedAt: at, UpdatedAt: at}
}

func (f *listingFixture) seed(ctx context.Context) error {
	s, err := OpenSQLite(ctx, filepath.Join(f.dir, "meta.db"), Options{Synchronous: "normal"})
	if err != nil {
		return err
	}
	f.store = s
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	reg := &meta.Registry{Name: "bench", LoginServer: "bench.example.com", SKU: "Standard", CreatedAt: base, UpdatedAt: base}
	var big *meta.Repository
	err = s.Tx(ctx, func(q meta.Queries) error {
		if err := q.CreateRegistry(ctx, reg); err != nil {
			return err
		}
		big, err = q.EnsureRepository(ctx, reg.ID, benchBigRepo)
		return err
	})
	if err != nil {
		return err
	}
	f.registry, f.big = reg.ID, big.ID

	f.repos = []string{benchBigRepo}
	err = f.inBatches(ctx, benchRepos, func(q meta.Queries, i int) error {
		name := fmt.Sprintf("team%02d/service-%05d", i%37, i)
		f.repos = append(f.repos, name)
		r, err := q.EnsureRepository(ctx, reg.ID, name)
		if err != nil {
			return err
		}
		_, err = q.PutManifest(ctx, benchManifest(r.ID, name, base.Add(time.Duration(i)*time.Second)))
		return err
	})
	if err != nil {
		return err
	}
	slices.Sort(f.repos)

	ids := make([]int64, benchManifests)
	digests := make([]string, benchManifests)
	err = f.inBatches(ctx, benchManifests, func(q meta.Queries, i int) error {
		m := benchManifest(big.ID, fmt.Sprint("big-", i), base.Add(time.Duration(i)*time.Second))
		if _, err := q.PutManifest(ctx, m); err != nil {
			return err
		}
		ids[i], digests[i] = m.ID, m.Digest.String()
		return nil
	})
	if err != nil {
		return err
	}
	f.manifestsByTime = digests
	f.manifestsByDigest = slices.Sorted(slices.Values(digests))

	f.tagsByName = make([]string, f.tags)
	f.tagsByTime = make([]string, f.tags)
	return f.inBatches(ctx, f.tags, func(q meta.Queries, i int) error {
		name := fmt.Sprintf("v1.%07d", i)
		rank := i * benchStride % f.tags
		f.tagsByName[i], f.tagsByTime[rank] = name, name
		return q.PutTag(ctx, big.ID, name, ids[i%benchManifests], base.Add(time.Duration(rank)*time.Millisecond))
	})
}

// BenchmarkListing measures one page of benchPage entries of each listing
// on the shared fixture: the first page, the page after the entry halfway
// through, and the final full page.
func BenchmarkListing(b *testing.B) {
	f := getBenchFixture(b)
	b.Logf("fixture: %d repositories, %d tags on %d manifests, seeded in %v",
		len(f.repos), f.tags, benchManifests, f.seedTime.Round(time.Millisecond))
	ctx := context.Background()
	q := f.store.Read()

	// A listFunc lists the page after last and returns the keys it got.
	type listFunc func(last string) ([]string, error)
	repos := func(last string) ([]string, error) {
		return q.ListRepositories(ctx, f.registry, meta.Page{Last: last, N: benchPage})
	}
	tags := func(last string) ([]string, error) {
		return q.ListTags(ctx, f.big, meta.Page{Last: last, N: benchPage})
	}
	tagDetails := func(o meta.Order) listFunc {
		return func(last string) ([]string, error) {
			ts, err := q.ListTagDetails(ctx, f.big, meta.ListQuery{Last: last, N: benchPage, Order: o})
			keys := make([]string, len(ts))
			for i, t := range ts {
				keys[i] = t.Name
			}
			return keys, err
		}
	}
	manifests := func(o meta.Order) listFunc {
		return func(last string) ([]string, error) {
			ms, err := q.ListManifests(ctx, f.big, meta.ListQuery{Last: last, N: benchPage, Order: o})
			keys := make([]string, len(ms))
			for i, m := range ms {
				keys[i] = m.Digest.String()
			}
			return keys, err
		}
	}
	desc := func(keys []string) []string {
		r := slices.Clone(keys)
		slices.Reverse(r)
		return r
	}

	for _, c := range []struct {
		name  string
		list  listFunc
		order []string // every key in listing order
	}{
		{"Repositories", repos, f.repos},
		{"Tags", tags, f.tagsByName},
		{"TagDetails/name", tagDetails(meta.OrderNone), f.tagsByName},
		{"TagDetails/timedesc", tagDetails(meta.OrderTimeDesc), desc(f.tagsByTime)},
		{"TagDetails/timeasc", tagDetails(meta.OrderTimeAsc), f.tagsByTime},
		{"Manifests/digest", manifests(meta.OrderNone), f.manifestsByDigest},
		{"Manifests/timedesc", manifests(meta.OrderTimeDesc), desc(f.manifestsByTime)},
		{"Manifests/timeasc", manifests(meta.OrderTimeAsc), f.manifestsByTime},
	} {
		n := len(c.order)
		for _, p := range []struct {
			name string
			at   int // the page starts after the entry at this index
		}{{"first", -1}, {"middle", n / 2}, {"last", n - benchPage - 1}} {
			last := ""
			if p.at >= 0 {
				last = c.order[p.at]
			}
			want := c.order[p.at+1 : p.at+1+benchPage]
			b.Run(c.name+"/"+p.name, func(b *testing.B) {
				got, err := c.list(last)
				if err != nil {
					b.Fatal(err)
				}
				if !slices.Equal(got, want) {
					b.Fatalf("page after %q: got %d entries from %q, want %d from %q", last, len(got), got[:min(1, len(got))], len(want), want[0])
				}
				for b.Loop() {
					if _, err := c.list(last); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(time.Millisecond), "ms/op")
			})
		}
	}
}

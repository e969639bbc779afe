package lifecycle

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/blob/fs"
	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/meta/sqlstore"
	"github.com/acre-project/acre/internal/registry"
	"github.com/opencontainers/go-digest"
)

// benchGrace is the fixture's GC grace period: how long blobs unlinked by
// a pass wait before the next pass may delete them.
const benchGrace = time.Second

// gcFixture is a registry of many small images, built once per benchmark.
type gcFixture struct {
	core  *registry.Service
	life  *Service
	store meta.Store
	reg   *meta.Registry
	imgs  []digest.Digest // manifests, image i in repository "bench/r<i%100>"
	used  int             // residues i%100 whose images were deleted
}

func procIO() (read, write int64) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(l, ": ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "read_bytes":
			read = n
		case "write_bytes":
			write = n
		}
	}
	return read, write
}

// newGCFixture seeds n tagged manifests (one unique 64-byte layer each on
// a shared config) straight through the metadata store in large
// transactions, with the layer files written in the store's layout and
// the usage counted: a fast way to a big registry in the state pushes
// leave once their links' grace has passed (an empty GC queue).
func newGCFixture(b *testing.B, n int) *gcFixture {
	b.Helper()
	dir := b.TempDir()
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		b.Fatal(err)
	}
	m, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, "meta.db"), sqlstore.Options{Synchronous: "normal"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	core := registry.New(registry.Options{Meta: meta.Narrow(m, func(q meta.Queries) registry.Store { return q }),
		Blobs: blobs, Uploads: blobs, DefaultRegistry: "acre", GCGrace: benchGrace})
	life := New(Options{Meta: meta.Narrow(m, func(q meta.Queries) Store { return q }), Core: core,
		Blobs: blobs, Uploads: blobs, GCGrace: benchGrace})
	reg, err := core.EnsureRegistry(context.Background(), "acre", "acre.localhost", "Premium")
	if err != nil {
		b.Fatal(err)
	}
	f := &gcFixture{core: core, life: life, store: m, reg: reg}
	cfg := []byte(`{"architecture":"amd64","os":"linux"}`)
	cfgD := digest.FromBytes(cfg)
	put := func(d digest.Digest, body []byte) {
		p := filepath.Join(dir, "blobs", "blobs", "sha256", d.Encoded()[:2], d.Encoded())
		_ = os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, body, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	put(cfgD, cfg)
	ctx := context.Background()
	const batch = 5000
	for start := 0; start < n; start += batch {
		err := m.Tx(ctx, func(q meta.Queries) error {
			now := time.Now().UTC()
			if start == 0 {
				if _, err := q.PutBlob(ctx, cfgD, int64(len(cfg)), now); err != nil {
					return err
				}
				if err := q.AddUsage(ctx, reg.ID, int64(len(cfg))); err != nil {
					return err
				}
			}
			for i := start; i < min(start+batch, n); i++ {
				repo, err := q.EnsureRepository(ctx, reg.ID, fmt.Sprintf("bench/r%d", i%100))
				if err != nil {
					return err
				}
				layer := []byte(fmt.Sprintf("%064d", i))
				ld := digest.FromBytes(layer)
				put(ld, layer)
				if _, err := q.PutBlob(ctx, ld, int64(len(layer)), now); err != nil {
					return err
				}
				for _, d := range []digest.Digest{cfgD, ld} {
					if err := q.LinkBlob(ctx, repo.ID, d, now); err != nil {
						return err
					}
				}
				body, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": registry.MediaTypeOCIManifest,
					"config": map[string]any{"mediaType": registry.MediaTypeOCIConfig, "digest": cfgD, "size": len(cfg)},
					"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": len(layer)}}})
				man := &meta.Manifest{RepositoryID: repo.ID, Digest: digest.FromBytes(body), MediaType: registry.MediaTypeOCIManifest,
					Size: int64(len(body)), Content: body, CreatedAt: now, UpdatedAt: now,
					Refs: []meta.Ref{{Digest: cfgD}, {Digest: ld}}}
				if _, err := q.PutManifest(ctx, man); err != nil {
					return err
				}
				if err := q.AddUsage(ctx, reg.ID, int64(len(layer))+man.Size); err != nil {
					return err
				}
				if err := q.PutTag(ctx, repo.ID, "t"+strconv.Itoa(i), man.ID, now); err != nil {
					return err
				}
				f.imgs = append(f.imgs, man.Digest)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return f
}

// deletePercent deletes pct% of the seeded images (the next pct residues
// i%100 not deleted yet), through the core as a user's deletes would, and
// returns how many it deleted (each held a layer no other image holds).
func (f *gcFixture) deletePercent(b *testing.B, pct int) int {
	b.Helper()
	if f.used+pct > 100 {
		b.Fatalf("the fixture has %d%% of its images left to delete, not %d%%: run with -benchtime 1x", 100-f.used, pct)
	}
	ctx := context.Background()
	n := 0
	for k := f.used; k < f.used+pct; k++ {
		for j := k; j < len(f.imgs); j += 100 {
			r := registry.Repo{Registry: f.reg, Name: fmt.Sprintf("bench/r%d", j%100)}
			switch err := f.core.DeleteManifest(ctx, r, f.imgs[j].String()); {
			case err == nil:
				n++
			case errcode.CodeOf(err) != errcode.ManifestUnknown:
				b.Fatal(err)
			}
		}
	}
	f.used += pct
	return n
}

// waitDue blocks until every queued GC item is due and reports whether
// there was one: the wait follows the queue, not a fixed time.
func (f *gcFixture) waitDue(b *testing.B) bool {
	b.Helper()
	queued, err := f.store.Read().DueGC(context.Background(), time.Now().Add(24*time.Hour), 1<<20)
	if err != nil {
		b.Fatal(err)
	}
	if len(queued) == 0 {
		return false
	}
	time.Sleep(time.Until(queued[len(queued)-1].NotBefore)) // ordered by NotBefore
	return true
}

// collectAll runs GC passes until the queue is empty: the first drops
// the links of deleted manifests, the next (once their blobs are due)
// deletes the blobs. Only the passes are timed.
func (f *gcFixture) collectAll(b *testing.B) GCStats {
	b.Helper()
	var all GCStats
	for {
		b.StartTimer()
		st, err := f.life.CollectGarbage(context.Background())
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		all.Items += st.Items
		all.LinksDropped += st.LinksDropped
		all.BlobsDeleted += st.BlobsDeleted
		all.BytesFreed += st.BytesFreed
		if !f.waitDue(b) {
			return all
		}
	}
}

// BenchmarkGC measures garbage collection over a registry of 100,000
// manifests (set ACRE_GC_BENCH_MANIFESTS to change it). Each changed=N%
// sub-benchmark deletes N% of the images (untimed), then times the GC
// passes that collect them until the queue is empty (the grace period's
// wait is not timed): ns/op is that GC time, so the two figures show
// whether a pass costs what changed. push-during-gc compares push
// throughput while GC collects 5% of the registry with pushes alone.
//
//	go test -run '^$' -bench GC -benchtime 1x ./internal/lifecycle/...
func BenchmarkGC(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("ACRE_GC_BENCH_MANIFESTS")); err == nil && v > 0 {
		n = v
	}
	start := time.Now()
	f := newGCFixture(b, n)
	b.Logf("seeded %d manifests in %v", n, time.Since(start).Round(time.Millisecond))
	for _, pct := range []int{1, 10} {
		b.Run(fmt.Sprintf("changed=%d%%", pct), func(b *testing.B) {
			b.StopTimer()
			for range b.N {
				f.deletePercent(b, pct)
				r0, w0 := procIO()
				st := f.collectAll(b)
				r1, w1 := procIO()
				b.ReportMetric(float64(st.BlobsDeleted), "blobs-freed/op")
				b.ReportMetric(float64(r1-r0)/1e6, "MB-read/op")
				b.ReportMetric(float64(w1-w0)/1e6, "MB-written/op")
			}
		})
	}
	b.Run("push-during-gc", func(b *testing.B) {
		b.StopTimer()
		for range b.N {
			f.pushDuringGC(b)
		}
	})
}

// pushDuringGC reports push throughput alone (a fixed number of pushes)
// and while GC collects 5% of the registry, just deleted: the GC's share
// of the writer is what slows pushes.
func (f *gcFixture) pushDuringGC(b *testing.B) {
	var seq atomic.Int64
	var total int64 // manifests pushed into pushRepo
	pushWhile := func(busy func(pushed *atomic.Int64)) float64 {
		var wg sync.WaitGroup
		var pushed atomic.Int64
		stop := make(chan struct{})
		for range 2 {
			wg.Add(1)
			go func() { defer wg.Done(); f.pushLoop(b, stop, &seq, &pushed) }()
		}
		t0 := time.Now()
		busy(&pushed)
		d := time.Since(t0)
		close(stop)
		wg.Wait()
		total += pushed.Load()
		return float64(pushed.Load()) / d.Seconds()
	}
	const alone = 200
	without := pushWhile(func(pushed *atomic.Int64) {
		for pushed.Load() < alone && !b.Failed() {
			time.Sleep(10 * time.Millisecond)
		}
	})
	want := f.deletePercent(b, 5)
	var freed int
	with := pushWhile(func(*atomic.Int64) {
		// Passes until the deleted images' layers are gone: the first
		// drops their links, later ones delete the blobs once due.
		deadline := time.Now().Add(10 * time.Minute)
		for freed < want && !b.Failed() {
			st, err := f.life.CollectGarbage(context.Background())
			if err != nil {
				b.Error(err)
				return
			}
			if freed += st.BlobsDeleted; freed < want {
				if time.Now().After(deadline) {
					b.Errorf("GC freed %d of %d blobs in 10 minutes", freed, want)
					return
				}
				time.Sleep(50 * time.Millisecond) // the unlinked blobs come due after the grace period
			}
		}
	})
	b.Logf("while pushing, GC freed %d blobs; %s holds %d manifests", freed, pushRepo, total)
	b.ReportMetric(without, "pushes/s-without-gc")
	b.ReportMetric(with, "pushes/s-with-gc")
	b.ReportMetric(with/without, "with/without")
}

// pushRepo is the one repository pushLoop pushes to.
const pushRepo = "bench/pushed"

// pushLoop pushes small images until stop closes, counting them in pushed.
func (f *gcFixture) pushLoop(b *testing.B, stop <-chan struct{}, seq, pushed *atomic.Int64) {
	ctx := context.Background()
	for {
		select {
		case <-stop:
			return
		default:
		}
		i := seq.Add(1)
		layer := []byte(fmt.Sprintf("pushed layer %d", i))
		cfg := []byte(fmt.Sprintf(`{"n":%d}`, i))
		// Every push goes to one repository, which grows by each: GC's
		// check of a pushed link (LinkReferenced) is an index probe, so it
		// costs the same in a repository of any size.
		r := registry.Repo{Registry: f.reg, Name: pushRepo}
		for _, bl := range [][]byte{layer, cfg} {
			if _, err := f.core.PutBlob(ctx, r, digest.FromBytes(bl), bytes.NewReader(bl)); err != nil {
				b.Error(err)
				return
			}
		}
		body, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": registry.MediaTypeOCIManifest,
			"config": map[string]any{"mediaType": "application/vnd.example.config", "digest": digest.FromBytes(cfg), "size": len(cfg)},
			"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest.FromBytes(layer), "size": len(layer)}}})
		if _, err := f.core.PutManifest(ctx, r, "p"+strconv.FormatInt(i, 10), registry.MediaTypeOCIManifest, bytes.NewReader(body), nil); err != nil {
			b.Error(err)
			return
		}
		pushed.Add(1)
	}
}

package registry

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
	"github.com/opencontainers/go-digest"
)

// gcFixture is a registry of many small images, built once per benchmark.
type gcFixture struct {
	svc   *Service
	store meta.Store
	reg   *meta.Registry
	dir   string
	imgs  []digest.Digest // manifests, in repository "bench/r<i%100>"
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

// newGCFixture seeds n manifests (one unique 64-byte layer each on a shared
// config) straight through the metadata store in large transactions, with
// the layer files written in the store's layout: a fast way to a big
// registry that is otherwise exactly what pushes produce.
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
	svc := New(Options{Meta: m, Blobs: blobs, Uploads: blobs, DefaultRegistry: "acre", GCGrace: 2 * time.Second})
	reg, err := svc.EnsureRegistry(context.Background(), "acre", "acre.localhost", "Premium")
	if err != nil {
		b.Fatal(err)
	}
	f := &gcFixture{svc: svc, store: m, reg: reg, dir: dir}
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
			for i := start; i < min(start+batch, n); i++ {
				repo, err := q.EnsureRepository(ctx, reg.ID, fmt.Sprintf("bench/r%d", i%100))
				if err != nil {
					return err
				}
				layer := []byte(fmt.Sprintf("%064d", i))
				ld := digest.FromBytes(layer)
				put(ld, layer)
				for _, bl := range []struct {
					d    digest.Digest
					size int64
				}{{cfgD, int64(len(cfg))}, {ld, int64(len(layer))}} {
					if err := q.PutBlob(ctx, bl.d, bl.size, now); err != nil {
						return err
					}
					if err := svc.link(ctx, q, reg.ID, repo, bl.d, bl.size); err != nil {
						return err
					}
				}
				body, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": MediaTypeOCIManifest,
					"config": map[string]any{"mediaType": MediaTypeOCIConfig, "digest": cfgD, "size": len(cfg)},
					"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": len(layer)}}})
				man := &meta.Manifest{RepositoryID: repo.ID, Digest: digest.FromBytes(body), MediaType: MediaTypeOCIManifest,
					Size: int64(len(body)), Content: body, CreatedAt: now, UpdatedAt: now,
					Refs: []meta.Ref{{Digest: cfgD}, {Digest: ld}}}
				if _, err := q.PutManifest(ctx, man); err != nil {
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
	// Let the seeded links' grace pass and clear their queue items (they
	// are all referenced), as a registry that has been up a while would be.
	time.Sleep(2 * time.Second)
	if _, err := svc.CollectGarbage(ctx); err != nil {
		b.Fatal(err)
	}
	return f
}

// pushLoop pushes small images until stop closes and returns how many.
func (f *gcFixture) pushLoop(stop <-chan struct{}, seq *atomic.Int64) int {
	ctx := context.Background()
	n := 0
	for {
		select {
		case <-stop:
			return n
		default:
		}
		i := seq.Add(1)
		layer := []byte(fmt.Sprintf("pushed layer %d", i))
		cfg := []byte(fmt.Sprintf(`{"n":%d}`, i))
		r := Repo{Registry: f.reg, Name: "bench/pushed"}
		for _, bl := range [][]byte{layer, cfg} {
			if _, err := f.svc.PutBlob(ctx, r, digest.FromBytes(bl), bytes.NewReader(bl)); err != nil {
				panic(err)
			}
		}
		body, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": MediaTypeOCIManifest,
			"config": map[string]any{"mediaType": "application/vnd.example.config", "digest": digest.FromBytes(cfg), "size": len(cfg)},
			"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest.FromBytes(layer), "size": len(layer)}}})
		if _, err := f.svc.PutManifest(ctx, r, "p"+strconv.FormatInt(i, 10), MediaTypeOCIManifest, bytes.NewReader(body), nil); err != nil {
			panic(err)
		}
		n++
	}
}

// BenchmarkGC measures one garbage collection pass over a registry of
// 100,000 manifests (set ACRE_GC_BENCH_MANIFESTS to change it) in which
// 1% were just deleted: its time, bytes read and written, and what it
// freed; and push throughput while GC passes run against without, in
// the same run.
//
//	go test ./internal/registry -run '^$' -bench GC -benchtime 1x
func BenchmarkGC(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("ACRE_GC_BENCH_MANIFESTS")); err == nil && v > 0 {
		n = v
	}
	start := time.Now()
	f := newGCFixture(b, n)
	b.Logf("seeded %d manifests in %v", n, time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		// Delete 1% (every 100th image), then collect.
		for j := i % 100; j < len(f.imgs); j += 100 {
			r := Repo{Registry: f.reg, Name: fmt.Sprintf("bench/r%d", j%100)}
			if err := f.svc.DeleteManifest(ctx, r, f.imgs[j].String()); err != nil && errcode.CodeOf(err) != errcode.ManifestUnknown {
				b.Fatal(err)
			}
		}
		// One pass drops the links, the next (after the grace period, which
		// is not timed) deletes the blobs.
		r0, w0 := procIO()
		b.StartTimer()
		t0 := time.Now()
		st1, err := f.svc.CollectGarbage(ctx)
		if err != nil {
			b.Fatal(err)
		}
		d := time.Since(t0)
		b.StopTimer()
		time.Sleep(2100 * time.Millisecond)
		b.StartTimer()
		t1 := time.Now()
		st, err := f.svc.CollectGarbage(ctx)
		if err != nil {
			b.Fatal(err)
		}
		d += time.Since(t1)
		b.StopTimer()
		st.LinksDropped += st1.LinksDropped
		r1, w1 := procIO()
		b.ReportMetric(float64(d.Milliseconds()), "ms/pass")
		b.ReportMetric(float64(st.BlobsDeleted), "blobs-freed/pass")
		b.ReportMetric(float64(r1-r0)/1e6, "MB-read/pass")
		b.ReportMetric(float64(w1-w0)/1e6, "MB-written/pass")
		b.StartTimer()
	}
	b.StopTimer()

	// Push throughput alone for a fixed window, then while GC collects 5%
	// of the registry (queued beforehand by deletes): the GC's share of the
	// writer is what slows pushes.
	var seq atomic.Int64
	pushFor := func(run func()) float64 {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var pushed atomic.Int64
		for range 2 {
			wg.Add(1)
			go func() { defer wg.Done(); pushed.Add(int64(f.pushLoop(stop, &seq))) }()
		}
		t0 := time.Now()
		run()
		d := time.Since(t0)
		close(stop)
		wg.Wait()
		return float64(pushed.Load()) / d.Seconds()
	}
	without := pushFor(func() { time.Sleep(3 * time.Second) })
	for k := 50; k < 55; k++ {
		for j := k; j < len(f.imgs); j += 100 {
			r := Repo{Registry: f.reg, Name: fmt.Sprintf("bench/r%d", j%100)}
			_ = f.svc.DeleteManifest(ctx, r, f.imgs[j].String())
		}
	}
	if _, err := f.svc.CollectGarbage(ctx); err != nil { // drop the links; their blobs come due after the grace period
		b.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	var freed int
	with := pushFor(func() {
		st, err := f.svc.CollectGarbage(ctx)
		if err != nil {
			panic(err)
		}
		freed = st.BlobsDeleted
	})
	b.Logf("while pushing, GC freed %d blobs", freed)
	b.ReportMetric(without, "pushes/s-without-gc")
	b.ReportMetric(with, "pushes/s-with-gc")
	b.ReportMetric(with/without, "with/without")
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
)

// pushLarge pushes one image of cfg.largeLayers random layers of
// cfg.largeLayerMiB each, in two passes per layer: the digests are computed
// first (untimed), then the timed push regenerates each layer's bytes as the
// request body. It measures layer bytes per second of the whole push
// (layers, config and manifest) and, when the server is known, its peak
// memory while receiving them.
func (b *bench) pushLarge(ctx context.Context) (*pushedImage, error) {
	repo := b.repoPrefix + "/large"
	size := int64(b.cfg.largeLayerMiB) << 20
	layers := make([]descriptor, b.cfg.largeLayers)
	b.logf("hashing %d x %d MiB layers (untimed first pass)", len(layers), b.cfg.largeLayerMiB)
	var wg sync.WaitGroup
	for i := range layers {
		wg.Go(func() {
			layers[i] = descriptor{MediaType: mediaLayer, Digest: b.gen.digest(largeSeed(i), size), Size: size}
		})
	}
	wg.Wait()
	cfgBlob := configBlob(layers, "large")
	cfgDesc := descriptor{MediaType: mediaConfig, Digest: digestOf(cfgBlob), Size: int64(len(cfgBlob))}
	man := manifestBlob(cfgDesc, layers)

	b.logf("pushing large image (%d MiB, %s uploads, %d at a time)", int64(len(layers))*size>>20, b.cfg.mode, b.cfg.largeConcurrency)
	if b.mem != nil {
		b.mem.reset()
	}
	m := b.begin()
	err := forEach(ctx, len(layers), b.cfg.largeConcurrency, func(ctx context.Context, i int) error {
		return b.cli.pushBlob(ctx, repo, layers[i].Digest, size, b.gen.blob(largeSeed(i), size))
	})
	if err == nil {
		err = b.cli.pushBlob(ctx, repo, cfgDesc.Digest, cfgDesc.Size, memBlob(cfgBlob))
	}
	if err == nil {
		err = b.cli.putManifest(ctx, repo, "v1", man)
	}
	total := int64(len(layers)) * size
	tp := b.throughput(m, total)
	if b.proc != nil {
		mr := b.res.Memory
		mr.LargePushSampledPeakRSS = b.mem.reset()
		if rss, hwm, err := b.proc.mem(); err == nil {
			mr.RSSAfterLargePush, mr.HWMAfterLargePush = rss, hwm
		}
		mr.LargePushBytes = total
	}
	if err != nil {
		return nil, fmt.Errorf("large push: %w", err)
	}
	b.res.LargePush = tp
	for _, l := range layers {
		b.ledger.blob(l.Digest, l.Size)
	}
	b.ledger.blob(cfgDesc.Digest, cfgDesc.Size)
	b.ledger.manifest(digestOf(man), int64(len(man)))
	img := &pushedImage{Repo: repo, Tag: "v1", Digest: digestOf(man), Size: int64(len(man)),
		Blobs: append([]descriptor{cfgDesc}, layers...)}
	return img, nil
}

func largeSeed(i int) uint64 { return 1<<32 | uint64(i) }

// pullLarge pulls the large image back: its manifest by tag, then each blob
// in turn, verifying sha256 while streaming. It measures bytes received per
// second, including the client's own hashing.
func (b *bench) pullLarge(ctx context.Context, img *pushedImage) error {
	b.logf("pulling large image")
	buf := make([]byte, 1<<20)
	m := b.begin()
	var total int64
	raw, err := b.cli.getManifest(ctx, img.Repo, img.Tag, img.Digest)
	if err == nil {
		var man imageManifest
		if err = json.Unmarshal(raw, &man); err == nil {
			for _, d := range append([]descriptor{man.Config}, man.Layers...) {
				if err = b.cli.pullBlob(ctx, img.Repo, d.Digest, d.Size, buf); err != nil {
					break
				}
				total += d.Size
			}
		}
	}
	tp := b.throughput(m, total)
	if err != nil {
		return fmt.Errorf("large pull: %w", err)
	}
	b.res.LargePull = tp
	return nil
}

// throughput ends a measured phase that moved n bytes.
func (b *bench) throughput(m meter, n int64) *Throughput {
	el, srv, cli := m.end()
	t := &Throughput{Bytes: n, Seconds: el.Seconds(), MBps: mbps(n, el), ServerCPUSeconds: srv, ClientCPUSeconds: cli}
	if b.res.SHA256MBps > 0 {
		t.RatioToSHA256 = t.MBps / b.res.SHA256MBps
	}
	return t
}

// forEach runs fn for 0..n-1 on up to conc goroutines, stopping at the
// first error, which it returns.
func forEach(ctx context.Context, n, conc int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(conc, n)) {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

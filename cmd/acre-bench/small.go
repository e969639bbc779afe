package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
)

func smallSeed(image, layer int) uint64 { return 2<<32 | uint64(image)<<8 | uint64(layer) }

const baseSeed = 3 << 32

// pushSmall pushes cfg.smallImages images spread round-robin over cfg.repos
// repositories, cfg.concurrency images at a time. Each image is a shared
// base layer, cfg.smallLayers layers of its own and a config blob. The base
// is uploaded once into the first repository and cross-repo mounted into
// each other repository before that repository's first image. It measures
// images per second over the whole phase, base upload and mounts included.
func (b *bench) pushSmall(ctx context.Context) ([]*pushedImage, error) {
	c := b.cfg
	repos := make([]string, c.repos)
	for i := range repos {
		repos[i] = fmt.Sprintf("%s/small-%02d", b.repoPrefix, i)
	}
	baseSize := int64(c.baseMiB) << 20
	base := descriptor{MediaType: mediaLayer, Digest: b.gen.digest(baseSeed, baseSize), Size: baseSize}
	images := make([]*pushedImage, c.smallImages)
	once := make([]sync.Once, len(repos))
	mountErr := make([]error, len(repos))
	var mounts atomic.Int64
	var sent atomic.Int64

	b.logf("pushing %d small images (%d x %d KiB + %d MiB base) to %d repositories, %d at a time",
		c.smallImages, c.smallLayers, c.smallLayerKiB, c.baseMiB, len(repos), c.concurrency)
	m := b.begin()
	err := b.cli.pushBlob(ctx, repos[0], base.Digest, baseSize, b.gen.blob(baseSeed, baseSize))
	sent.Add(baseSize)
	if err == nil {
		err = forEach(ctx, c.smallImages, c.concurrency, func(ctx context.Context, i int) error {
			r := i % len(repos)
			if r != 0 {
				once[r].Do(func() {
					mountErr[r] = b.cli.mountBlob(ctx, repos[r], repos[0], base.Digest)
					mounts.Add(1)
				})
				if mountErr[r] != nil {
					return fmt.Errorf("mount into %s: %w", repos[r], mountErr[r])
				}
			}
			img, n, err := b.pushSmallImage(ctx, repos[r], i, base)
			images[i] = img
			sent.Add(n)
			return err
		})
	}
	el, srv, cli := m.end()
	if err != nil {
		return nil, fmt.Errorf("small push: %w", err)
	}
	b.ledger.blob(base.Digest, base.Size)
	b.res.SmallPush = &ImagesResult{
		Images: c.smallImages, Repos: len(repos), Mounts: int(mounts.Load()), Bytes: sent.Load(),
		Seconds: el.Seconds(), ImagesPerSec: float64(c.smallImages) / el.Seconds(), MBps: mbps(sent.Load(), el),
		ServerCPUSeconds: srv, ClientCPUSeconds: cli,
	}
	return images, nil
}

// pushSmallImage generates, uploads and tags image i; it returns the bytes sent.
func (b *bench) pushSmallImage(ctx context.Context, repo string, i int, base descriptor) (*pushedImage, int64, error) {
	size := int64(b.cfg.smallLayerKiB) << 10
	layers := []descriptor{base}
	var sent int64
	for j := range b.cfg.smallLayers {
		data := b.gen.bytes(smallSeed(i, j), size)
		d := descriptor{MediaType: mediaLayer, Digest: digestOf(data), Size: size}
		if err := b.cli.pushBlob(ctx, repo, d.Digest, size, memBlob(data)); err != nil {
			return nil, sent, err
		}
		sent += size
		layers = append(layers, d)
		b.ledger.blob(d.Digest, d.Size)
	}
	cfgBlob := configBlob(layers, fmt.Sprintf("small-%d", i))
	cfgDesc := descriptor{MediaType: mediaConfig, Digest: digestOf(cfgBlob), Size: int64(len(cfgBlob))}
	if err := b.cli.pushBlob(ctx, repo, cfgDesc.Digest, cfgDesc.Size, memBlob(cfgBlob)); err != nil {
		return nil, sent, err
	}
	sent += cfgDesc.Size
	b.ledger.blob(cfgDesc.Digest, cfgDesc.Size)
	man := manifestBlob(cfgDesc, layers)
	tag := fmt.Sprintf("img-%04d", i)
	if err := b.cli.putManifest(ctx, repo, tag, man); err != nil {
		return nil, sent, err
	}
	sent += int64(len(man))
	b.ledger.manifest(digestOf(man), int64(len(man)))
	return &pushedImage{Repo: repo, Tag: tag, Digest: digestOf(man), Size: int64(len(man)),
		Blobs: append([]descriptor{cfgDesc}, layers...)}, sent, nil
}

// pullSmall pulls every small image back, cfg.concurrency at a time: the
// manifest by tag (digest checked), then the config and every layer,
// verifying sha256 while streaming. With --small-pull-base=false the shared
// base layer is skipped, as a client that already has it would. It measures
// images and bytes per second.
func (b *bench) pullSmall(ctx context.Context, images []*pushedImage) error {
	b.logf("pulling %d small images, %d at a time", len(images), b.cfg.concurrency)
	bufs := sync.Pool{New: func() any { return make([]byte, 256<<10) }}
	var got atomic.Int64
	m := b.begin()
	err := forEach(ctx, len(images), b.cfg.concurrency, func(ctx context.Context, i int) error {
		img := images[i]
		raw, err := b.cli.getManifest(ctx, img.Repo, img.Tag, img.Digest)
		if err != nil {
			return err
		}
		got.Add(int64(len(raw)))
		var man imageManifest
		if err := json.Unmarshal(raw, &man); err != nil {
			return fmt.Errorf("manifest %s:%s: %w", img.Repo, img.Tag, err)
		}
		buf := bufs.Get().([]byte)
		defer bufs.Put(buf)
		for k, d := range append([]descriptor{man.Config}, man.Layers...) {
			if k == 1 && !b.cfg.smallPullBase {
				continue
			}
			if err := b.cli.pullBlob(ctx, img.Repo, d.Digest, d.Size, buf); err != nil {
				return err
			}
			got.Add(d.Size)
		}
		return nil
	})
	el, srv, cli := m.end()
	if err != nil {
		return fmt.Errorf("small pull: %w", err)
	}
	b.res.SmallPull = &ImagesResult{
		Images: len(images), Repos: b.cfg.repos, Bytes: got.Load(), Seconds: el.Seconds(),
		ImagesPerSec: float64(len(images)) / el.Seconds(), MBps: mbps(got.Load(), el),
		ServerCPUSeconds: srv, ClientCPUSeconds: cli,
	}
	return nil
}

package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// loadWorker is one load client's tally.
type loadWorker struct {
	lat   []time.Duration
	errs  int64
	first error
}

// hammer runs n concurrent clients for d, each alternating manifest HEAD
// and GET by tag over images (starting at different images), every
// response checked for status, size and digest.
func (b *bench) hammer(ctx context.Context, n int, d time.Duration, images []*pushedImage) []loadWorker {
	ws := make([]loadWorker, n)
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	for w := range ws {
		wg.Go(func() {
			me := &ws[w]
			me.lat = make([]time.Duration, 0, 1<<14)
			for k := 0; ctx.Err() == nil; k++ {
				img := images[(w*7+k/2)%len(images)]
				t0 := time.Now()
				var err error
				if k%2 == 0 {
					err = b.cli.headManifest(ctx, img.Repo, img.Tag, img.Digest, img.Size)
				} else {
					_, err = b.cli.getManifest(ctx, img.Repo, img.Tag, img.Digest)
				}
				if err != nil {
					if ctx.Err() != nil {
						break // the deadline cut the request short
					}
					me.errs++
					if me.first == nil {
						me.first = err
					}
					continue
				}
				me.lat = append(me.lat, time.Since(t0))
			}
		})
	}
	wg.Wait()
	return ws
}

// warmUp runs an unmeasured load (which also fetches the tokens the
// measured phases then use), so each server is measured warm.
func (b *bench) warmUp(ctx context.Context, clients []int, images []*pushedImage) {
	if b.cfg.warmup <= 0 || len(clients) == 0 || len(images) == 0 {
		return
	}
	n := slices.Max(clients)
	b.logf("warm-up: manifest HEAD/GET with %d clients for %s (%s)", n, b.cfg.warmup, b.authLabel())
	b.hammer(ctx, n, b.cfg.warmup, images)
}

// manifestLoad runs hammer with n clients for cfg.duration. It measures
// requests per second, latency percentiles and the server's CPU time per
// request.
func (b *bench) manifestLoad(ctx context.Context, n int, images []*pushedImage) *LoadResult {
	b.logf("manifest HEAD/GET with %d clients for %s (%s)", n, b.cfg.duration, b.authLabel())
	fetches := b.cli.auth.fetches.Load()
	m := b.begin()
	ws := b.hammer(ctx, n, b.cfg.duration, images)
	el, srv, cli := m.end()

	r := &LoadResult{Clients: n, Auth: b.authLabel(), Seconds: el.Seconds(), ServerCPUSeconds: srv, ClientCPUSeconds: cli,
		TokenFetches: b.cli.auth.fetches.Load() - fetches}
	var all []time.Duration
	for _, w := range ws {
		all = append(all, w.lat...)
		r.Errors += w.errs
		if w.first != nil && len(r.FirstErrors) < 3 {
			r.FirstErrors = append(r.FirstErrors, w.first.Error())
		}
	}
	r.Requests = int64(len(all))
	r.RPS = float64(r.Requests) / el.Seconds()
	if len(all) > 0 {
		slices.Sort(all)
		pct := func(p float64) float64 {
			return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
		}
		r.P50Ms, r.P99Ms = pct(0.50), pct(0.99)
	}
	if srv != nil && r.Requests+r.Errors > 0 {
		v := *srv * 1000 / float64(r.Requests+r.Errors)
		r.ServerCPUPerRequestMs = &v
	}
	if r.Errors > 0 {
		b.fail(fmt.Errorf("manifest load (%d clients, %s): %d failed requests, first: %s", n, r.Auth, r.Errors, r.FirstErrors[0]))
	}
	return r
}

// authLabel names how the client authenticates: bearer, basic or "auth off".
func (b *bench) authLabel() string {
	if b.cli.auth.mode == authNone {
		return "auth off"
	}
	return b.cli.auth.mode
}

package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// manifestLoad runs n concurrent clients for cfg.duration, each
// alternating manifest HEAD and GET by tag over the pushed images (starting
// at different images), every response checked for status, size and
// digest. It measures requests per second, latency percentiles and the
// server's CPU time per request.
func (b *bench) manifestLoad(ctx context.Context, n int, images []*pushedImage) *LoadResult {
	b.logf("manifest HEAD/GET with %d clients for %s", n, b.cfg.duration)
	type worker struct {
		lat   []time.Duration
		errs  int64
		first error
	}
	ws := make([]worker, n)
	ctx, cancel := context.WithTimeout(ctx, b.cfg.duration)
	defer cancel()
	var wg sync.WaitGroup
	m := b.begin()
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
	el, srv, cli := m.end()

	r := &LoadResult{Clients: n, Seconds: el.Seconds(), ServerCPUSeconds: srv, ClientCPUSeconds: cli}
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
		b.fail(fmt.Errorf("manifest load (%d clients): %d failed requests, first: %s", n, r.Errors, r.FirstErrors[0]))
	}
	return r
}

package lifecycle

import (
	"math"
	"sync"
	"time"

	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/sku"
)

// Throttle holds one token bucket per registry and kind of operation. It
// is per process: with several nodes, each allows the rate.
type Throttle struct {
	limits  func(reg *meta.Registry) sku.Limits
	mu      sync.Mutex
	buckets map[throttleKey]*bucket
}

// NewThrottle returns a Throttle that reads a registry's rates from limits.
func NewThrottle(limits func(reg *meta.Registry) sku.Limits) *Throttle {
	return &Throttle{limits: limits, buckets: map[throttleKey]*bucket{}}
}

type throttleKey struct {
	registry int64
	write    bool
}

type bucket struct {
	tokens float64
	last   time.Time
}

// Allow returns a TOOMANYREQUESTS error, with how long to wait, when a
// registry that turned throttling on is past its SKU's reads or writes a
// minute; else it takes one operation from the registry's bucket.
func (t *Throttle) Allow(reg *meta.Registry, write bool) error {
	if !reg.Settings.Throttling {
		return nil
	}
	lim := t.limits(reg)
	perMin := lim.ReadOpsPerMinute
	if write {
		perMin = lim.WriteOpsPerMinute
	}
	if perMin <= 0 {
		return nil
	}
	rate := float64(perMin) / 60 // tokens a second; the bucket holds a minute's worth
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	k := throttleKey{reg.ID, write}
	b := t.buckets[k]
	if b == nil {
		b = &bucket{tokens: float64(perMin), last: now}
		t.buckets[k] = b
	}
	b.tokens = math.Min(float64(perMin), b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return nil
	}
	wait := int(math.Ceil((1 - b.tokens) / rate))
	kind := "read"
	if write {
		kind = "write"
	}
	e := errcode.Errorf(errcode.TooManyRequests, "registry %s allows %d %s operations a minute; retry in %d s", reg.Name, perMin, kind, wait)
	e.RetryAfter = time.Duration(wait) * time.Second
	return e
}

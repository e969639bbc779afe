package lifecycle

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// Pulls remembers last-pull times in memory and writes them in batches,
// so that a pull never waits for a write. The core reports each pull
// (registry.Options.OnPull); Run writes them every few seconds.
type Pulls struct {
	meta      meta.View[meta.PullTimes]
	log       *slog.Logger
	mu        sync.Mutex
	manifests map[int64]time.Time
	tags      map[meta.TagKey]time.Time
}

// NewPulls returns a recorder that writes to m.
func NewPulls(m meta.View[meta.PullTimes], log *slog.Logger) *Pulls {
	return &Pulls{meta: m, log: log, manifests: map[int64]time.Time{}, tags: map[meta.TagKey]time.Time{}}
}

// Record notes that manifest m was pulled now, by tag when tag is set.
func (p *Pulls) Record(m *meta.Manifest, tag string) {
	now := time.Now().UTC()
	p.mu.Lock()
	p.manifests[m.ID] = now
	if tag != "" {
		p.tags[meta.TagKey{RepositoryID: m.RepositoryID, Name: tag}] = now
	}
	p.mu.Unlock()
}

func (p *Pulls) take() (map[int64]time.Time, map[meta.TagKey]time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, t := p.manifests, p.tags
	p.manifests, p.tags = map[int64]time.Time{}, map[meta.TagKey]time.Time{}
	return m, t
}

// Flush writes the last-pull times recorded since the previous flush.
func (p *Pulls) Flush(ctx context.Context) error {
	m, t := p.take()
	if len(m) == 0 && len(t) == 0 {
		return nil
	}
	return p.meta.Tx(ctx, func(q meta.PullTimes) error { return q.RecordPulls(ctx, m, t) })
}

// Run flushes last-pull times every few seconds until ctx ends, and once
// more then.
func (p *Pulls) Run(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := p.Flush(context.WithoutCancel(ctx)); err != nil {
				p.log.Warn("last-pull times", "err", err)
			}
			return
		case <-t.C:
			if err := p.Flush(ctx); err != nil && ctx.Err() == nil {
				p.log.Warn("last-pull times", "err", err)
			}
		}
	}
}

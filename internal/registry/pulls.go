package registry

import (
	"context"
	"sync"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// pullRecorder remembers last-pull times in memory and writes them in
// batches, so that a pull never waits for a write.
type pullRecorder struct {
	mu        sync.Mutex
	manifests map[int64]time.Time
	tags      map[meta.TagKey]time.Time
}

func newPullRecorder() *pullRecorder {
	return &pullRecorder{manifests: map[int64]time.Time{}, tags: map[meta.TagKey]time.Time{}}
}

func (p *pullRecorder) record(m *meta.Manifest, tag string) {
	now := time.Now().UTC()
	p.mu.Lock()
	p.manifests[m.ID] = now
	if tag != "" {
		p.tags[meta.TagKey{RepositoryID: m.RepositoryID, Name: tag}] = now
	}
	p.mu.Unlock()
}

func (p *pullRecorder) take() (map[int64]time.Time, map[meta.TagKey]time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, t := p.manifests, p.tags
	p.manifests, p.tags = map[int64]time.Time{}, map[meta.TagKey]time.Time{}
	return m, t
}

// FlushPulls writes the last-pull times recorded since the previous flush.
func (s *Service) FlushPulls(ctx context.Context) error {
	m, t := s.pulls.take()
	if len(m) == 0 && len(t) == 0 {
		return nil
	}
	return s.meta.Tx(ctx, func(q meta.Queries) error { return q.RecordPulls(ctx, m, t) })
}

// RunPullRecorder flushes last-pull times every few seconds until ctx
// ends, and once more then.
func (s *Service) RunPullRecorder(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := s.FlushPulls(context.WithoutCancel(ctx)); err != nil {
				s.log.Warn("last-pull times", "err", err)
			}
			return
		case <-t.C:
			if err := s.FlushPulls(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("last-pull times", "err", err)
			}
		}
	}
}

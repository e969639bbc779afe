package server

import (
	"context"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// lifecycle runs garbage collection and due scheduled purges every
// interval, retention policies every retention_every, the abandoned-upload
// cleanup hourly and the orphan sweep every orphan_sweep (first ten
// minutes after start), until ctx ends.
func (s *Server) lifecycle(ctx context.Context) {
	lc := s.cfg.Lifecycle
	t := time.NewTicker(lc.Interval)
	defer t.Stop()
	var lastRetention, lastUploads time.Time
	nextSweep := time.Now().Add(min(10*time.Minute, lc.OrphanSweep))
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.LifecyclePass(ctx, time.Since(lastRetention) >= lc.RetentionEvery)
		if time.Since(lastRetention) >= lc.RetentionEvery {
			lastRetention = time.Now()
		}
		if time.Since(lastUploads) >= time.Hour {
			lastUploads = time.Now()
			if n, err := s.life.CleanUploads(ctx, time.Now().Add(-lc.UploadTTL)); err != nil && ctx.Err() == nil {
				s.log.Warn("upload cleanup", "err", err)
			} else if n > 0 {
				s.log.Info("removed abandoned uploads", "count", n)
			}
		}
		if time.Now().After(nextSweep) {
			nextSweep = time.Now().Add(lc.OrphanSweep)
			if n, err := s.life.SweepOrphans(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("orphan sweep", "err", err)
			} else if n > 0 {
				s.log.Info("removed unrecorded blob files", "count", n)
			}
		}
	}
}

// LifecyclePass runs retention (when asked), due purges and GC once.
func (s *Server) LifecyclePass(ctx context.Context, retention bool) {
	if retention {
		regs, err := s.meta.Read().ListRegistries(ctx, meta.Page{N: 1 << 20})
		if err != nil && ctx.Err() == nil {
			s.log.Warn("retention", "err", err)
		}
		for i := range regs {
			if d, err := s.life.ApplyRetention(ctx, &regs[i]); err != nil && ctx.Err() == nil {
				s.log.Warn("retention", "registry", regs[i].Name, "err", err)
			} else if len(d) > 0 {
				s.log.Info("retention", "registry", regs[i].Name, "deleted", len(d))
			}
		}
	}
	if err := s.life.RunDueSchedules(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("scheduled purges", "err", err)
	}
	st, err := s.life.CollectGarbage(ctx)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("garbage collection", "err", err)
	}
	s.metrics.GC(st.Items, st.LinksDropped, st.BlobsDeleted, st.BytesFreed)
}

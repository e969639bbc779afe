// Package lifecycle governs a registry's content over time, beside the
// core (package registry), which it uses together with the stores:
//
//   - garbage collection (gc.go): online, from the queue the core fills, so
//     a pass works on what changed; blob files are deleted after the commit
//     that deletes their records, behind a tombstone; plus the cleanup of
//     abandoned uploads and the sweep of unrecorded blob files;
//   - retention policies (retention.go): untagged manifests after N days,
//     keep the newest N tags, images not pulled for N days;
//   - acr purge (purge.go, purgefilter.go) and scheduled purges
//     (schedules.go), leased so that one node runs each;
//   - usage reporting (usage.go; the core keeps the counter exact and
//     enforces the quota on push);
//   - last-pull times recorded in batches (pulls.go) and per-registry
//     throttling by SKU (throttle.go).
//
// The core never imports this package. Every deletion a lifecycle job
// makes goes through the core's rules (locks, referrers, events), and
// every tag, manifest or blob it deletes is written to the audit log with
// its reason.
package lifecycle

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/acre-project/acre/internal/blob"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/registry"
	"github.com/opencontainers/go-digest"
)

// Store is the metadata lifecycle jobs read and change: the core's (a
// transaction of this view is handed to the core's in-transaction
// operations) with what garbage collection, retention, schedules and the
// audit log of deletions need.
type Store interface {
	registry.Store
	meta.BlobGC
	meta.Retention
	meta.PurgeSchedules
	meta.Audit
}

// Options configure a Service.
type Options struct {
	Meta    meta.View[Store]
	Core    *registry.Service
	Blobs   blob.Store
	Uploads blob.Uploads
	Log     *slog.Logger
	// GCGrace is the core's grace period (registry.Options.GCGrace): upload
	// data and blob files no record knows are removed only when older.
	GCGrace time.Duration
	// Notify, when set, is called after a commit that wrote events.
	Notify func()
}

// Service runs lifecycle jobs over the registries a server hosts.
type Service struct {
	meta     meta.View[Store]
	core     *registry.Service
	blobs    blob.Store
	uploads  blob.Uploads
	log      *slog.Logger
	gcGrace  time.Duration
	notifyFn func()
}

// New builds a Service.
func New(o Options) *Service {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.GCGrace <= 0 {
		o.GCGrace = registry.DefaultGCGrace
	}
	return &Service{meta: o.Meta, core: o.Core, blobs: o.Blobs, uploads: o.Uploads, log: o.Log, gcGrace: o.GCGrace,
		notifyFn: o.Notify}
}

func (s *Service) notify() {
	if s.notifyFn != nil {
		s.notifyFn()
	}
}

// recordLifecycle writes a lifecycle deletion to the audit log: what, why, when.
func (s *Service) recordLifecycle(ctx context.Context, q Store, regID int64, repo, tag string, d digest.Digest, op, who, why string) {
	e := &meta.AuditEntry{At: time.Now().UTC(), RegistryID: regID, Category: "lifecycle", Operation: op, Identity: who,
		Repository: repo, Tag: tag, Digest: d.String(), Result: why}
	if err := q.AppendAudit(ctx, e); err != nil {
		s.log.Warn("lifecycle record", "err", err)
	}
}

// registryByID loads a registry by id.
func (s *Service) registryByID(ctx context.Context, id int64) (*meta.Registry, error) {
	regs, err := s.meta.Read().ListRegistries(ctx, meta.Page{N: 1 << 20})
	if err != nil {
		return nil, err
	}
	for i := range regs {
		if regs[i].ID == id {
			return &regs[i], nil
		}
	}
	return nil, meta.ErrNotFound
}

func notFoundNil(err error) error {
	if errors.Is(err, meta.ErrNotFound) {
		return nil
	}
	return err
}

func digestOf(s string) digest.Digest { return digest.Digest(s) }

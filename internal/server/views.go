package server

import (
	"github.com/acre-project/acre/internal/audit"
	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/keyvault"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/metrics"
	"github.com/acre-project/acre/internal/tasks"
	"github.com/acre-project/acre/internal/webapps"
	"github.com/acre-project/acre/internal/webhook"
)

// views are the narrow interfaces through which each component beside the
// registry core sees the metadata store (each declares its own Store);
// the core's and lifecycle's views are made where New builds them.
type views struct {
	audit    meta.View[audit.Store]
	auth     meta.View[auth.Store]
	keyvault meta.View[keyvault.Store]
	metrics  meta.View[metrics.Store]
	tasks    meta.View[tasks.Store]
	webapps  meta.View[webapps.Store]
	webhook  meta.View[webhook.Store]
}

func narrowViews(m meta.Store) views {
	return views{
		audit:    meta.Narrow(m, func(q meta.Queries) audit.Store { return q }),
		auth:     meta.Narrow(m, func(q meta.Queries) auth.Store { return q }),
		keyvault: meta.Narrow(m, func(q meta.Queries) keyvault.Store { return q }),
		metrics:  meta.Narrow(m, func(q meta.Queries) metrics.Store { return q }),
		tasks:    meta.Narrow(m, func(q meta.Queries) tasks.Store { return q }),
		webapps:  meta.Narrow(m, func(q meta.Queries) webapps.Store { return q }),
		webhook:  meta.Narrow(m, func(q meta.Queries) webhook.Store { return q }),
	}
}

// newMetrics reads the gauges through metrics' view, and the commit counts
// from the store when it keeps them (the embedded SQLite store does).
func newMetrics(m meta.Store, v views) *metrics.Metrics {
	commits, _ := m.(metrics.CommitStatser)
	return metrics.New(v.metrics, commits)
}

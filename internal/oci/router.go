// Package oci serves the OCI Distribution API v1.1 under /v2/
// (https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md).
// It routes on route.ParseV2, checks access through auth.Gate, calls the
// transport-free registry.Service and writes responses; every handler
// returns an error, which WriteError maps with StatusOf, the one code →
// status table that /acr/v1/ and the management API answer through too.
package oci

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/registry"
	"github.com/acre-project/acre/internal/route"
)

// Handler serves /v2/.
type Handler struct {
	svc *registry.Service
	// throttle, when set, limits each registry's reads and writes a minute.
	throttle Throttler
	gate     *auth.Gate
	audit    Recorder
	log      *slog.Logger
}

// Recorder takes audit entries (without blocking).
type Recorder interface {
	Record(e meta.AuditEntry)
}

// Throttler decides whether a registry may do one more read or write now.
type Throttler interface {
	Allow(reg *meta.Registry, write bool) error
}

// SetThrottle turns per-registry throttling on (acre serve always does).
func (h *Handler) SetThrottle(t Throttler) { h.throttle = t }

// New returns the /v2/ handler. With gate nil, authentication is off; with
// audit nil, nothing is audited.
func New(svc *registry.Service, gate *auth.Gate, audit Recorder, log *slog.Logger) *Handler {
	return &Handler{svc: svc, gate: gate, audit: audit, log: log}
}

// methods lists what each route allows, for 405 answers.
var methods = map[route.Kind]string{
	route.Ping:      "GET, HEAD",
	route.Catalog:   "GET",
	route.Tags:      "GET",
	route.Manifest:  "GET, HEAD, PUT, DELETE",
	route.Blob:      "GET, HEAD, DELETE",
	route.Uploads:   "POST",
	route.Upload:    "GET, PATCH, PUT, DELETE",
	route.Referrers: "GET",
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if err := h.serve(w, r); err != nil {
		WriteError(w, r, h.log, err)
	}
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) (err error) {
	rt, ok := route.ParseV2(r.URL.Path)
	if !ok {
		return errcode.Errorf(errcode.EndpointUnknown, "no such endpoint: %s", r.URL.Path)
	}
	reg, err := h.svc.RegistryForHost(r.Context(), r.Host)
	if err != nil {
		return err
	}
	if r, err = h.authorize(r, reg, rt); err != nil {
		return err
	}
	if rt.Kind != route.Ping {
		if h.throttle != nil {
			if err := h.throttle.Allow(reg, r.Method != http.MethodGet && r.Method != http.MethodHead); err != nil {
				return err
			}
		}
	}
	repo := registry.Repo{Registry: reg, Name: rt.Name}
	if rt.Kind == route.Manifest && h.audit != nil && r.Method != http.MethodHead {
		info := &auditInfo{}
		r = r.WithContext(context.WithValue(r.Context(), auditKey{}, info))
		start := time.Now()
		defer func() { h.record(r, reg, rt, info, err, start) }()
	}
	m := r.Method
	switch {
	case rt.Kind == route.Ping && (m == http.MethodGet || m == http.MethodHead):
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "2")
		if m == http.MethodGet {
			_, _ = w.Write([]byte("{}"))
		}
		return nil
	case rt.Kind == route.Catalog && m == http.MethodGet:
		return h.catalog(w, r, reg)
	case rt.Kind == route.Tags && m == http.MethodGet:
		return h.tags(w, r, repo)
	case rt.Kind == route.Manifest && (m == http.MethodGet || m == http.MethodHead):
		return h.getManifest(w, r, repo, rt.Arg)
	case rt.Kind == route.Manifest && m == http.MethodPut:
		return h.putManifest(w, r, repo, rt.Arg)
	case rt.Kind == route.Manifest && m == http.MethodDelete:
		return h.deleteManifest(w, r, repo, rt.Arg)
	case rt.Kind == route.Blob && (m == http.MethodGet || m == http.MethodHead):
		return h.getBlob(w, r, repo, rt.Arg)
	case rt.Kind == route.Blob && m == http.MethodDelete:
		return h.deleteBlob(w, r, repo, rt.Arg)
	case rt.Kind == route.Uploads && m == http.MethodPost:
		return h.startUpload(w, r, repo)
	case rt.Kind == route.Upload && m == http.MethodGet:
		return h.uploadStatus(w, r, repo, rt.Arg)
	case rt.Kind == route.Upload && m == http.MethodPatch:
		return h.patchUpload(w, r, repo, rt.Arg)
	case rt.Kind == route.Upload && m == http.MethodPut:
		return h.putUpload(w, r, repo, rt.Arg)
	case rt.Kind == route.Upload && m == http.MethodDelete:
		return h.cancelUpload(w, r, repo, rt.Arg)
	case rt.Kind == route.Referrers && m == http.MethodGet:
		return h.referrers(w, r, repo, rt.Arg)
	}
	w.Header().Set("Allow", methods[rt.Kind])
	return errcode.Errorf(errcode.Unsupported, "method %s is not allowed on %s", m, r.URL.Path)
}

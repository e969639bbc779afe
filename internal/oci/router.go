// Package oci serves the OCI Distribution API v1.1 under /v2/
// (https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md).
// It parses requests, calls the transport-free registry.Service and writes
// responses; every handler returns an error, which WriteError maps.
package oci

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/registry"
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

// route is a parsed /v2/ path.
type route struct {
	kind string // ping, catalog, tags, manifest, blob, uploads, upload, referrers
	name string // repository name
	arg  string // reference, digest or upload id
}

// parsePath splits a /v2/ path into a route. Repository names may contain
// slashes, so the verb is found from the right.
func parsePath(p string) (route, bool) {
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		if p == "/v2" {
			return route{kind: "ping"}, true
		}
		return route{}, false
	}
	if rest == "" {
		return route{kind: "ping"}, true
	}
	if rest == "_catalog" {
		return route{kind: "catalog"}, true
	}
	seg := strings.Split(rest, "/")
	n := len(seg)
	join := func(k int) string { return strings.Join(seg[:k], "/") }
	switch {
	case n >= 4 && seg[n-3] == "blobs" && seg[n-2] == "uploads" && seg[n-1] == "":
		return route{kind: "uploads", name: join(n - 3)}, true
	case n >= 4 && seg[n-3] == "blobs" && seg[n-2] == "uploads":
		return route{kind: "upload", name: join(n - 3), arg: seg[n-1]}, true
	case n >= 3 && seg[n-2] == "tags" && seg[n-1] == "list":
		return route{kind: "tags", name: join(n - 2)}, true
	case n >= 3 && seg[n-2] == "manifests":
		return route{kind: "manifest", name: join(n - 2), arg: seg[n-1]}, true
	case n >= 3 && seg[n-2] == "blobs":
		return route{kind: "blob", name: join(n - 2), arg: seg[n-1]}, true
	case n >= 3 && seg[n-2] == "referrers":
		return route{kind: "referrers", name: join(n - 2), arg: seg[n-1]}, true
	}
	return route{}, false
}

// methods lists what each route allows, for 405 answers.
var methods = map[string]string{
	"ping":      "GET, HEAD",
	"catalog":   "GET",
	"tags":      "GET",
	"manifest":  "GET, HEAD, PUT, DELETE",
	"blob":      "GET, HEAD, DELETE",
	"uploads":   "POST",
	"upload":    "GET, PATCH, PUT, DELETE",
	"referrers": "GET",
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if err := h.serve(w, r); err != nil {
		WriteError(w, r, h.log, err)
	}
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) (err error) {
	rt, ok := parsePath(r.URL.Path)
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
	if rt.kind != "ping" {
		if h.throttle != nil {
			if err := h.throttle.Allow(reg, r.Method != http.MethodGet && r.Method != http.MethodHead); err != nil {
				return err
			}
		}
	}
	repo := registry.Repo{Registry: reg, Name: rt.name}
	if rt.kind == "manifest" && h.audit != nil && r.Method != http.MethodHead {
		info := &auditInfo{}
		r = r.WithContext(context.WithValue(r.Context(), auditKey{}, info))
		start := time.Now()
		defer func() { h.record(r, reg, rt, info, err, start) }()
	}
	m := r.Method
	switch {
	case rt.kind == "ping" && (m == http.MethodGet || m == http.MethodHead):
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "2")
		if m == http.MethodGet {
			_, _ = w.Write([]byte("{}"))
		}
		return nil
	case rt.kind == "catalog" && m == http.MethodGet:
		return h.catalog(w, r, reg)
	case rt.kind == "tags" && m == http.MethodGet:
		return h.tags(w, r, repo)
	case rt.kind == "manifest" && (m == http.MethodGet || m == http.MethodHead):
		return h.getManifest(w, r, repo, rt.arg)
	case rt.kind == "manifest" && m == http.MethodPut:
		return h.putManifest(w, r, repo, rt.arg)
	case rt.kind == "manifest" && m == http.MethodDelete:
		return h.deleteManifest(w, r, repo, rt.arg)
	case rt.kind == "blob" && (m == http.MethodGet || m == http.MethodHead):
		return h.getBlob(w, r, repo, rt.arg)
	case rt.kind == "blob" && m == http.MethodDelete:
		return h.deleteBlob(w, r, repo, rt.arg)
	case rt.kind == "uploads" && m == http.MethodPost:
		return h.startUpload(w, r, repo)
	case rt.kind == "upload" && m == http.MethodGet:
		return h.uploadStatus(w, r, repo, rt.arg)
	case rt.kind == "upload" && m == http.MethodPatch:
		return h.patchUpload(w, r, repo, rt.arg)
	case rt.kind == "upload" && m == http.MethodPut:
		return h.putUpload(w, r, repo, rt.arg)
	case rt.kind == "upload" && m == http.MethodDelete:
		return h.cancelUpload(w, r, repo, rt.arg)
	case rt.kind == "referrers" && m == http.MethodGet:
		return h.referrers(w, r, repo, rt.arg)
	}
	w.Header().Set("Allow", methods[rt.kind])
	return errcode.Errorf(errcode.Unsupported, "method %s is not allowed on %s", m, r.URL.Path)
}

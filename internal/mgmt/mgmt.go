// Package mgmt serves acre's management API under /api/v1/: JSON over HTTP
// for all that is not data plane: sign-in sessions (/session, whoami),
// registries and their settings, admin credentials, usage and audit log;
// identities, role assignments, scope maps, tokens and signing keys;
// retention, purge, purge schedules and garbage collection; webhooks and
// their deliveries; builds, runs and tasks (with the tasks' push webhook);
// App Service plans and web apps; Key Vault vaults and secrets. It is
// documented in docs/openapi.yaml (a test keeps them in step); the acre CLI
// uses nothing else, so everything the CLI does, curl can do.
//
// Every endpoint runs one sequence, written once in endpoint.go; the
// routes are in routes.go (and tasks.go, taskdefs.go for the builds').
package mgmt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/keyvault"
	"github.com/acre-project/acre/internal/lifecycle"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/oci"
	"github.com/acre-project/acre/internal/registry"
	"github.com/acre-project/acre/internal/tasks"
	"github.com/acre-project/acre/internal/webapps"
	"github.com/acre-project/acre/internal/webhook"
)

// Handler serves /api/v1/.
type Handler struct {
	reg   *registry.Service
	life  *lifecycle.Service
	auth  *auth.Service
	hooks *webhook.Service
	apps  *webapps.Service // nil: web apps are off
	tasks *tasks.Service   // nil: builds are off
	vault *keyvault.Service
	log   *slog.Logger
	mux   *http.ServeMux
	// routes are the "METHOD /path" patterns registered, for the test
	// that keeps docs/openapi.yaml in step.
	routes []string
}

// New returns the management API.
func New(reg *registry.Service, life *lifecycle.Service, a *auth.Service, hooks *webhook.Service, log *slog.Logger) *Handler {
	h := &Handler{reg: reg, life: life, auth: a, hooks: hooks, log: log, mux: http.NewServeMux()}
	h.register()
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// apiError is an error with an HTTP status and a code, written as
// {"error": {"code": ..., "message": ...}}.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// handler is an API endpoint: the caller is authenticated before it runs.
type handler func(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error

// handle registers an authenticated endpoint.
func (h *Handler) handle(pattern string, fn handler) {
	h.public(pattern, func(w http.ResponseWriter, r *http.Request) error {
		caller, err := h.authenticate(r)
		if err != nil {
			return err
		}
		return fn(w, r, caller)
	})
}

// public registers an endpoint that authenticates its caller itself
// (signing in, a push webhook's token), with its errors mapped by writeError.
func (h *Handler) public(pattern string, fn func(w http.ResponseWriter, r *http.Request) error) {
	h.routes = append(h.routes, pattern)
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.writeError(w, r, err)
		}
	})
}

// writeError maps every error of the API in one place.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var re *errcode.Error
	var th *auth.ThrottledError
	var de *auth.DeniedError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &th):
		w.Header().Set("Retry-After", fmt.Sprint(int(th.RetryAfter.Seconds())+1))
		ae = errorf(http.StatusTooManyRequests, "TooManyRequests", "%v", err)
	case errors.As(err, &de):
		ae = errorf(http.StatusUnauthorized, "Unauthorized", "%s", de.Reason)
	case errors.Is(err, auth.ErrInvalid), errors.Is(err, webhook.ErrInvalid), errors.Is(err, tasks.ErrInvalid),
		errors.Is(err, webapps.ErrInvalid), errors.Is(err, keyvault.ErrInvalid):
		ae = errorf(http.StatusBadRequest, "BadRequest", "%v", err)
	case errors.Is(err, tasks.ErrDenied):
		ae = errorf(http.StatusUnauthorized, "Unauthorized", "wrong or missing webhook token or signature")
	case errors.Is(err, meta.ErrNotFound):
		ae = errorf(http.StatusNotFound, "NotFound", "not found")
	case errors.As(err, &re):
		// The same statuses as /v2/ answers for the same codes.
		oci.SetHeaders(w, re)
		ae = errorf(oci.StatusOf(re.Code), string(re.Code.Wire()), "%s", re.Message)
	default:
		h.log.ErrorContext(r.Context(), "management API", "path", r.URL.Path, "err", err)
		ae = errorf(http.StatusInternalServerError, "InternalError", "internal server error")
	}
	if ae.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="acre"`)
	}
	writeJSON(w, ae.Status, map[string]any{"error": map[string]string{"code": ae.Code, "message": ae.Message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// decode reads a JSON body strictly (unknown fields are errors).
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return errorf(http.StatusBadRequest, "BadRequest", "invalid JSON body: %v", err)
	}
	return nil
}

// authenticate accepts a session token (Bearer) or Basic credentials of a
// server-wide identity.
func (h *Handler) authenticate(r *http.Request) (*meta.Principal, error) {
	return h.auth.Caller(r)
}

// require checks that caller holds need in reg (nil: at server scope).
func (h *Handler) require(ctx context.Context, caller *meta.Principal, reg *meta.Registry, need auth.Management) error {
	m, err := h.auth.Management(ctx, caller, reg)
	if err != nil {
		return err
	}
	if m&need != need {
		where := "this server"
		if reg != nil {
			where = "registry " + reg.Name
		}
		return errorf(http.StatusForbidden, "Forbidden", "%s lacks the role needed for this in %s", caller.Name, where)
	}
	return nil
}

// registry loads the {registry} of the path and checks caller's permission on it.
func (h *Handler) registry(r *http.Request, caller *meta.Principal, need auth.Management) (*meta.Registry, error) {
	// Registry names are case-insensitive, as ACR's: myContainerRegistry is mycontainerregistry.
	reg, err := h.reg.GetRegistry(r.Context(), strings.ToLower(r.PathValue("registry")))
	if err != nil {
		// Only those who may see every registry learn that one does not exist.
		if perr := h.require(r.Context(), caller, nil, need); perr != nil {
			return nil, perr
		}
		return nil, err
	}
	if err := h.require(r.Context(), caller, reg, need); err != nil {
		return nil, err
	}
	return reg, nil
}

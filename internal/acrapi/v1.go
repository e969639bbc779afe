package acrapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/oci"
	"github.com/acre-project/acre/internal/reference"
	"github.com/acre-project/acre/internal/registry"
	"github.com/acre-project/acre/internal/route"
)

// V1Handler serves ACR's data-plane API under /acr/v1/ (API version
// 2021-07-01; the api-version parameter is accepted and ignored).
type V1Handler struct {
	reg  *registry.Service
	gate *auth.Gate // nil: authentication is off
	log  *slog.Logger
}

// NewV1Handler returns the /acr/v1/ handler.
func NewV1Handler(reg *registry.Service, gate *auth.Gate, log *slog.Logger) *V1Handler {
	return &V1Handler{reg: reg, gate: gate, log: log}
}

// ServeHTTP implements http.Handler.
func (h *V1Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if err := h.serve(w, r); err != nil {
		oci.WriteError(w, r, h.log, err)
	}
}

func (h *V1Handler) serve(w http.ResponseWriter, r *http.Request) error {
	rt, ok := route.ParseV1(r.URL.Path)
	if !ok {
		return errcode.Errorf(errcode.EndpointUnknown, "no such endpoint: %s", r.URL.Path)
	}
	reg, err := h.reg.RegistryForHost(r.Context(), r.Host)
	if err != nil {
		return err
	}
	id, err := h.authorize(r, reg, rt)
	if err != nil {
		return err
	}
	repo := registry.Repo{Registry: reg, Name: rt.Name}
	switch m := r.Method; {
	case rt.Noun == "_catalog" && m == http.MethodGet:
		return h.catalog(w, r, reg, id)
	case rt.Noun == "" && m == http.MethodGet:
		return h.repository(w, r, repo)
	case rt.Noun == "" && m == http.MethodPatch:
		return h.patchRepository(w, r, repo)
	case rt.Noun == "" && m == http.MethodDelete:
		return h.deleteRepository(w, r, repo)
	case rt.Noun == "_tags" && rt.Key == "" && m == http.MethodGet:
		return h.tags(w, r, repo)
	case rt.Noun == "_tags" && m == http.MethodGet:
		return h.tag(w, r, repo, rt.Key)
	case rt.Noun == "_tags" && rt.Key != "" && m == http.MethodPatch:
		return h.patchTag(w, r, repo, rt.Key)
	case rt.Noun == "_tags" && rt.Key != "" && m == http.MethodDelete:
		if err := h.reg.Untag(r.Context(), repo, rt.Key); err != nil {
			return err
		}
		w.WriteHeader(http.StatusAccepted)
		return nil
	case rt.Noun == "_manifests" && rt.Key == "" && m == http.MethodGet:
		return h.manifests(w, r, repo)
	case rt.Noun == "_manifests" && m == http.MethodGet:
		return h.manifest(w, r, repo, rt.Key)
	case rt.Noun == "_manifests" && rt.Key != "" && m == http.MethodPatch:
		return h.patchManifest(w, r, repo, rt.Key)
	case rt.Noun == "_manifests" && rt.Key != "" && m == http.MethodDelete:
		if _, err := registry.ParseDigest(rt.Key); err != nil {
			return err
		}
		if err := h.reg.DeleteManifest(r.Context(), repo, rt.Key); err != nil {
			return err
		}
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	return errcode.Errorf(errcode.Unsupported, "method %s is not allowed on %s", r.Method, r.URL.Path)
}

// authorize checks the caller against what the route needs: metadata/read
// to read, metadata/write to change attributes, content/delete to delete.
func (h *V1Handler) authorize(r *http.Request, reg *meta.Registry, rt route.V1) (*auth.Identity, error) {
	if h.gate == nil {
		return nil, nil
	}
	id, err := h.gate.Identify(r, reg)
	if err != nil {
		return nil, err
	}
	if rt.Noun == "_catalog" {
		if !id.Grants.Catalog() {
			return nil, h.gate.Deny(r, reg, id, auth.Scope{Type: "registry", Name: "catalog", Actions: []string{"*"}})
		}
		return id, nil
	}
	if reference.ValidateName(rt.Name) != nil {
		return id, nil // the service answers NAME_INVALID
	}
	want, scope := auth.MetadataRead, "metadata_read"
	switch r.Method {
	case http.MethodPatch:
		want, scope = auth.MetadataWrite, "metadata_write"
	case http.MethodDelete:
		want, scope = auth.ContentDelete, "delete"
	}
	if !id.Grants.Allows(rt.Name, want) {
		return nil, h.gate.Deny(r, reg, id, auth.Scope{Type: "repository", Name: rt.Name, Actions: []string{scope}})
	}
	return id, nil
}

// query reads n, last, orderby and digest. n defaults to 100, at most 1000.
func query(r *http.Request) (meta.ListQuery, error) {
	v := r.URL.Query()
	q := meta.ListQuery{Last: v.Get("last"), N: 100}
	if s := v.Get("n"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return q, errcode.Errorf(errcode.PaginationNumberInvalid, "n must be a positive integer, not %q", s)
		}
		q.N = min(n, 1000)
	}
	switch o := strings.ToLower(v.Get("orderby")); o {
	case "", "none":
	case "timedesc", "timeasc":
		q.Order = meta.Order(o)
	default:
		return q, errcode.Errorf(errcode.InvalidArgument, "orderby must be timedesc, timeasc or none")
	}
	if d := v.Get("digest"); d != "" {
		dg, err := registry.ParseDigest(d)
		if err != nil {
			return q, err
		}
		q.Digest = dg
	}
	return q, nil
}

// setNext writes ACR's relative Link header when a page is full.
func setNext(w http.ResponseWriter, r *http.Request, q meta.ListQuery, got int, last string) {
	if got < q.N || last == "" {
		return
	}
	v := url.Values{"last": {last}, "n": {strconv.Itoa(q.N)}, "orderby": {string(q.Order)}}
	if q.Digest != "" {
		v.Set("digest", q.Digest.String())
	}
	w.Header().Set("Link", "<"+r.URL.EscapedPath()+"?"+v.Encode()+`>; rel="next"`)
}

func writeJSONStatus(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return nil
}

func decodePatch(r *http.Request) (registry.AttributesPatch, error) {
	var p registry.AttributesPatch
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, errcode.Errorf(errcode.InvalidArgument, "body must be changeable attributes: %v", err)
	}
	return p, nil
}

func acrTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

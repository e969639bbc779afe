package oci

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/reference"
	"github.com/acre-project/acre/internal/registry"
	"github.com/acre-project/acre/internal/route"
)

type identityKey struct{}

// identity returns the caller authorized by authorize (nil: auth is off).
func identity(ctx context.Context) *auth.Identity {
	id, _ := ctx.Value(identityKey{}).(*auth.Identity)
	return id
}

// can reports whether the caller may do a on repo (always, with auth off).
func can(ctx context.Context, repo string, a auth.Actions) bool {
	id := identity(ctx)
	return id == nil || id.Grants.Allows(repo, a)
}

// need is what a route requires: the ACR actions (any one of them) and the
// Docker scope a client must ask for.
func need(rt route.V2, method string) (auth.Actions, []string) {
	switch {
	case rt.Kind == route.Tags:
		return auth.ContentRead | auth.MetadataRead, []string{"pull"}
	case rt.Kind == route.Manifest && method == http.MethodPut, rt.Kind == route.Uploads, rt.Kind == route.Upload:
		return auth.ContentWrite | auth.SignatureWrite, []string{"pull", "push"}
	case method == http.MethodDelete:
		return auth.ContentDelete, []string{"delete"}
	default:
		return auth.ContentRead, []string{"pull"}
	}
}

// authorize authenticates the request and checks it against the route. It
// returns r with the identity in its context.
func (h *Handler) authorize(r *http.Request, reg *meta.Registry, rt route.V2) (*http.Request, error) {
	if h.gate == nil {
		return r, nil
	}
	id, err := h.gate.Identify(r, reg)
	if err != nil {
		return r, err
	}
	r = r.WithContext(context.WithValue(r.Context(), identityKey{}, id))
	switch rt.Kind {
	case route.Ping:
		if id.Principal == nil {
			return r, h.gate.Challenge(r, reg, nil, "sign in to use this registry")
		}
		return r, nil
	case route.Catalog:
		if !id.Grants.Catalog() {
			return r, h.gate.Deny(r, reg, id, auth.Scope{Type: "registry", Name: "catalog", Actions: []string{"*"}})
		}
		return r, nil
	}
	if reference.ValidateName(rt.Name) != nil {
		return r, nil // the handler answers NAME_INVALID
	}
	any, scope := need(rt, r.Method)
	if id.Grants.On(rt.Name)&any == 0 {
		return r, h.gate.Deny(r, reg, id, auth.Scope{Type: "repository", Name: rt.Name, Actions: scope})
	}
	return r, nil
}

// signerOnly reports a caller who may push signatures but not images.
func signerOnly(ctx context.Context, repo string) bool {
	return !can(ctx, repo, auth.ContentWrite)
}

// checkReferrer reads a manifest a signer pushes and refuses anything but a
// manifest with a subject pushed by digest; it returns the body to store.
func checkReferrer(r *http.Request, ref string, limit int64) (io.Reader, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	denied := errcode.Errorf(errcode.Denied, "this identity may only push signatures: manifests with a subject, by digest")
	if !reference.IsDigest(ref) || len(r.URL.Query()["tag"]) > 0 {
		return nil, denied
	}
	p, err := registry.ParseManifest(r.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, err
	}
	if p.Subject == "" {
		return nil, denied
	}
	return bytes.NewReader(body), nil
}

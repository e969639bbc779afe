// Package acrapi serves ACR's own endpoints beside the OCI API: the token
// endpoints /oauth2/token and /oauth2/exchange, so that Docker clients and
// ACR's clients (such as the Azure SDK) sign in the way they do with ACR,
// and /acr/v1/ (repository, tag and manifest details, their changeable
// attributes, deletes, the catalog with details). Errors are written as
// /v2/'s (oci.WriteError).
package acrapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"time"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/oci"
	"github.com/acre-project/acre/internal/registry"
)

// TokenHandler serves /oauth2/token and /oauth2/exchange.
type TokenHandler struct {
	reg  *registry.Service
	auth *auth.Service
	log  *slog.Logger
}

// NewTokenHandler returns the token endpoints.
func NewTokenHandler(reg *registry.Service, a *auth.Service, log *slog.Logger) *TokenHandler {
	return &TokenHandler{reg: reg, auth: a, log: log}
}

// ServeHTTP implements http.Handler.
func (h *TokenHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var err error
	switch {
	case r.URL.Path == "/oauth2/token" && (r.Method == http.MethodGet || r.Method == http.MethodPost):
		err = h.token(w, r)
	case r.URL.Path == "/oauth2/exchange" && r.Method == http.MethodPost:
		err = h.exchange(w, r)
	default:
		err = errcode.Errorf(errcode.Unsupported, "%s %s is not supported", r.Method, r.URL.Path)
	}
	if err != nil {
		oci.WriteError(w, r, h.log, err)
	}
}

// registryFor picks the registry a token is for: the one whose login
// server the service parameter names, else the one the Host header routes to.
func (h *TokenHandler) registryFor(r *http.Request) (*meta.Registry, error) {
	if svc := r.Form.Get("service"); svc != "" {
		if reg, err := h.reg.RegistryByLoginServer(r.Context(), svc); err == nil {
			return reg, nil
		}
	}
	return h.reg.RegistryForHost(r.Context(), r.Host)
}

func unauthorized(msg string) *errcode.Error {
	return errcode.Errorf(errcode.Unauthorized, "%s", msg)
}

type tokenResponse struct {
	Token        string `json:"token,omitempty"`
	AccessToken  string `json:"access_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	ExpiresIn    int    `json:"expires_in,omitempty"`
	IssuedAt     string `json:"issued_at,omitempty"`
}

// formFor parses r's form and finds the registry it asks a token of.
func (h *TokenHandler) formFor(r *http.Request) (*meta.Registry, error) {
	if err := r.ParseForm(); err != nil {
		return nil, errcode.Errorf(errcode.InvalidArgument, "malformed form: %v", err)
	}
	return h.registryFor(r)
}

// token serves /oauth2/token: GET with Basic credentials (or none, for
// anonymous pull), POST grant_type=password or refresh_token.
func (h *TokenHandler) token(w http.ResponseWriter, r *http.Request) error {
	reg, err := h.formFor(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	var p *meta.Principal
	grant := r.PostForm.Get("grant_type")
	switch {
	case r.Method == http.MethodPost && grant == "refresh_token":
		if p, err = h.auth.Refresh(r, reg, r.PostForm.Get("refresh_token")); err != nil {
			return signInError(err)
		}
	case r.Method == http.MethodPost && grant == "password" && r.PostForm.Get("username") == "":
		// Anonymous, as ACR's clients ask without credentials.
	case r.Method == http.MethodPost && grant == "password":
		p, err = h.auth.SignIn(r, auth.Attempt{Registry: reg, User: r.PostForm.Get("username"),
			Password: r.PostForm.Get("password"), Method: auth.MethodPassword, AuditAlways: true})
		if err != nil {
			return signInError(err)
		}
	case r.Method == http.MethodPost:
		return errcode.Errorf(errcode.InvalidArgument, "grant_type must be password or refresh_token")
	default:
		if u, pw, ok := r.BasicAuth(); ok {
			if p, err = h.auth.SignIn(r, auth.Attempt{Registry: reg, User: u, Password: pw, Method: auth.MethodBasic}); err != nil {
				return signInError(err)
			}
		}
	}
	// What the principal holds now: a refresh never grants more.
	var g auth.Grants
	if p == nil {
		g = auth.AnonymousGrants(reg)
	} else if g, err = h.auth.Grants(ctx, reg, p); err != nil {
		return err
	}
	iss, err := h.auth.IssueAccess(reg, p, g, r.Form["scope"])
	if err != nil {
		return err
	}
	resp := tokenResponse{Token: iss.Token, AccessToken: iss.Token, ExpiresIn: iss.ExpiresIn, IssuedAt: iss.IssuedAt.Format(time.RFC3339)}
	if p != nil && r.Form.Get("access_type") == "offline" {
		ref, err := h.auth.IssueRefresh(reg, p)
		if err != nil {
			return err
		}
		resp.RefreshToken = ref.Token
	}
	return writeJSON(w, resp)
}

// signInError maps a failed sign-in: 429 while throttled, else 401.
func signInError(err error) error {
	var th *auth.ThrottledError
	var de *auth.DeniedError
	switch {
	case errors.As(err, &th):
		return auth.Throttled(th)
	case errors.As(err, &de):
		return unauthorized(de.Reason)
	}
	return err
}

// exchange serves /oauth2/exchange: an identity token (a management
// session, acre's analog of the Entra ID token ACR takes) becomes a
// refresh token of this registry. The registry's own access and refresh
// tokens are refused: they never renew themselves.
func (h *TokenHandler) exchange(w http.ResponseWriter, r *http.Request) error {
	reg, err := h.formFor(r)
	if err != nil {
		return err
	}
	var tok string
	switch g := r.PostForm.Get("grant_type"); g {
	case "access_token", "access_token_refresh_token":
		tok = r.PostForm.Get("access_token")
	default:
		return errcode.Errorf(errcode.InvalidArgument, "grant_type %q is not supported", g)
	}
	p, err := h.auth.Exchange(r, reg, tok)
	if err != nil {
		return signInError(err)
	}
	ref, err := h.auth.IssueRefresh(reg, p)
	if err != nil {
		return err
	}
	return writeJSON(w, tokenResponse{RefreshToken: ref.Token})
}

func writeJSON(w http.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// Package acrapi serves ACR's own endpoints beside the OCI API: the token
// endpoints /oauth2/token and /oauth2/exchange, so that Docker clients and
// ACR's clients (such as the Azure SDK) sign in the way they do with ACR.
package acrapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"time"

	"github.com/acre-project/acre/internal/auth"
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
		err = registry.Errorf(registry.CodeUnsupported, "%s %s is not supported", r.Method, r.URL.Path)
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

func unauthorized(msg string) *registry.Error {
	return registry.Errorf(registry.CodeUnauthorized, "%s", msg)
}

type tokenResponse struct {
	Token        string `json:"token,omitempty"`
	AccessToken  string `json:"access_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	ExpiresIn    int    `json:"expires_in,omitempty"`
	IssuedAt     string `json:"issued_at,omitempty"`
}

// token serves /oauth2/token: GET with Basic credentials (or none, for
// anonymous pull), POST grant_type=password or refresh_token.
func (h *TokenHandler) token(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return registry.Errorf(registry.CodeUnsupported, "malformed form: %v", err).WithStatus(http.StatusBadRequest)
	}
	reg, err := h.registryFor(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	start := time.Now()
	var p *meta.Principal
	var user, method string
	grant := r.PostForm.Get("grant_type")
	switch {
	case r.Method == http.MethodPost && grant == "refresh_token":
		method, user = "refresh_token", "refresh-token"
		_, p, err = h.auth.VerifyToken(ctx, r.PostForm.Get("refresh_token"), reg.LoginServer, auth.TypeRefresh)
		if err != nil {
			h.auth.AuditLogin(ctx, reg, r, user, method, auth.ErrDenied, start)
			return unauthorized("the refresh token is invalid, expired or for another registry")
		}
	case r.Method == http.MethodPost && grant == "password" && r.PostForm.Get("username") == "":
		// Anonymous, as ACR's clients ask without credentials.
	case r.Method == http.MethodPost && grant == "password":
		method, user = "password", r.PostForm.Get("username")
		if p, err = h.login(r, reg, user, r.PostForm.Get("password"), method, start); err != nil {
			return err
		}
	case r.Method == http.MethodPost:
		return registry.Errorf(registry.CodeUnsupported, "grant_type must be password or refresh_token").WithStatus(http.StatusBadRequest)
	default:
		if u, pw, ok := r.BasicAuth(); ok {
			method, user = "basic", u
			if p, err = h.login(r, reg, u, pw, method, start); err != nil {
				return err
			}
		}
	}
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
	if p != nil && method != "basic" {
		h.auth.AuditLogin(ctx, reg, r, user, method, nil, start)
	}
	return writeJSON(w, resp)
}

// login checks a password and audits the attempt.
func (h *TokenHandler) login(r *http.Request, reg *meta.Registry, user, password, method string, start time.Time) (*meta.Principal, error) {
	p, fresh, err := h.auth.Login(r.Context(), reg, user, password, auth.ClientIP(r))
	if fresh || err != nil {
		h.auth.AuditLogin(r.Context(), reg, r, user, method, err, start)
	}
	var th *auth.ThrottledError
	if errors.As(err, &th) {
		return nil, auth.Throttled(th)
	}
	if err != nil {
		return nil, unauthorized("wrong user name or password")
	}
	return p, nil
}

// exchange serves /oauth2/exchange: an identity's token (an access token
// of this registry, or a management session) becomes a refresh token.
func (h *TokenHandler) exchange(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return registry.Errorf(registry.CodeUnsupported, "malformed form: %v", err).WithStatus(http.StatusBadRequest)
	}
	reg, err := h.registryFor(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	start := time.Now()
	var tok string
	switch g := r.PostForm.Get("grant_type"); g {
	case "access_token", "access_token_refresh_token":
		tok = r.PostForm.Get("access_token")
	case "refresh_token":
		tok = r.PostForm.Get("refresh_token")
	default:
		return registry.Errorf(registry.CodeUnsupported, "grant_type %q is not supported", g).WithStatus(http.StatusBadRequest)
	}
	_, p, err := h.auth.VerifyToken(ctx, tok, reg.LoginServer, auth.TypeAccess, auth.TypeRefresh)
	if err != nil {
		_, p, err = h.auth.VerifyToken(ctx, tok, auth.ManagementAudience, auth.TypeSession)
	}
	if err != nil || p == nil {
		h.auth.AuditLogin(ctx, reg, r, "token", "exchange", auth.ErrDenied, start)
		return unauthorized("the token is invalid, expired, anonymous or for another registry")
	}
	ref, err := h.auth.IssueRefresh(reg, p)
	if err != nil {
		return err
	}
	h.auth.AuditLogin(ctx, reg, r, p.Name, "exchange", nil, start)
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

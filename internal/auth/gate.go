package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
)

// Identity is an authenticated (or anonymous) caller of one registry.
type Identity struct {
	Principal *meta.Principal // nil: anonymous
	Grants    Grants
	Bearer    bool // authenticated by a bearer token (denials answer 401, never 403)
}

// Name is the caller's login name for logs and audit, "" when anonymous.
func (id *Identity) Name() string {
	if id == nil || id.Principal == nil {
		return ""
	}
	return id.Principal.Name
}

// Gate authenticates HTTP requests to a registry and answers denials the
// way Docker clients expect (the token flow's 401 challenge).
type Gate struct {
	svc *Service
}

// NewGate returns a Gate over svc.
func NewGate(svc *Service) *Gate { return &Gate{svc: svc} }

// Identify authenticates r's credentials for reg: Bearer tokens, Basic
// credentials, or none (anonymous). Wrong credentials fail with 401.
func (g *Gate) Identify(r *http.Request, reg *meta.Registry) (*Identity, error) {
	ctx := r.Context()
	h := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(h, " ")
	switch {
	case h == "":
		return &Identity{Grants: AnonymousGrants(reg)}, nil
	case strings.EqualFold(scheme, "Bearer"):
		c, p, err := g.svc.VerifyToken(ctx, strings.TrimSpace(cred), reg.LoginServer, TypeAccess)
		if err != nil {
			return nil, g.Challenge(r, reg, nil, "the bearer token is invalid, expired, revoked or for another registry")
		}
		if p != nil && !g.svc.usable(p, reg) {
			return nil, g.Challenge(r, reg, nil, "the identity is disabled")
		}
		if p == nil && !reg.Settings.AnonymousPull {
			return nil, g.Challenge(r, reg, nil, "anonymous pull is off")
		}
		return &Identity{Principal: p, Grants: TokenGrants(c), Bearer: true}, nil
	case strings.EqualFold(scheme, "Basic"):
		user, pass, ok := parseBasic(cred)
		if !ok {
			return nil, g.Challenge(r, reg, nil, "malformed Basic credentials")
		}
		p, err := g.svc.SignIn(r, Attempt{Registry: reg, User: user, Password: pass, Method: MethodBasic})
		if err != nil {
			return nil, g.SignInError(r, reg, err)
		}
		grants, err := g.svc.Grants(ctx, reg, p)
		if err != nil {
			return nil, err
		}
		return &Identity{Principal: p, Grants: grants}, nil
	}
	return nil, g.Challenge(r, reg, nil, "unsupported Authorization scheme")
}

// SignInError is the answer to a failed sign-in: 429 while throttled, the
// token flow's 401 challenge when refused, else err itself.
func (g *Gate) SignInError(r *http.Request, reg *meta.Registry, err error) error {
	var th *ThrottledError
	var de *DeniedError
	switch {
	case errors.As(err, &th):
		return Throttled(th)
	case errors.As(err, &de):
		return g.Challenge(r, reg, nil, de.Reason)
	}
	return err
}

// Throttled is the 429 answer to a throttled login.
func Throttled(th *ThrottledError) *errcode.Error {
	e := errcode.Errorf(errcode.TooManyRequests, "%s (retry in %s)", th.Error(), th.RetryAfter.Round(time.Second))
	e.RetryAfter = time.Duration(int(th.RetryAfter.Seconds())+1) * time.Second // whole seconds, rounded up
	return e
}

func parseBasic(cred string) (user, pass string, ok bool) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(b), ":")
}

// Realm is the token endpoint on the scheme and host the client addressed.
func Realm(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/oauth2/token"
}

// Challenge is the 401 that starts (or restarts) the token flow. scope may
// be nil (the /v2/ ping names no resource).
func (g *Gate) Challenge(r *http.Request, reg *meta.Registry, scope *Scope, why string) *errcode.Error {
	v := fmt.Sprintf(`Bearer realm="%s",service="%s"`, Realm(r), reg.LoginServer)
	var detail any
	if scope != nil {
		v += fmt.Sprintf(`,scope="%s"`, scope.String())
		detail = []map[string]string{{"Type": scope.Type, "Name": scope.Name, "Action": strings.Join(scope.Actions, ",")}}
	}
	e := errcode.Errorf(errcode.Unauthorized, "authentication required: %s", why)
	e.Detail = detail
	e.Challenge = v
	return e
}

// Deny answers a request its identity may not make: a challenge for the
// scope when the caller is anonymous or used a token (a cached token that
// lacks a scope must get a fresh 401, never a 403), else 403 DENIED.
func (g *Gate) Deny(r *http.Request, reg *meta.Registry, id *Identity, scope Scope) *errcode.Error {
	if id.Principal == nil || id.Bearer {
		return g.Challenge(r, reg, &scope, fmt.Sprintf("%s needs %s", scope.Name, strings.Join(scope.Actions, ",")))
	}
	return errcode.Errorf(errcode.Denied, "%s may not %s %s", id.Principal.Name, strings.Join(scope.Actions, ","), scope.Name).
		WithDetail([]map[string]string{{"Type": scope.Type, "Name": scope.Name, "Action": strings.Join(scope.Actions, ",")}})
}

// FullGrants returns everything the caller's identity may do: for a token,
// the grants of its principal (the token itself names only the scopes the
// client asked for). Catalog filtering and mount sources use it, so that a
// client need not ask for a scope on every repository it may read.
func (g *Gate) FullGrants(ctx context.Context, reg *meta.Registry, id *Identity) (Grants, error) {
	if id.Bearer && id.Principal != nil {
		return g.svc.Grants(ctx, reg, id.Principal)
	}
	return id.Grants, nil
}

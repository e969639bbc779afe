package auth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/armid"
	"github.com/acre-project/acre/internal/meta"
)

// Repository-scoped tokens: a registry's user names bound to a scope map,
// each with up to two passwords.

// TokenView is a repository-scoped token as the API shows it: ACR's
// resource shape, its passwords under credentials (values only when
// generated), and acre's scopeMap (the scope map's name).
type TokenView struct {
	ID                string           `json:"id"`
	Name              string           `json:"name"`
	Type              string           `json:"type"` // the resource type
	ResourceGroup     string           `json:"resourceGroup"`
	ScopeMapID        string           `json:"scopeMapId"`
	ScopeMap          string           `json:"scopeMap"`
	Status            string           `json:"status"` // enabled or disabled
	ProvisioningState string           `json:"provisioningState"`
	Created           time.Time        `json:"creationDate"`
	Credentials       TokenCredentials `json:"credentials"`
}

// TokenCredentials are a token's user name and passwords.
type TokenCredentials struct {
	Username     string   `json:"username"`
	Certificates []any    `json:"certificates"`
	Passwords    []Secret `json:"passwords"`
}

func tokenView(reg *meta.Registry, p *meta.Principal, creds []meta.Credential) TokenView {
	v := TokenView{ID: armid.Child(reg.Name, "tokens", p.Name), Name: p.Name, Type: armid.RegistryType + "/tokens",
		ResourceGroup: armid.ResourceGroup, ScopeMapID: armid.Child(reg.Name, "scopeMaps", p.ScopeMap), ScopeMap: p.ScopeMap,
		Status: "enabled", ProvisioningState: "Succeeded", Created: p.CreatedAt,
		Credentials: TokenCredentials{Username: p.Name, Certificates: []any{}, Passwords: []Secret{}}}
	if !p.Enabled {
		v.Status = "disabled"
	}
	for _, c := range creds {
		v.Credentials.Passwords = append(v.Credentials.Passwords, Secret{Name: c.Name, CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt})
	}
	return v
}

// Tokens lists the registry's tokens.
func (s *Service) Tokens(ctx context.Context, reg *meta.Registry) ([]TokenView, error) {
	q := s.meta.Read()
	ps, err := q.ListPrincipals(ctx, reg.ID, meta.KindToken)
	if err != nil {
		return nil, err
	}
	out := []TokenView{}
	for i := range ps {
		creds, err := q.ListCredentials(ctx, ps[i].ID)
		if err != nil {
			return nil, err
		}
		out = append(out, tokenView(reg, &ps[i], creds))
	}
	return out, nil
}

// Token shows one token.
func (s *Service) Token(ctx context.Context, reg *meta.Registry, name string) (TokenView, error) {
	q := s.meta.Read()
	p, err := tokenPrincipal(ctx, q, reg, name)
	if err != nil {
		return TokenView{}, err
	}
	creds, err := q.ListCredentials(ctx, p.ID)
	return tokenView(reg, p, creds), err
}

// TokenSpec is a new token: its name, scope map (a name, or a scope map
// id as ACR spells it), status ("" for enabled), and its passwords' expiry
// (zero: never). With NoPasswords it has none until generated.
type TokenSpec struct {
	Name        string
	ScopeMap    string
	Status      string
	Expiry      time.Time
	NoPasswords bool
}

// CreateToken creates a token bound to a scope map, with both passwords
// generated (returned once) unless spec.NoPasswords.
func (s *Service) CreateToken(ctx context.Context, reg *meta.Registry, spec TokenSpec) (TokenView, error) {
	name, scopeMap := spec.Name, scopeMapName(spec.ScopeMap)
	if !tokenNameRe.Match(name) || name == reg.Name {
		return TokenView{}, invalid("token name %q: 5-50 letters, digits and dashes, not the registry's name", name)
	}
	if spec.Status != "" && spec.Status != "enabled" && spec.Status != "disabled" {
		return TokenView{}, invalid("status must be enabled or disabled")
	}
	var view TokenView
	err := s.meta.Tx(ctx, func(q Store) error {
		if _, ok := systemScopeMaps[scopeMap]; !ok {
			if _, err := q.GetScopeMap(ctx, reg.ID, scopeMap); errors.Is(err, meta.ErrNotFound) {
				return invalid("no scope map named %q", scopeMap)
			} else if err != nil {
				return err
			}
		}
		toks, err := q.ListPrincipals(ctx, reg.ID, meta.KindToken)
		if err != nil {
			return err
		}
		if lim := s.opts.Limits(reg.SKU).Tokens; len(toks) >= lim {
			return invalid("a %s registry holds at most %d tokens", reg.SKU, lim)
		}
		if err := nameFree(ctx, q, name, reg.ID); err != nil {
			return err
		}
		now := time.Now().UTC()
		p := &meta.Principal{Kind: meta.KindToken, Name: name, RegistryID: reg.ID, ScopeMap: scopeMap, Enabled: spec.Status != "disabled", CreatedAt: now}
		if err := q.CreatePrincipal(ctx, p); errors.Is(err, meta.ErrConflict) {
			return invalid("a token named %q exists", name)
		} else if err != nil {
			return err
		}
		view = tokenView(reg, p, nil)
		if spec.NoPasswords {
			return nil
		}
		for _, n := range []string{"password1", "password2"} {
			v := NewSecret(24)
			if err := q.PutCredential(ctx, &meta.Credential{PrincipalID: p.ID, Name: n, Hash: HashSecret(v), ExpiresAt: spec.Expiry, CreatedAt: now}); err != nil {
				return err
			}
			view.Credentials.Passwords = append(view.Credentials.Passwords, Secret{Name: n, Value: v, CreatedAt: now, ExpiresAt: spec.Expiry})
		}
		return nil
	})
	s.Forget()
	return view, err
}

// scopeMapName takes a scope map's name or its ARM id (as az sends it).
func scopeMapName(s string) string {
	if p, ok := armid.Parse(s); ok && strings.EqualFold(p.Kind, "scopeMaps") {
		return p.Name
	}
	return s
}

// UpdateToken changes a token's scope map and/or status ("" keeps them).
func (s *Service) UpdateToken(ctx context.Context, reg *meta.Registry, name, scopeMap, status string) (TokenView, error) {
	err := s.meta.Tx(ctx, func(q Store) error {
		p, err := tokenPrincipal(ctx, q, reg, name)
		if err != nil {
			return err
		}
		switch status {
		case "":
		case "enabled", "disabled":
			if err := q.SetPrincipalEnabled(ctx, p.ID, status == "enabled"); err != nil {
				return err
			}
			if status == "disabled" && p.Enabled {
				// Its tokens stay dead should it be enabled again.
				if err := q.RevokeTokens(ctx, p.ID, meta.RevokeAll); err != nil {
					return err
				}
			}
		default:
			return invalid("status must be enabled or disabled")
		}
		if scopeMap = scopeMapName(scopeMap); scopeMap != "" && scopeMap != p.ScopeMap {
			// Replace the principal's scope map by recreating the row's value.
			if _, ok := systemScopeMaps[scopeMap]; !ok {
				if _, err := q.GetScopeMap(ctx, reg.ID, scopeMap); err != nil {
					return invalid("no scope map named %q", scopeMap)
				}
			}
			if err := q.SetPrincipalScopeMap(ctx, p.ID, scopeMap); err != nil {
				return err
			}
			return q.RevokeTokens(ctx, p.ID, meta.RevokeAccess)
		}
		return nil
	})
	s.Forget()
	if err != nil {
		return TokenView{}, err
	}
	return s.Token(ctx, reg, name)
}

// GenerateTokenPassword (re)generates password1 or password2 of a token;
// the tokens it signed in for end.
func (s *Service) GenerateTokenPassword(ctx context.Context, reg *meta.Registry, name, which string, expiry time.Time) (Secret, error) {
	if which != "password1" && which != "password2" {
		return Secret{}, invalid("password name must be password1 or password2")
	}
	sec := Secret{Name: which, Value: NewSecret(24), CreatedAt: time.Now().UTC(), ExpiresAt: expiry}
	err := s.meta.Tx(ctx, func(q Store) error {
		p, err := tokenPrincipal(ctx, q, reg, name)
		if err != nil {
			return err
		}
		if err := q.PutCredential(ctx, &meta.Credential{PrincipalID: p.ID, Name: which, Hash: HashSecret(sec.Value), ExpiresAt: expiry, CreatedAt: sec.CreatedAt}); err != nil {
			return err
		}
		return q.RevokeTokens(ctx, p.ID, meta.RevokeAll)
	})
	s.Forget()
	return sec, err
}

// DeleteTokenPassword deletes password1 or password2 of a token (ACR's
// token credential delete); tokens issued to it stop working.
func (s *Service) DeleteTokenPassword(ctx context.Context, reg *meta.Registry, name, which string) error {
	if which != "password1" && which != "password2" {
		return invalid("password name must be password1 or password2")
	}
	err := s.meta.Tx(ctx, func(q Store) error {
		p, err := tokenPrincipal(ctx, q, reg, name)
		if err != nil {
			return err
		}
		if err := q.DeleteCredential(ctx, p.ID, which); err != nil {
			return err
		}
		return q.RevokeTokens(ctx, p.ID, meta.RevokeAll)
	})
	s.Forget()
	return err
}

// DeleteToken deletes a token.
func (s *Service) DeleteToken(ctx context.Context, reg *meta.Registry, name string) error {
	err := s.meta.Tx(ctx, func(q Store) error {
		p, err := tokenPrincipal(ctx, q, reg, name)
		if err != nil {
			return err
		}
		return q.DeletePrincipal(ctx, p.ID)
	})
	s.Forget()
	return err
}

// tokenPrincipal loads the token named name (ErrNotFound for another kind).
func tokenPrincipal(ctx context.Context, q meta.Principals, reg *meta.Registry, name string) (*meta.Principal, error) {
	p, err := q.PrincipalByName(ctx, reg.ID, name)
	if err == nil && p.Kind != meta.KindToken {
		err = meta.ErrNotFound
	}
	return p, err
}

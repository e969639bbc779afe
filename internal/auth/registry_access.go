package auth

import (
	"context"
	"errors"
	"regexp"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// Admin user and repository-scoped tokens belong to one registry.

var adminPasswordNames = []string{"password", "password2"}

// AdminCredentials describes a registry's admin user. Passwords are stored
// hashed, so they are shown only when (re)generated.
type AdminCredentials struct {
	Enabled   bool     `json:"adminUserEnabled"`
	Username  string   `json:"username"`
	Passwords []Secret `json:"passwords"`
}

func (s *Service) adminPrincipal(ctx context.Context, q meta.Queries, reg *meta.Registry) (*meta.Principal, error) {
	p, err := q.PrincipalByName(ctx, reg.ID, reg.Name)
	if err == nil && p.Kind == meta.KindAdmin {
		return p, nil
	}
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return nil, err
	}
	if err == nil {
		return nil, invalid("a token named %q shadows the admin user", reg.Name)
	}
	p = &meta.Principal{Kind: meta.KindAdmin, Name: reg.Name, RegistryID: reg.ID, Enabled: true, CreatedAt: time.Now().UTC()}
	return p, q.CreatePrincipal(ctx, p)
}

// AdminShow describes the admin user (password names and times, no values).
func (s *Service) AdminShow(ctx context.Context, reg *meta.Registry) (AdminCredentials, error) {
	out := AdminCredentials{Enabled: reg.Settings.AdminEnabled, Username: reg.Name, Passwords: []Secret{}}
	q := s.meta.Read()
	p, err := q.PrincipalByName(ctx, reg.ID, reg.Name)
	if errors.Is(err, meta.ErrNotFound) || (err == nil && p.Kind != meta.KindAdmin) {
		return out, nil
	} else if err != nil {
		return out, err
	}
	creds, err := q.ListCredentials(ctx, p.ID)
	for _, c := range creds {
		out.Passwords = append(out.Passwords, Secret{Name: c.Name})
	}
	return out, err
}

// AdminRenew generates new admin passwords: the one named, or both when
// name is empty. The values are returned once.
func (s *Service) AdminRenew(ctx context.Context, reg *meta.Registry, name string) (AdminCredentials, error) {
	names := adminPasswordNames
	if name != "" {
		if name != "password" && name != "password2" {
			return AdminCredentials{}, invalid("password name must be password or password2")
		}
		names = []string{name}
	}
	out := AdminCredentials{Enabled: reg.Settings.AdminEnabled, Username: reg.Name}
	err := s.meta.Tx(ctx, func(q meta.Queries) error {
		p, err := s.adminPrincipal(ctx, q, reg)
		if err != nil {
			return err
		}
		for _, n := range names {
			v := NewSecret(24)
			if err := q.PutCredential(ctx, &meta.Credential{PrincipalID: p.ID, Name: n, Hash: HashSecret(v), CreatedAt: time.Now().UTC()}); err != nil {
				return err
			}
			out.Passwords = append(out.Passwords, Secret{Name: n, Value: v})
		}
		return nil
	})
	s.Forget()
	return out, err
}

var tokenNameRe = regexp.MustCompile(`^[a-zA-Z0-9-]{5,50}$`)

// ScopeMapView is a scope map as the API shows it.
type ScopeMapView struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Actions     []string  `json:"actions"`
	Type        string    `json:"type"` // SystemDefined or UserDefined
	Created     time.Time `json:"creationDate,omitzero"`
}

// ScopeMaps lists the system scope maps and the registry's own.
func (s *Service) ScopeMaps(ctx context.Context, reg *meta.Registry) ([]ScopeMapView, error) {
	var out []ScopeMapView
	for _, n := range sortedKeys(systemScopeMaps) {
		out = append(out, ScopeMapView{Name: n, Actions: systemScopeMaps[n], Type: "SystemDefined",
			Description: "Built-in scope map " + n})
	}
	ms, err := s.meta.Read().ListScopeMaps(ctx, reg.ID)
	for _, m := range ms {
		out = append(out, ScopeMapView{Name: m.Name, Description: m.Description, Actions: m.Actions, Type: "UserDefined", Created: m.CreatedAt})
	}
	return out, err
}

// PutScopeMap creates or replaces a user-defined scope map.
func (s *Service) PutScopeMap(ctx context.Context, reg *meta.Registry, name, description string, actions []string) (ScopeMapView, error) {
	if _, ok := systemScopeMaps[name]; ok || !tokenNameRe.MatchString(name) {
		return ScopeMapView{}, invalid("scope map name %q: 5-50 letters, digits and dashes, not a system scope map", name)
	}
	if len(actions) == 0 || len(actions) > 500 {
		return ScopeMapView{}, invalid("a scope map needs 1 to 500 actions")
	}
	for _, a := range actions {
		if _, _, err := ParseScopeMapAction(a); err != nil {
			return ScopeMapView{}, invalid("%v", err)
		}
	}
	m := &meta.ScopeMap{RegistryID: reg.ID, Name: name, Description: description, Actions: actions, CreatedAt: time.Now().UTC()}
	err := s.meta.Tx(ctx, func(q meta.Queries) error {
		ms, err := q.ListScopeMaps(ctx, reg.ID)
		if err != nil {
			return err
		}
		if lim := s.opts.Limits(reg.SKU).ScopeMaps; len(ms) >= lim && !hasScopeMap(ms, name) {
			return invalid("a %s registry holds at most %d scope maps", reg.SKU, lim)
		}
		return q.PutScopeMap(ctx, m)
	})
	s.Forget()
	return ScopeMapView{Name: name, Description: description, Actions: actions, Type: "UserDefined", Created: m.CreatedAt}, err
}

// DeleteScopeMap deletes a user-defined scope map no token uses.
func (s *Service) DeleteScopeMap(ctx context.Context, reg *meta.Registry, name string) error {
	err := s.meta.Tx(ctx, func(q meta.Queries) error {
		toks, err := q.ListPrincipals(ctx, reg.ID, meta.KindToken)
		if err != nil {
			return err
		}
		for _, t := range toks {
			if t.ScopeMap == name {
				return invalid("token %s uses scope map %s", t.Name, name)
			}
		}
		return q.DeleteScopeMap(ctx, reg.ID, name)
	})
	s.Forget()
	return err
}

// TokenView is a repository-scoped token as the API shows it.
type TokenView struct {
	Name        string    `json:"name"`
	ScopeMap    string    `json:"scopeMapId"`
	Status      string    `json:"status"` // enabled or disabled
	Created     time.Time `json:"creationDate"`
	Credentials []Secret  `json:"passwords"`
}

func tokenView(p *meta.Principal, creds []meta.Credential) TokenView {
	v := TokenView{Name: p.Name, ScopeMap: p.ScopeMap, Status: "enabled", Created: p.CreatedAt, Credentials: []Secret{}}
	if !p.Enabled {
		v.Status = "disabled"
	}
	for _, c := range creds {
		v.Credentials = append(v.Credentials, Secret{Name: c.Name, ExpiresAt: c.ExpiresAt})
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
		out = append(out, tokenView(&ps[i], creds))
	}
	return out, nil
}

// Token shows one token.
func (s *Service) Token(ctx context.Context, reg *meta.Registry, name string) (TokenView, error) {
	q := s.meta.Read()
	p, err := q.PrincipalByName(ctx, reg.ID, name)
	if err == nil && p.Kind != meta.KindToken {
		err = meta.ErrNotFound
	}
	if err != nil {
		return TokenView{}, err
	}
	creds, err := q.ListCredentials(ctx, p.ID)
	return tokenView(p, creds), err
}

// CreateToken creates a token bound to a scope map, with both passwords
// generated (returned once).
func (s *Service) CreateToken(ctx context.Context, reg *meta.Registry, name, scopeMap string, expiry time.Time) (TokenView, error) {
	if !tokenNameRe.MatchString(name) || name == reg.Name {
		return TokenView{}, invalid("token name %q: 5-50 letters, digits and dashes, not the registry's name", name)
	}
	var view TokenView
	err := s.meta.Tx(ctx, func(q meta.Queries) error {
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
		now := time.Now().UTC()
		p := &meta.Principal{Kind: meta.KindToken, Name: name, RegistryID: reg.ID, ScopeMap: scopeMap, Enabled: true, CreatedAt: now}
		if err := q.CreatePrincipal(ctx, p); errors.Is(err, meta.ErrConflict) {
			return invalid("a token named %q exists", name)
		} else if err != nil {
			return err
		}
		view = tokenView(p, nil)
		for _, n := range []string{"password1", "password2"} {
			v := NewSecret(24)
			if err := q.PutCredential(ctx, &meta.Credential{PrincipalID: p.ID, Name: n, Hash: HashSecret(v), ExpiresAt: expiry, CreatedAt: now}); err != nil {
				return err
			}
			view.Credentials = append(view.Credentials, Secret{Name: n, Value: v, ExpiresAt: expiry})
		}
		return nil
	})
	return view, err
}

// UpdateToken changes a token's scope map and/or status ("" keeps them).
func (s *Service) UpdateToken(ctx context.Context, reg *meta.Registry, name, scopeMap, status string) (TokenView, error) {
	err := s.meta.Tx(ctx, func(q meta.Queries) error {
		p, err := q.PrincipalByName(ctx, reg.ID, name)
		if err == nil && p.Kind != meta.KindToken {
			err = meta.ErrNotFound
		}
		if err != nil {
			return err
		}
		switch status {
		case "":
		case "enabled", "disabled":
			if err := q.SetPrincipalEnabled(ctx, p.ID, status == "enabled"); err != nil {
				return err
			}
		default:
			return invalid("status must be enabled or disabled")
		}
		if scopeMap != "" && scopeMap != p.ScopeMap {
			// Replace the principal's scope map by recreating the row's value.
			if _, ok := systemScopeMaps[scopeMap]; !ok {
				if _, err := q.GetScopeMap(ctx, reg.ID, scopeMap); err != nil {
					return invalid("no scope map named %q", scopeMap)
				}
			}
			return q.SetPrincipalScopeMap(ctx, p.ID, scopeMap)
		}
		return nil
	})
	s.Forget()
	if err != nil {
		return TokenView{}, err
	}
	return s.Token(ctx, reg, name)
}

// GenerateTokenPassword (re)generates password1 or password2 of a token.
func (s *Service) GenerateTokenPassword(ctx context.Context, reg *meta.Registry, name, which string, expiry time.Time) (Secret, error) {
	if which != "password1" && which != "password2" {
		return Secret{}, invalid("password name must be password1 or password2")
	}
	sec := Secret{Name: which, Value: NewSecret(24), ExpiresAt: expiry}
	err := s.meta.Tx(ctx, func(q meta.Queries) error {
		p, err := q.PrincipalByName(ctx, reg.ID, name)
		if err == nil && p.Kind != meta.KindToken {
			err = meta.ErrNotFound
		}
		if err != nil {
			return err
		}
		return q.PutCredential(ctx, &meta.Credential{PrincipalID: p.ID, Name: which, Hash: HashSecret(sec.Value), ExpiresAt: expiry, CreatedAt: time.Now().UTC()})
	})
	s.Forget()
	return sec, err
}

// DeleteToken deletes a token.
func (s *Service) DeleteToken(ctx context.Context, reg *meta.Registry, name string) error {
	err := s.meta.Tx(ctx, func(q meta.Queries) error {
		p, err := q.PrincipalByName(ctx, reg.ID, name)
		if err == nil && p.Kind != meta.KindToken {
			err = meta.ErrNotFound
		}
		if err != nil {
			return err
		}
		return q.DeletePrincipal(ctx, p.ID)
	})
	s.Forget()
	return err
}

func hasScopeMap(ms []meta.ScopeMap, name string) bool {
	for _, m := range ms {
		if m.Name == name {
			return true
		}
	}
	return false
}

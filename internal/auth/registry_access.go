package auth

import (
	"context"
	"errors"
	"time"

	"github.com/acre-project/acre/internal/names"

	"github.com/acre-project/acre/internal/armid"
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
	Note      string   `json:"note,omitempty"`
}

// hashedNote tells a reader of `credential show` why no values are shown.
const hashedNote = "acre stores admin passwords hashed, so their values are shown only when generated: " +
	"by enabling the admin user (acre update --admin-enabled true) or by acre credential renew"

func (s *Service) adminPrincipal(ctx context.Context, q namespace, reg *meta.Registry) (*meta.Principal, error) {
	p, err := q.PrincipalByName(ctx, reg.ID, reg.Name)
	if err == nil && p.Kind == meta.KindAdmin {
		return p, nil
	}
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return nil, err
	}
	if err == nil {
		return nil, invalid("a %s named %q shadows the admin user", p.Kind, reg.Name)
	}
	if err := nameFree(ctx, q, reg.Name, reg.ID); err != nil {
		return nil, err
	}
	p = &meta.Principal{Kind: meta.KindAdmin, Name: reg.Name, RegistryID: reg.ID, Enabled: true, CreatedAt: time.Now().UTC()}
	return p, q.CreatePrincipal(ctx, p)
}

// AdminShow describes the admin user (password names and times, no values).
func (s *Service) AdminShow(ctx context.Context, reg *meta.Registry) (AdminCredentials, error) {
	out := AdminCredentials{Enabled: reg.Settings.AdminEnabled, Username: reg.Name, Passwords: []Secret{}, Note: hashedNote}
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
// name is empty. The values are returned once; tokens the admin user held end.
func (s *Service) AdminRenew(ctx context.Context, reg *meta.Registry, name string) (AdminCredentials, error) {
	names := adminPasswordNames
	if name != "" {
		if name != "password" && name != "password2" {
			return AdminCredentials{}, invalid("password name must be password or password2")
		}
		names = []string{name}
	}
	out := AdminCredentials{Enabled: reg.Settings.AdminEnabled, Username: reg.Name}
	err := s.meta.Tx(ctx, func(q Store) error {
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
		return q.RevokeTokens(ctx, p.ID, meta.RevokeAll)
	})
	s.Forget()
	return out, err
}

// maxDescription bounds a scope map's description, as every stored text.
const maxDescription = 1024

var tokenNameRe = names.New(`^[a-zA-Z0-9-]*$`, 5, 50)

// ScopeMapView is a scope map as the API shows it: ACR's resource shape.
type ScopeMapView struct {
	ID                string    `json:"id"`
	Name              string    `json:"name"`
	Type              string    `json:"type"` // the resource type
	ResourceGroup     string    `json:"resourceGroup"`
	Description       string    `json:"description"`
	Actions           []string  `json:"actions"`
	ScopeMapType      string    `json:"scopeMapType"` // SystemDefined or UserDefined
	ProvisioningState string    `json:"provisioningState"`
	Created           time.Time `json:"creationDate,omitzero"`
}

func scopeMapView(reg *meta.Registry, name, desc string, actions []string, typ string, created time.Time) ScopeMapView {
	return ScopeMapView{ID: armid.Child(reg.Name, "scopeMaps", name), Name: name, Type: armid.RegistryType + "/scopeMaps",
		ResourceGroup: armid.ResourceGroup, Description: desc, Actions: actions, ScopeMapType: typ, ProvisioningState: "Succeeded",
		Created: created}
}

// ScopeMaps lists the system scope maps and the registry's own.
func (s *Service) ScopeMaps(ctx context.Context, reg *meta.Registry) ([]ScopeMapView, error) {
	var out []ScopeMapView
	for _, n := range sortedKeys(systemScopeMaps) {
		out = append(out, scopeMapView(reg, n, "Built-in scope map "+n, systemScopeMaps[n], "SystemDefined", time.Time{}))
	}
	ms, err := s.meta.Read().ListScopeMaps(ctx, reg.ID)
	for _, m := range ms {
		out = append(out, scopeMapView(reg, m.Name, m.Description, m.Actions, "UserDefined", m.CreatedAt))
	}
	return out, err
}

// PutScopeMap creates or replaces a user-defined scope map.
func (s *Service) PutScopeMap(ctx context.Context, reg *meta.Registry, name, description string, actions []string) (ScopeMapView, error) {
	if _, ok := systemScopeMaps[name]; ok || !tokenNameRe.Match(name) {
		return ScopeMapView{}, invalid("scope map name %q: 5-50 letters, digits and dashes, not a system scope map", name)
	}
	if len(description) > maxDescription {
		return ScopeMapView{}, invalid("a scope map's description has at most %d bytes", maxDescription)
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
	err := s.meta.Tx(ctx, func(q Store) error {
		ms, err := q.ListScopeMaps(ctx, reg.ID)
		if err != nil {
			return err
		}
		if lim := s.opts.Limits(reg.SKU).ScopeMaps; len(ms) >= lim && !hasScopeMap(ms, name) {
			return invalid("a %s registry holds at most %d scope maps", reg.SKU, lim)
		}
		if err := q.PutScopeMap(ctx, m); err != nil {
			return err
		}
		// Access tokens of the tokens using the map end: it may grant less now.
		toks, err := q.ListPrincipals(ctx, reg.ID, meta.KindToken)
		if err != nil {
			return err
		}
		for _, t := range toks {
			if t.ScopeMap == name {
				if err := q.RevokeTokens(ctx, t.ID, meta.RevokeAccess); err != nil {
					return err
				}
			}
		}
		return nil
	})
	s.Forget()
	return scopeMapView(reg, name, description, actions, "UserDefined", m.CreatedAt), err
}

// DeleteScopeMap deletes a user-defined scope map no token uses.
func (s *Service) DeleteScopeMap(ctx context.Context, reg *meta.Registry, name string) error {
	err := s.meta.Tx(ctx, func(q Store) error {
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

func hasScopeMap(ms []meta.ScopeMap, name string) bool {
	for _, m := range ms {
		if m.Name == name {
			return true
		}
	}
	return false
}

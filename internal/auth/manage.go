package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/names"

	"github.com/acre-project/acre/internal/armid"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/reference"
	"github.com/google/uuid"
)

// ErrInvalid marks a management request that is wrong in itself.
var ErrInvalid = errors.New("invalid request")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// minPassword is the shortest password a user may choose.
const minPassword = 12

// Secret is a generated credential, returned once and never stored in clear.
type Secret struct {
	Name      string    `json:"name"`
	Value     string    `json:"value,omitempty"`
	CreatedAt time.Time `json:"creationTime,omitzero"`
	ExpiresAt time.Time `json:"expiry,omitzero"`
}

// CreateIdentity creates a server-wide user, service principal or managed
// identity. A user gets the password given (or a generated one); the other
// kinds get a generated id (when name is empty) and secret.
func (s *Service) CreateIdentity(ctx context.Context, kind, name, password string) (*meta.Principal, Secret, error) {
	switch kind {
	case meta.KindUser:
	case meta.KindServicePrincipal, meta.KindManagedIdentity:
		if name == "" {
			name = uuid.NewString()
		}
	default:
		return nil, Secret{}, invalid("kind must be user, serviceprincipal or managedidentity")
	}
	if !identityNameRe.Match(name) || name == RefreshTokenUser {
		return nil, Secret{}, invalid("an identity needs a name of 1 to 128 letters, digits and . _ @ + -")
	}
	credName := "password"
	if kind != meta.KindUser {
		credName = "secret"
	}
	if password == "" {
		password = NewSecret(24)
	} else if len(password) < minPassword {
		return nil, Secret{}, invalid("a password needs at least %d characters", minPassword)
	}
	now := time.Now().UTC()
	p := &meta.Principal{Kind: kind, Name: name, Enabled: true, CreatedAt: now}
	err := s.meta.Tx(ctx, func(q Store) error {
		if err := nameFree(ctx, q, name, 0); err != nil {
			return err
		}
		if err := q.CreatePrincipal(ctx, p); err != nil {
			return err
		}
		return q.PutCredential(ctx, &meta.Credential{PrincipalID: p.ID, Name: credName, Hash: HashSecret(password), CreatedAt: now})
	})
	if errors.Is(err, meta.ErrConflict) {
		return nil, Secret{}, invalid("an identity named %q exists", name)
	}
	return p, Secret{Name: credName, Value: password}, err
}

// ResetSecret replaces the credential of a server-wide identity and ends
// every token it holds.
func (s *Service) ResetSecret(ctx context.Context, name, password string) (Secret, error) {
	p, err := s.meta.Read().PrincipalByName(ctx, 0, name)
	if err == nil && p.RegistryID != 0 {
		err = meta.ErrNotFound
	}
	if err != nil {
		return Secret{}, err
	}
	credName := "password"
	if p.Kind != meta.KindUser {
		credName = "secret"
	}
	if password == "" {
		password = NewSecret(24)
	} else if len(password) < minPassword {
		return Secret{}, invalid("a password needs at least %d characters", minPassword)
	}
	err = s.meta.Tx(ctx, func(q Store) error {
		if err := q.PutCredential(ctx, &meta.Credential{PrincipalID: p.ID, Name: credName, Hash: HashSecret(password), CreatedAt: time.Now().UTC()}); err != nil {
			return err
		}
		return q.RevokeTokens(ctx, p.ID, meta.RevokeAll) // sessions and refresh tokens signed in with the old secret end
	})
	s.Forget()
	return Secret{Name: credName, Value: password}, err
}

// DeleteIdentity removes a server-wide identity with its credentials and roles.
func (s *Service) DeleteIdentity(ctx context.Context, name string) error {
	err := s.meta.Tx(ctx, func(q Store) error {
		p, err := q.PrincipalByName(ctx, 0, name)
		if err != nil {
			return err
		}
		if p.RegistryID != 0 {
			return meta.ErrNotFound
		}
		return q.DeletePrincipal(ctx, p.ID)
	})
	s.Forget()
	return err
}

// RoleScope is where a role assignment applies.
type RoleScope struct {
	Registry   string // "": every registry
	Repository string // "": the whole registry
}

// ParseRoleScope parses "/", "/registries/<name>" or
// "/registries/<name>/repositories/<repo>". It also takes ARM ids as az
// passes them (`--scope $(az acr show -n r --query id -o tsv)`): a
// registry's id names that registry; a subscription or resource group
// names every registry, since acre has one of each.
func ParseRoleScope(s string) (RoleScope, error) {
	if s == "" || s == "/" {
		return RoleScope{}, nil
	}
	if p, ok := armid.Parse(s); ok {
		if p.Kind != "" {
			return RoleScope{}, invalid("scope %q: roles are assigned on a registry's id, not on its %s", s, p.Kind)
		}
		return RoleScope{Registry: strings.ToLower(p.Registry)}, nil
	}
	rest, ok := strings.CutPrefix(s, "/registries/")
	if !ok {
		return RoleScope{}, invalid("scope %q: use /, /registries/<name> or /registries/<name>/repositories/<repo>", s)
	}
	reg, repo, hasRepo := strings.Cut(rest, "/repositories/")
	if reg == "" || strings.Contains(reg, "/") || (hasRepo && reference.ValidateName(strings.TrimSuffix(strings.TrimSuffix(repo, "*"), "/")) != nil && repo != "*") {
		return RoleScope{}, invalid("scope %q: use /, /registries/<name> or /registries/<name>/repositories/<repo>", s)
	}
	return RoleScope{Registry: reg, Repository: repo}, nil
}

func (r RoleScope) String() string {
	switch {
	case r.Registry == "":
		return "/"
	case r.Repository == "":
		return "/registries/" + r.Registry
	}
	return "/registries/" + r.Registry + "/repositories/" + r.Repository
}

// Assignment is a role assignment as the API shows it.
type Assignment struct {
	ID       int64     `json:"id"`
	Assignee string    `json:"assignee"`
	Kind     string    `json:"principalType"`
	Role     string    `json:"role"`
	Scope    string    `json:"scope"`
	Created  time.Time `json:"createdTime"`
}

// Assign grants role to the server-wide identity assignee at scope.
func (s *Service) Assign(ctx context.Context, assignee, role string, scope RoleScope) (*Assignment, error) {
	role, ok := ValidRole(role)
	if !ok {
		return nil, invalid("unknown role; use one of %s", strings.Join(Roles(), ", "))
	}
	var out *Assignment
	err := s.meta.Tx(ctx, func(q Store) error {
		p, err := q.PrincipalByName(ctx, 0, assignee)
		if errors.Is(err, meta.ErrNotFound) || (err == nil && p.RegistryID != 0) {
			return invalid("no identity named %q", assignee)
		} else if err != nil {
			return err
		}
		a := &meta.RoleAssignment{PrincipalID: p.ID, Role: role, Repository: scope.Repository, CreatedAt: time.Now().UTC()}
		if scope.Registry != "" {
			reg, err := q.GetRegistry(ctx, scope.Registry)
			if errors.Is(err, meta.ErrNotFound) {
				return invalid("no registry named %q", scope.Registry)
			} else if err != nil {
				return err
			}
			a.RegistryID = reg.ID
		}
		if err := q.CreateRoleAssignment(ctx, a); errors.Is(err, meta.ErrConflict) {
			return invalid("%s already has %s at %s", assignee, role, scope)
		} else if err != nil {
			return err
		}
		out = &Assignment{ID: a.ID, Assignee: p.Name, Kind: p.Kind, Role: role, Scope: scope.String(), Created: a.CreatedAt}
		return nil
	})
	s.Forget()
	return out, err
}

// Assignments lists role assignments, optionally of one assignee.
func (s *Service) Assignments(ctx context.Context, assignee string) ([]Assignment, error) {
	q := s.meta.Read()
	all, err := q.ListAllRoleAssignments(ctx)
	if err != nil {
		return nil, err
	}
	regNames := map[int64]string{}
	regs, err := q.ListRegistries(ctx, meta.Page{N: 1 << 30})
	if err != nil {
		return nil, err
	}
	for _, r := range regs {
		regNames[r.ID] = r.Name
	}
	out := []Assignment{}
	for _, a := range all {
		p, err := q.GetPrincipal(ctx, a.PrincipalID)
		if err != nil {
			continue
		}
		if assignee != "" && p.Name != assignee {
			continue
		}
		sc := RoleScope{Registry: regNames[a.RegistryID], Repository: a.Repository}
		out = append(out, Assignment{ID: a.ID, Assignee: p.Name, Kind: p.Kind, Role: a.Role, Scope: sc.String(), Created: a.CreatedAt})
	}
	return out, nil
}

// Unassign deletes a role assignment; the access tokens its principal
// holds end (refresh tokens and sessions read the roles anew on each use).
func (s *Service) Unassign(ctx context.Context, id int64) error {
	err := s.meta.Tx(ctx, func(q Store) error {
		all, err := q.ListAllRoleAssignments(ctx)
		if err != nil {
			return err
		}
		for _, a := range all {
			if a.ID == id {
				if err := q.DeleteRoleAssignment(ctx, id); err != nil {
					return err
				}
				return q.RevokeTokens(ctx, a.PrincipalID, meta.RevokeAccess)
			}
		}
		return meta.ErrNotFound
	})
	s.Forget()
	return err
}

// identityNameRe is what a server-wide identity may be called: no ':' (it
// ends the user name in Basic credentials), no '/' or spaces.
var identityNameRe = names.New(`^[A-Za-z0-9][A-Za-z0-9._@+-]*$`, 1, 128)

// namespace is where login names live: principals, and registries (each
// the name of its admin user).
type namespace interface {
	meta.Principals
	meta.Registries
}

// nameFree checks that no other principal would share a login name with
// one about to be created in registryID (0: server-wide): a registry's
// token or admin user would shadow a server-wide identity of that name in
// the registry, and lock it out there. A registry's name is its admin
// user's name, so it counts as taken too.
func nameFree(ctx context.Context, q namespace, name string, registryID int64) error {
	ps, err := q.PrincipalsNamed(ctx, name)
	if err != nil {
		return err
	}
	for _, p := range ps {
		switch {
		case p.RegistryID == registryID:
			return invalid("an identity named %q exists", name)
		case p.RegistryID == 0 || registryID == 0:
			return invalid("the name %q is taken by a %s; server-wide identities and registry tokens share one namespace", name, p.Kind)
		}
	}
	if registryID == 0 {
		if _, err := q.GetRegistry(ctx, name); err == nil {
			return invalid("the name %q is a registry's, which its admin user signs in with", name)
		} else if !errors.Is(err, meta.ErrNotFound) {
			return err
		}
	}
	return nil
}

// Management returns the management permissions p holds at server scope
// (reg nil) or in reg (server-scope assignments count everywhere).
func (s *Service) Management(ctx context.Context, p *meta.Principal, reg *meta.Registry) (Management, error) {
	if p.RegistryID != 0 {
		return 0, nil // tokens and admin users are data-plane identities
	}
	as, err := s.meta.Read().ListRoleAssignments(ctx, p.ID)
	if err != nil {
		return 0, err
	}
	var m Management
	for _, a := range as {
		if a.Repository != "" {
			continue
		}
		if a.RegistryID == 0 || (reg != nil && a.RegistryID == reg.ID) {
			m |= roleManagement[a.Role]
		}
	}
	return m, nil
}

// Identities lists server-wide identities, optionally of one kind.
func (s *Service) Identities(ctx context.Context, kind string) ([]meta.Principal, error) {
	return s.meta.Read().ListPrincipals(ctx, 0, kind)
}

// Audit lists audit entries of a registry, optionally of one category.
func (s *Service) Audit(ctx context.Context, registryID, after int64, n int, category string) ([]meta.AuditEntry, error) {
	out := []meta.AuditEntry{}
	for len(out) < n {
		es, err := s.meta.Read().ListAudit(ctx, registryID, after, n)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if category == "" || e.Category == category {
				out = append(out, e)
			}
		}
		if len(es) < n {
			break
		}
		after = es[len(es)-1].ID
	}
	return out, nil
}

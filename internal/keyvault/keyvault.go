// Package keyvault is a small Key Vault: vaults of versioned secrets, the
// role Key Vault Secrets User that lets an identity read them, and the
// resolution of App Service's @Microsoft.KeyVault(...) references.
package keyvault

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// RoleSecretsUser may read secrets' values.
const RoleSecretsUser = "Key Vault Secrets User"

// ErrInvalid marks a request that is wrong in itself.
var ErrInvalid = errors.New("invalid request")

// ErrDenied is a reference the identity may not read.
var ErrDenied = errors.New("access to the vault was denied")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Store is the part of the metadata store the vaults use: the vaults
// themselves and the principals that references are resolved for.
type Store interface {
	meta.Vaults
	meta.Principals
}

// Service manages vaults.
type Service struct {
	meta   meta.View[Store]
	domain string
}

// New returns a Service; vaults' URIs are https://<vault>.vault.<domain>.
func New(m meta.View[Store], domain string) *Service { return &Service{meta: m, domain: domain} }

var nameRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$`)
var secretRE = regexp.MustCompile(`^[a-zA-Z0-9-]{1,127}$`)

// VaultView is a vault as the API shows it.
type VaultView struct {
	Name      string    `json:"name"`
	VaultURI  string    `json:"vaultUri"`
	CreatedAt time.Time `json:"createdTime"`
}

func (s *Service) view(v *meta.Vault) VaultView {
	return VaultView{Name: v.Name, VaultURI: "https://" + v.Name + ".vault." + s.domain + "/", CreatedAt: v.CreatedAt}
}

// SecretView is a secret (its value only when asked for one secret).
type SecretView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Version   string    `json:"version"`
	Value     string    `json:"value,omitempty"`
	CreatedAt time.Time `json:"created"`
}

func (s *Service) secretView(vault string, x *meta.VaultSecret, withValue bool) SecretView {
	v := SecretView{ID: "https://" + vault + ".vault." + s.domain + "/secrets/" + x.Name + "/" + x.Version, Name: x.Name,
		Version: x.Version, CreatedAt: x.CreatedAt}
	if withValue {
		v.Value = x.Value
	}
	return v
}

// CreateVault creates a vault.
func (s *Service) CreateVault(ctx context.Context, name string) (VaultView, error) {
	if !nameRE.MatchString(name) {
		return VaultView{}, invalid("vault name %q: 3-24 letters, digits and hyphens, starting with a letter", name)
	}
	v := &meta.Vault{Name: strings.ToLower(name), CreatedAt: time.Now().UTC()}
	err := s.meta.Tx(ctx, func(q Store) error { return q.CreateVault(ctx, v) })
	if errors.Is(err, meta.ErrConflict) {
		return VaultView{}, invalid("a vault named %q exists", name)
	}
	return s.view(v), err
}

// Vault shows a vault.
func (s *Service) Vault(ctx context.Context, name string) (VaultView, error) {
	v, err := s.meta.Read().GetVault(ctx, strings.ToLower(name))
	if err != nil {
		return VaultView{}, err
	}
	return s.view(v), nil
}

// Vaults lists vaults.
func (s *Service) Vaults(ctx context.Context) ([]VaultView, error) {
	vs, err := s.meta.Read().ListVaults(ctx)
	out := []VaultView{}
	for i := range vs {
		out = append(out, s.view(&vs[i]))
	}
	return out, err
}

// DeleteVault deletes a vault with its secrets and role assignments.
func (s *Service) DeleteVault(ctx context.Context, name string) error {
	return s.meta.Tx(ctx, func(q Store) error {
		v, err := q.GetVault(ctx, strings.ToLower(name))
		if err != nil {
			return err
		}
		return q.DeleteVault(ctx, v.ID)
	})
}

// SetSecret stores a new version of a secret.
func (s *Service) SetSecret(ctx context.Context, vault, name, value string) (SecretView, error) {
	if !secretRE.MatchString(name) {
		return SecretView{}, invalid("secret name %q: 1-127 letters, digits and hyphens", name)
	}
	if len(value) > 25*1024 {
		return SecretView{}, invalid("a secret holds at most 25 KiB")
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return SecretView{}, err
	}
	x := &meta.VaultSecret{Name: name, Version: hex.EncodeToString(b), Value: value, CreatedAt: time.Now().UTC()}
	err := s.meta.Tx(ctx, func(q Store) error {
		v, err := q.GetVault(ctx, strings.ToLower(vault))
		if err != nil {
			return err
		}
		x.VaultID = v.ID
		return q.PutVaultSecret(ctx, x)
	})
	return s.secretView(strings.ToLower(vault), x, false), err
}

// Secret shows a secret with its value (the latest version when version is "").
func (s *Service) Secret(ctx context.Context, vault, name, version string) (SecretView, error) {
	q := s.meta.Read()
	v, err := q.GetVault(ctx, strings.ToLower(vault))
	if err != nil {
		return SecretView{}, err
	}
	x, err := q.GetVaultSecret(ctx, v.ID, name, version)
	if err != nil {
		return SecretView{}, err
	}
	return s.secretView(v.Name, x, true), nil
}

// Secrets lists a vault's secrets (latest versions, without values).
func (s *Service) Secrets(ctx context.Context, vault string) ([]SecretView, error) {
	q := s.meta.Read()
	v, err := q.GetVault(ctx, strings.ToLower(vault))
	if err != nil {
		return nil, err
	}
	xs, err := q.ListVaultSecrets(ctx, v.ID)
	out := []SecretView{}
	for i := range xs {
		out = append(out, s.secretView(v.Name, &xs[i], false))
	}
	return out, err
}

// IsRole reports whether role names a Key Vault role (any spelling).
func IsRole(role string) bool { return strings.EqualFold(strings.TrimSpace(role), RoleSecretsUser) }

// Assign grants Key Vault Secrets User to a server-wide identity at scope
// "/" (every vault) or "/vaults/<name>".
func (s *Service) Assign(ctx context.Context, assignee, scope string) (map[string]any, error) {
	vaultName, ok := strings.CutPrefix(scope, "/vaults/")
	if !ok && scope != "/" && scope != "" {
		return nil, invalid("a Key Vault role's scope is / or /vaults/<name>")
	}
	r := &meta.VaultRole{Role: RoleSecretsUser, CreatedAt: time.Now().UTC()}
	var p *meta.Principal
	err := s.meta.Tx(ctx, func(q Store) error {
		var err error
		p, err = q.PrincipalByName(ctx, 0, assignee)
		if errors.Is(err, meta.ErrNotFound) || (err == nil && p.RegistryID != 0) {
			return invalid("no identity named %q", assignee)
		} else if err != nil {
			return err
		}
		r.PrincipalID = p.ID
		if vaultName != "" {
			v, err := q.GetVault(ctx, strings.ToLower(vaultName))
			if errors.Is(err, meta.ErrNotFound) {
				return invalid("no vault named %q", vaultName)
			} else if err != nil {
				return err
			}
			r.VaultID = v.ID
		}
		if err := q.CreateVaultRole(ctx, r); errors.Is(err, meta.ErrConflict) {
			return invalid("%s already has %s at %s", assignee, RoleSecretsUser, scope)
		} else {
			return err
		}
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"id": r.ID, "assignee": p.Name, "principalType": p.Kind, "role": RoleSecretsUser, "scope": scope,
		"createdTime": r.CreatedAt}, nil
}

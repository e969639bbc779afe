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
	"strings"
	"time"

	"github.com/acre-project/acre/internal/names"

	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/seal"
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
	meta.VaultSealing
	meta.Principals
}

// Service manages vaults. Secret values are sealed at rest with box.
type Service struct {
	meta   meta.View[Store]
	domain string
	box    *seal.Box
}

// New returns a Service; vaults' URIs are https://<vault>.vault.<domain>;
// box seals secret values at rest.
func New(m meta.View[Store], domain string, box *seal.Box) *Service {
	return &Service{meta: m, domain: domain, box: box}
}

// sealLabel binds a sealed value to its place.
func sealLabel(vault string, x *meta.VaultSecret) string {
	return "keyvault:" + vault + "/" + x.Name + "/" + x.Version
}

// value opens a stored secret's value.
func (s *Service) value(vault string, x *meta.VaultSecret) (string, error) {
	if !x.Sealed {
		return x.Value, nil
	}
	v, err := s.box.Open(x.Value, sealLabel(vault, x))
	if err != nil {
		return "", fmt.Errorf("secret %s of vault %s: %w", x.Name, vault, err)
	}
	return v, nil
}

// SealPlain seals the secret values stored in plain text before acre
// sealed them (it runs on start; safe on several nodes at once).
func (s *Service) SealPlain(ctx context.Context) (int, error) {
	vaults, err := s.meta.Read().ListVaults(ctx)
	if err != nil {
		return 0, err
	}
	names := map[int64]string{}
	for _, v := range vaults {
		names[v.ID] = v.Name
	}
	sealed := 0
	for {
		plain, err := s.meta.Read().PlainVaultSecrets(ctx, 100)
		if err != nil || len(plain) == 0 {
			return sealed, err
		}
		for i := range plain {
			x := &plain[i]
			v, err := s.box.Seal(x.Value, sealLabel(names[x.VaultID], x))
			if err != nil {
				return sealed, err
			}
			err = s.meta.Tx(ctx, func(q Store) error { return q.SealVaultSecret(ctx, x.VaultID, x.Name, x.Version, v) })
			if err != nil && !errors.Is(err, meta.ErrNotFound) { // gone, or sealed by another node
				return sealed, err
			}
			sealed++
		}
	}
}

var nameRE = names.New(`^[a-zA-Z][a-zA-Z0-9-]*[a-zA-Z0-9]$`, 3, 24)
var secretRE = names.New(`^[a-zA-Z0-9-]*$`, 1, 127)

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

func (s *Service) secretView(vault string, x *meta.VaultSecret) SecretView {
	return SecretView{ID: "https://" + vault + ".vault." + s.domain + "/secrets/" + x.Name + "/" + x.Version, Name: x.Name,
		Version: x.Version, CreatedAt: x.CreatedAt}
}

// CreateVault creates a vault.
func (s *Service) CreateVault(ctx context.Context, name string) (VaultView, error) {
	if !nameRE.Match(name) {
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
	if !secretRE.Match(name) {
		return SecretView{}, invalid("secret name %q: 1-127 letters, digits and hyphens", name)
	}
	if len(value) > 25*1024 {
		return SecretView{}, invalid("a secret holds at most 25 KiB")
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return SecretView{}, err
	}
	x := &meta.VaultSecret{Name: name, Version: hex.EncodeToString(b), Sealed: true, CreatedAt: time.Now().UTC()}
	sealed, err := s.box.Seal(value, sealLabel(strings.ToLower(vault), x))
	if err != nil {
		return SecretView{}, err
	}
	x.Value = sealed
	err = s.meta.Tx(ctx, func(q Store) error {
		v, err := q.GetVault(ctx, strings.ToLower(vault))
		if err != nil {
			return err
		}
		x.VaultID = v.ID
		return q.PutVaultSecret(ctx, x)
	})
	return s.secretView(strings.ToLower(vault), x), err
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
	view := s.secretView(v.Name, x)
	view.Value, err = s.value(v.Name, x)
	return view, err
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
		out = append(out, s.secretView(v.Name, &xs[i]))
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

package meta

import (
	"context"
	"time"
)

// Vault is a Key Vault: a named set of versioned secrets.
type Vault struct {
	ID        int64
	Name      string
	CreatedAt time.Time
}

// VaultSecret is one version of a secret.
type VaultSecret struct {
	VaultID int64
	Name    string
	Version string
	// Value is as package keyvault wrote it: sealed (encrypted) when
	// Sealed, plain text in rows written before values were sealed.
	Value     string
	Sealed    bool
	CreatedAt time.Time
}

// VaultRole grants a Key Vault role to a principal on a vault (VaultID 0: every vault).
type VaultRole struct {
	ID          int64
	VaultID     int64
	PrincipalID int64
	Role        string
	CreatedAt   time.Time
}

// Vaults stores vaults, their secrets and role assignments.
type Vaults interface {
	CreateVault(ctx context.Context, v *Vault) error // ErrConflict when the name is taken
	GetVault(ctx context.Context, name string) (*Vault, error)
	ListVaults(ctx context.Context) ([]Vault, error)
	DeleteVault(ctx context.Context, id int64) error // with its secrets and roles

	PutVaultSecret(ctx context.Context, s *VaultSecret) error
	// GetVaultSecret loads a version, or the latest when version is "".
	GetVaultSecret(ctx context.Context, vaultID int64, name, version string) (*VaultSecret, error)
	// ListVaultSecrets lists the latest version of each secret.
	ListVaultSecrets(ctx context.Context, vaultID int64) ([]VaultSecret, error)

	CreateVaultRole(ctx context.Context, r *VaultRole) error // ErrConflict when it exists
	// VaultRolesOf lists a principal's roles on a vault and on every vault.
	VaultRolesOf(ctx context.Context, principalID, vaultID int64) ([]VaultRole, error)
}

// VaultSealing finds secret values stored in plain text (written before
// acre sealed them) and replaces them with their sealed form.
type VaultSealing interface {
	// PlainVaultSecrets lists up to n secret versions stored unsealed.
	PlainVaultSecrets(ctx context.Context, n int) ([]VaultSecret, error)
	// SealVaultSecret replaces an unsealed version's value with sealed;
	// ErrNotFound when the version is gone or already sealed.
	SealVaultSecret(ctx context.Context, vaultID int64, name, version, sealed string) error
}

// SealKeyCheck keeps one value sealed under the key every node must share
// (the first node to start stores it), so that a node started with another
// key can tell and refuse to start.
type SealKeyCheck interface {
	// KeyCheck returns the stored value; ErrNotFound before the first start.
	KeyCheck(ctx context.Context) (string, error)
	// PutKeyCheck stores the value; ErrConflict when one is stored.
	PutKeyCheck(ctx context.Context, sealed string) error
}

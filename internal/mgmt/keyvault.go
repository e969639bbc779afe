package mgmt

import (
	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/keyvault"
)

// SetKeyVault serves the Key Vault endpoints with v.
func (h *Handler) SetKeyVault(v *keyvault.Service) { h.vault = v }

// assignVaultRole grants Key Vault Secrets User (scope / or /vaults/<name>);
// it needs the access permission at server scope (Owner).
func (h *Handler) assignVaultRole(q *req, assignee, scope string) (map[string]any, error) {
	if err := h.authorize(q, vault(auth.ManageAccess)); err != nil {
		return nil, err
	}
	return h.vault.Assign(q.Context(), assignee, scope)
}

func (h *Handler) listVaults(q *req, _ none) ([]keyvault.VaultView, error) {
	return h.vault.Vaults(q.Context())
}

func (h *Handler) createVault(q *req, in struct {
	Name string `json:"name"`
}) (keyvault.VaultView, error) {
	return h.vault.CreateVault(q.Context(), in.Name)
}

func (h *Handler) showVault(q *req, _ none) (keyvault.VaultView, error) {
	return h.vault.Vault(q.Context(), q.name())
}

func (h *Handler) deleteVault(q *req, _ none) error {
	return h.vault.DeleteVault(q.Context(), q.name())
}

func (h *Handler) listSecrets(q *req, _ none) ([]keyvault.SecretView, error) {
	return h.vault.Secrets(q.Context(), q.name())
}

func (h *Handler) setSecret(q *req, in struct {
	Value string `json:"value"`
}) (keyvault.SecretView, error) {
	return h.vault.SetSecret(q.Context(), q.name(), q.PathValue("secret"), in.Value)
}

func (h *Handler) showSecret(q *req, _ none) (keyvault.SecretView, error) {
	return h.vault.Secret(q.Context(), q.name(), q.PathValue("secret"), q.URL.Query().Get("version"))
}

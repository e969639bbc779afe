package mgmt

import (
	"errors"
	"net/http"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/keyvault"
	"github.com/acre-project/acre/internal/meta"
)

// SetKeyVault serves the Key Vault endpoints with v.
func (h *Handler) SetKeyVault(v *keyvault.Service) { h.vault = v }

// vaultOp wraps a Key Vault endpoint: the caller needs need at server scope.
func (h *Handler) vaultOp(need auth.Management, fn func(w http.ResponseWriter, r *http.Request) error) handler {
	return func(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
		if h.vault == nil {
			return errorf(http.StatusNotFound, "NotFound", "Key Vault is off on this server")
		}
		if err := h.require(r.Context(), caller, nil, need); err != nil {
			return err
		}
		return vaultError(fn(w, r))
	}
}

func vaultError(err error) error {
	if errors.Is(err, keyvault.ErrInvalid) {
		return errorf(http.StatusBadRequest, "BadRequest", "%v", err)
	}
	return err
}

// assignVaultRole grants Key Vault Secrets User (scope / or /vaults/<name>);
// it needs the access permission at server scope (Owner).
func (h *Handler) assignVaultRole(w http.ResponseWriter, r *http.Request, caller *meta.Principal, assignee, scope string) error {
	if h.vault == nil {
		return errorf(http.StatusNotFound, "NotFound", "Key Vault is off on this server")
	}
	if err := h.require(r.Context(), caller, nil, auth.ManageAccess); err != nil {
		return err
	}
	a, err := h.vault.Assign(r.Context(), assignee, scope)
	if err != nil {
		return vaultError(err)
	}
	return writeJSON(w, http.StatusCreated, a)
}

func (h *Handler) listVaults(w http.ResponseWriter, r *http.Request) error {
	vs, err := h.vault.Vaults(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, vs)
}

func (h *Handler) createVault(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	v, err := h.vault.CreateVault(r.Context(), in.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, v)
}

func (h *Handler) showVault(w http.ResponseWriter, r *http.Request) error {
	v, err := h.vault.Vault(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (h *Handler) deleteVault(w http.ResponseWriter, r *http.Request) error {
	if err := h.vault.DeleteVault(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) listSecrets(w http.ResponseWriter, r *http.Request) error {
	xs, err := h.vault.Secrets(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, xs)
}

func (h *Handler) setSecret(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Value string `json:"value"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	x, err := h.vault.SetSecret(r.Context(), r.PathValue("name"), r.PathValue("secret"), in.Value)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, x)
}

func (h *Handler) showSecret(w http.ResponseWriter, r *http.Request) error {
	x, err := h.vault.Secret(r.Context(), r.PathValue("name"), r.PathValue("secret"), r.URL.Query().Get("version"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, x)
}

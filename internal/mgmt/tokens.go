package mgmt

import (
	"net/http"
	"time"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/meta"
)

func (h *Handler) listScopeMaps(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageRead)
	if err != nil {
		return err
	}
	ms, err := h.auth.ScopeMaps(r.Context(), reg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ms)
}

func (h *Handler) showScopeMap(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageRead)
	if err != nil {
		return err
	}
	ms, err := h.auth.ScopeMaps(r.Context(), reg)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.Name == r.PathValue("name") {
			return writeJSON(w, http.StatusOK, m)
		}
	}
	return meta.ErrNotFound
}

func (h *Handler) putScopeMap(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageAccess)
	if err != nil {
		return err
	}
	var in struct {
		Description string   `json:"description"`
		Actions     []string `json:"actions"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	m, err := h.auth.PutScopeMap(r.Context(), reg, r.PathValue("name"), in.Description, in.Actions)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, m)
}

func (h *Handler) deleteScopeMap(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageAccess)
	if err != nil {
		return err
	}
	if err := h.auth.DeleteScopeMap(r.Context(), reg, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) listTokens(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageRead)
	if err != nil {
		return err
	}
	ts, err := h.auth.Tokens(r.Context(), reg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ts)
}

func (h *Handler) showToken(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageRead)
	if err != nil {
		return err
	}
	t, err := h.auth.Token(r.Context(), reg, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageAccess)
	if err != nil {
		return err
	}
	var in struct {
		Name        string    `json:"name"`
		ScopeMap    string    `json:"scopeMap"`
		ScopeMapID  string    `json:"scopeMapId"` // as ACR: a scope map's id
		Status      string    `json:"status"`
		Expiry      time.Time `json:"expiry"`
		NoPasswords bool      `json:"noPasswords"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.ScopeMap == "" {
		in.ScopeMap = in.ScopeMapID
	}
	t, err := h.auth.CreateToken(r.Context(), reg, auth.TokenSpec{Name: in.Name, ScopeMap: in.ScopeMap, Status: in.Status,
		Expiry: in.Expiry, NoPasswords: in.NoPasswords})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, t)
}

func (h *Handler) updateToken(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageAccess)
	if err != nil {
		return err
	}
	var in struct {
		ScopeMap string `json:"scopeMap"`
		Status   string `json:"status"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := h.auth.UpdateToken(r.Context(), reg, r.PathValue("name"), in.ScopeMap, in.Status)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

func (h *Handler) deleteToken(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageAccess)
	if err != nil {
		return err
	}
	if err := h.auth.DeleteToken(r.Context(), reg, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) generateTokenPassword(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageAccess)
	if err != nil {
		return err
	}
	var in struct {
		Name   string    `json:"name"`
		Expiry time.Time `json:"expiry"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	names := []string{in.Name}
	if in.Name == "" {
		names = []string{"password1", "password2"} // as ACR: no name generates both
	}
	secs := []auth.Secret{}
	for _, n := range names {
		sec, err := h.auth.GenerateTokenPassword(r.Context(), reg, r.PathValue("name"), n, in.Expiry)
		if err != nil {
			return err
		}
		secs = append(secs, sec)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"username": r.PathValue("name"), "passwords": secs})
}

func (h *Handler) deleteTokenPassword(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageAccess)
	if err != nil {
		return err
	}
	if err := h.auth.DeleteTokenPassword(r.Context(), reg, r.PathValue("name"), r.PathValue("password")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

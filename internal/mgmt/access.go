package mgmt

import (
	"net/http"
	"strconv"
	"time"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/keyvault"
	"github.com/acre-project/acre/internal/meta"
)

type identityView struct {
	Name    string    `json:"name"`
	Kind    string    `json:"principalType"`
	Enabled bool      `json:"enabled"`
	Created time.Time `json:"createdTime"`
}

func (h *Handler) listIdentities(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	if err := h.require(r.Context(), caller, nil, auth.ManageRead); err != nil {
		return err
	}
	ps, err := h.auth.Identities(r.Context(), r.URL.Query().Get("kind"))
	if err != nil {
		return err
	}
	out := []identityView{}
	for _, p := range ps {
		out = append(out, identityView{Name: p.Name, Kind: p.Kind, Enabled: p.Enabled, Created: p.CreatedAt})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) createIdentity(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	if err := h.require(r.Context(), caller, nil, auth.ManageAccess); err != nil {
		return err
	}
	var in struct {
		Name     string `json:"name"`
		Kind     string `json:"principalType"`
		Password string `json:"password"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Kind == "" {
		in.Kind = meta.KindUser
	}
	p, sec, err := h.auth.CreateIdentity(r.Context(), in.Kind, in.Name, in.Password)
	if err != nil {
		return err
	}
	out := map[string]any{"name": p.Name, "principalType": p.Kind, "enabled": true, "createdTime": p.CreatedAt}
	if in.Password == "" {
		out[sec.Name] = sec.Value
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (h *Handler) deleteIdentity(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	if err := h.require(r.Context(), caller, nil, auth.ManageAccess); err != nil {
		return err
	}
	if r.PathValue("name") == caller.Name {
		return errorf(http.StatusBadRequest, "BadRequest", "you cannot delete yourself")
	}
	if err := h.auth.DeleteIdentity(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) resetIdentity(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	if r.PathValue("name") != caller.Name {
		if err := h.require(r.Context(), caller, nil, auth.ManageAccess); err != nil {
			return err
		}
	}
	var in struct {
		Password string `json:"password"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	sec, err := h.auth.ResetSecret(r.Context(), r.PathValue("name"), in.Password)
	if err != nil {
		return err
	}
	out := map[string]any{"name": r.PathValue("name")}
	if in.Password == "" {
		out[sec.Name] = sec.Value
	}
	return writeJSON(w, http.StatusOK, out)
}

// scopeRegistry loads the registry a role scope names (nil for "/").
func (h *Handler) scopeRegistry(r *http.Request, sc auth.RoleScope) (*meta.Registry, error) {
	if sc.Registry == "" {
		return nil, nil
	}
	return h.reg.GetRegistry(r.Context(), sc.Registry)
}

func (h *Handler) listAssignments(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	assignee := r.URL.Query().Get("assignee")
	if assignee != caller.Name {
		if err := h.require(r.Context(), caller, nil, auth.ManageRead); err != nil {
			return err
		}
	}
	as, err := h.auth.Assignments(r.Context(), assignee)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, as)
}

func (h *Handler) createAssignment(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	var in struct {
		Assignee string `json:"assignee"`
		Role     string `json:"role"`
		Scope    string `json:"scope"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if keyvault.IsRole(in.Role) {
		return h.assignVaultRole(w, r, caller, in.Assignee, in.Scope)
	}
	sc, err := auth.ParseRoleScope(in.Scope)
	if err != nil {
		return err
	}
	reg, err := h.scopeRegistry(r, sc)
	if err != nil {
		return err
	}
	if err := h.require(r.Context(), caller, reg, auth.ManageAccess); err != nil {
		return err
	}
	a, err := h.auth.Assign(r.Context(), in.Assignee, in.Role, sc)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a)
}

func (h *Handler) deleteAssignment(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return errorf(http.StatusBadRequest, "BadRequest", "assignment id must be a number")
	}
	as, err := h.auth.Assignments(r.Context(), "")
	if err != nil {
		return err
	}
	for _, a := range as {
		if a.ID != id {
			continue
		}
		sc, _ := auth.ParseRoleScope(a.Scope)
		reg, err := h.scopeRegistry(r, sc)
		if err != nil {
			return err
		}
		if err := h.require(r.Context(), caller, reg, auth.ManageAccess); err != nil {
			return err
		}
		if err := h.auth.Unassign(r.Context(), id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return meta.ErrNotFound
}

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

func (h *Handler) listIdentities(q *req, _ none) ([]identityView, error) {
	ps, err := h.auth.Identities(q.Context(), q.URL.Query().Get("kind"))
	if err != nil {
		return nil, err
	}
	out := []identityView{}
	for _, p := range ps {
		out = append(out, identityView{Name: p.Name, Kind: p.Kind, Enabled: p.Enabled, Created: p.CreatedAt})
	}
	return out, nil
}

func (h *Handler) createIdentity(q *req, in struct {
	Name     string `json:"name"`
	Kind     string `json:"principalType"`
	Password string `json:"password"`
}) (map[string]any, error) {
	if in.Kind == "" {
		in.Kind = meta.KindUser
	}
	p, sec, err := h.auth.CreateIdentity(q.Context(), in.Kind, in.Name, in.Password)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"name": p.Name, "principalType": p.Kind, "enabled": true, "createdTime": p.CreatedAt}
	if in.Password == "" {
		out[sec.Name] = sec.Value
	}
	return out, nil
}

func (h *Handler) deleteIdentity(q *req, _ none) error {
	if q.name() == q.caller.Name {
		return errorf(http.StatusBadRequest, "BadRequest", "you cannot delete yourself")
	}
	return h.auth.DeleteIdentity(q.Context(), q.name())
}

func (h *Handler) resetIdentity(q *req, in struct {
	Password string `json:"password"`
}) (map[string]any, error) {
	sec, err := h.auth.ResetSecret(q.Context(), q.name(), in.Password)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"name": q.name()}
	if in.Password == "" {
		out[sec.Name] = sec.Value
	}
	return out, nil
}

// scopeRegistry loads the registry a role scope names (nil for "/").
func (h *Handler) scopeRegistry(r *http.Request, sc auth.RoleScope) (*meta.Registry, error) {
	if sc.Registry == "" {
		return nil, nil
	}
	return h.reg.GetRegistry(r.Context(), sc.Registry)
}

func (h *Handler) listAssignments(q *req, _ none) ([]auth.Assignment, error) {
	assignee := q.URL.Query().Get("assignee")
	if assignee != q.caller.Name {
		if err := h.require(q.Context(), q.caller, nil, auth.ManageRead); err != nil {
			return nil, err
		}
	}
	return h.auth.Assignments(q.Context(), assignee)
}

// createAssignment grants a role; the caller needs the access permission
// where the role applies (the scope of the body).
func (h *Handler) createAssignment(q *req, in struct {
	Assignee string `json:"assignee"`
	Role     string `json:"role"`
	Scope    string `json:"scope"`
}) (any, error) {
	if keyvault.IsRole(in.Role) {
		return h.assignVaultRole(q, in.Assignee, in.Scope)
	}
	sc, err := auth.ParseRoleScope(in.Scope)
	if err != nil {
		return nil, err
	}
	if err := h.requireIn(q, sc, auth.ManageAccess); err != nil {
		return nil, err
	}
	return h.auth.Assign(q.Context(), in.Assignee, in.Role, sc)
}

// requireIn checks that q's caller holds need where sc applies.
func (h *Handler) requireIn(q *req, sc auth.RoleScope, need auth.Management) error {
	reg, err := h.scopeRegistry(q.Request, sc)
	if err != nil {
		return err
	}
	return h.require(q.Context(), q.caller, reg, need)
}

func (h *Handler) deleteAssignment(q *req, _ none) error {
	id, err := strconv.ParseInt(q.PathValue("id"), 10, 64)
	if err != nil {
		return errorf(http.StatusBadRequest, "BadRequest", "assignment id must be a number")
	}
	as, err := h.auth.Assignments(q.Context(), "")
	if err != nil {
		return err
	}
	for _, a := range as {
		if a.ID != id {
			continue
		}
		sc, _ := auth.ParseRoleScope(a.Scope)
		if err := h.requireIn(q, sc, auth.ManageAccess); err != nil {
			return err
		}
		return h.auth.Unassign(q.Context(), id)
	}
	return meta.ErrNotFound
}

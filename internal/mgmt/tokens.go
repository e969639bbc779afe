package mgmt

import (
	"time"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/meta"
)

func (h *Handler) listScopeMaps(q *req, _ none) ([]auth.ScopeMapView, error) {
	return h.auth.ScopeMaps(q.Context(), q.reg)
}

func (h *Handler) showScopeMap(q *req, _ none) (auth.ScopeMapView, error) {
	ms, err := h.auth.ScopeMaps(q.Context(), q.reg)
	if err != nil {
		return auth.ScopeMapView{}, err
	}
	for _, m := range ms {
		if m.Name == q.name() {
			return m, nil
		}
	}
	return auth.ScopeMapView{}, meta.ErrNotFound
}

func (h *Handler) putScopeMap(q *req, in struct {
	Description string   `json:"description"`
	Actions     []string `json:"actions"`
}) (auth.ScopeMapView, error) {
	return h.auth.PutScopeMap(q.Context(), q.reg, q.name(), in.Description, in.Actions)
}

func (h *Handler) deleteScopeMap(q *req, _ none) error {
	return h.auth.DeleteScopeMap(q.Context(), q.reg, q.name())
}

func (h *Handler) listTokens(q *req, _ none) ([]auth.TokenView, error) {
	return h.auth.Tokens(q.Context(), q.reg)
}

func (h *Handler) showToken(q *req, _ none) (auth.TokenView, error) {
	return h.auth.Token(q.Context(), q.reg, q.name())
}

func (h *Handler) createToken(q *req, in struct {
	Name        string    `json:"name"`
	ScopeMap    string    `json:"scopeMap"`
	ScopeMapID  string    `json:"scopeMapId"` // as ACR: a scope map's id
	Status      string    `json:"status"`
	Expiry      time.Time `json:"expiry"`
	NoPasswords bool      `json:"noPasswords"`
}) (auth.TokenView, error) {
	if in.ScopeMap == "" {
		in.ScopeMap = in.ScopeMapID
	}
	return h.auth.CreateToken(q.Context(), q.reg, auth.TokenSpec{Name: in.Name, ScopeMap: in.ScopeMap, Status: in.Status,
		Expiry: in.Expiry, NoPasswords: in.NoPasswords})
}

func (h *Handler) updateToken(q *req, in struct {
	ScopeMap string `json:"scopeMap"`
	Status   string `json:"status"`
}) (auth.TokenView, error) {
	return h.auth.UpdateToken(q.Context(), q.reg, q.name(), in.ScopeMap, in.Status)
}

func (h *Handler) deleteToken(q *req, _ none) error {
	return h.auth.DeleteToken(q.Context(), q.reg, q.name())
}

func (h *Handler) generateTokenPassword(q *req, in struct {
	Name   string    `json:"name"`
	Expiry time.Time `json:"expiry"`
}) (map[string]any, error) {
	names := []string{in.Name}
	if in.Name == "" {
		names = []string{"password1", "password2"} // as ACR: no name generates both
	}
	secs := []auth.Secret{}
	for _, n := range names {
		sec, err := h.auth.GenerateTokenPassword(q.Context(), q.reg, q.name(), n, in.Expiry)
		if err != nil {
			return nil, err
		}
		secs = append(secs, sec)
	}
	return map[string]any{"username": q.name(), "passwords": secs}, nil
}

func (h *Handler) deleteTokenPassword(q *req, _ none) error {
	return h.auth.DeleteTokenPassword(q.Context(), q.reg, q.name(), q.PathValue("password"))
}

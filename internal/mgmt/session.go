package mgmt

import (
	"net/http"

	"github.com/acre-project/acre/internal/auth"
)

// session signs in (Basic credentials or a JSON user name and password)
// and returns a session token for this API and /oauth2/exchange.
func (h *Handler) session(w http.ResponseWriter, r *http.Request) error {
	var in struct{ Username, Password string }
	if u, p, ok := r.BasicAuth(); ok {
		in.Username, in.Password = u, p
	} else if err := decode(r, &in); err != nil {
		return err
	}
	p, err := h.auth.SignIn(r, auth.Attempt{User: in.Username, Password: in.Password, Method: auth.MethodSession, AuditAlways: true})
	if err != nil {
		return err
	}
	iss, err := h.auth.IssueSession(p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"token": iss.Token, "expiresIn": iss.ExpiresIn, "user": p.Name, "principalType": p.Kind})
}

func (h *Handler) whoami(q *req, _ none) (map[string]any, error) {
	as, err := h.auth.Assignments(q.Context(), q.caller.Name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"name": q.caller.Name, "principalType": q.caller.Kind, "roleAssignments": as}, nil
}

func (h *Handler) rotateKeys(q *req, _ none) error { return h.auth.RotateKeys(q.Context()) }

package mgmt

import (
	"net/http"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/meta"
)

// Every endpoint of the API runs one sequence, written once here:
// authenticate the caller (handle), check the access the endpoint needs
// (loading the {registry} of the path where it has one), decode the JSON
// body, call the endpoint, write its answer; any error is written by
// writeError. An endpoint is then only its call:
//
//	func (h *Handler) showToken(q *req, _ none) (auth.TokenView, error)
//
// registered with the status it answers and the access it needs:
//
//	h.handle("GET /api/v1/registries/{registry}/tokens/{name}", ok(h, inRegistry(auth.ManageRead), h.showToken))

// none is the input of an endpoint that reads no JSON body (its body, if
// any, is left to the call), and the output of one that answers with a
// status alone (204 No Content).
type none struct{}

// written is the output of an endpoint whose call wrote the answer itself
// to q.w (a stream, a log, a non-JSON format).
type written struct{}

// req is one call of an endpoint: the request, its signed-in caller and,
// for an endpoint with inRegistry access, the {registry} of the path,
// loaded and the caller's permission in it checked.
type req struct {
	*http.Request
	w      http.ResponseWriter // for calls that set headers or write their own answer
	caller *meta.Principal
	reg    *meta.Registry
}

// name is the {name} of the path.
func (q *req) name() string { return q.PathValue("name") }

// scope is where an endpoint's caller needs its permission.
type scope int

const (
	signedIn     scope = iota // any signed-in caller: the call checks the rest itself
	atServer                  // at server scope
	inRegistryOf              // in the {registry} of the path
	selfOrServer              // the {name} of the path is the caller, or at server scope
	webAppsOn                 // at server scope; 404 while web apps are off
	vaultsOn                  // at server scope; 404 while Key Vault is off
)

// access is the permission an endpoint needs, and where.
type access struct {
	scope scope
	need  auth.Management
}

func anyCaller() access                      { return access{scope: signedIn} }
func server(need auth.Management) access     { return access{atServer, need} }
func inRegistry(need auth.Management) access { return access{inRegistryOf, need} }
func selfOr(need auth.Management) access     { return access{selfOrServer, need} }
func webApp(need auth.Management) access     { return access{webAppsOn, need} }
func vault(need auth.Management) access      { return access{vaultsOn, need} }

// authorize checks that q's caller has a and loads q.reg where a names one.
func (h *Handler) authorize(q *req, a access) error {
	switch {
	case a.scope == webAppsOn && h.apps == nil:
		return errorf(http.StatusNotFound, "NotFound", "web apps are off on this server (webapps.addr in the configuration)")
	case a.scope == vaultsOn && h.vault == nil:
		return errorf(http.StatusNotFound, "NotFound", "Key Vault is off on this server")
	}
	switch a.scope {
	case signedIn:
		return nil
	case inRegistryOf:
		reg, err := h.registry(q.Request, q.caller, a.need)
		q.reg = reg
		return err
	case selfOrServer:
		if q.name() == q.caller.Name {
			return nil
		}
	}
	return h.require(q.Context(), q.caller, nil, a.need)
}

// endpoint is the sequence: authorize, decode In (unless none), call,
// write Out as JSON with status (none: status alone; written: nothing).
func endpoint[In, Out any](h *Handler, status int, a access, call func(q *req, in In) (Out, error)) handler {
	return func(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
		q := &req{Request: r, w: w, caller: caller}
		if err := h.authorize(q, a); err != nil {
			return err
		}
		var in In
		if _, bodiless := any(in).(none); !bodiless {
			if err := decode(r, &in); err != nil {
				return err
			}
		}
		out, err := call(q, in)
		if err != nil {
			return err
		}
		switch any(out).(type) {
		case written:
			return nil
		case none:
			w.WriteHeader(status)
			return nil
		}
		return writeJSON(w, status, out)
	}
}

// ok is an endpoint that answers 200 OK.
func ok[In, Out any](h *Handler, a access, call func(*req, In) (Out, error)) handler {
	return endpoint(h, http.StatusOK, a, call)
}

// created is an endpoint that answers 201 Created.
func created[In, Out any](h *Handler, a access, call func(*req, In) (Out, error)) handler {
	return endpoint(h, http.StatusCreated, a, call)
}

// accepted is an endpoint that answers 202 Accepted.
func accepted[In, Out any](h *Handler, a access, call func(*req, In) (Out, error)) handler {
	return endpoint(h, http.StatusAccepted, a, call)
}

// noContent is an endpoint that answers 204 No Content.
func noContent[In any](h *Handler, a access, call func(*req, In) error) handler {
	return endpoint(h, http.StatusNoContent, a, func(q *req, in In) (none, error) { return none{}, call(q, in) })
}

package mgmt

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/acre-project/acre/internal/armid"
	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/webhook"
)

// webhookView is a webhook as the API shows it: ACR's resource shape
// (id, type, location, provisioningState...) with acre's signed.
type webhookView struct {
	ID                string         `json:"id"`
	Name              string         `json:"name"`
	Type              string         `json:"type"`
	Location          string         `json:"location"`
	ResourceGroup     string         `json:"resourceGroup"`
	Tags              map[string]any `json:"tags"`
	ProvisioningState string         `json:"provisioningState"`
	ServiceURI        string         `json:"serviceUri"`
	Actions           []string       `json:"actions"`
	Scope             string         `json:"scope"`
	Status            string         `json:"status"`
	Signed            bool           `json:"signed"`
	CreationDate      time.Time      `json:"creationDate"`
}

func viewWebhook(reg *meta.Registry, w *meta.Webhook) webhookView {
	st := "enabled"
	if !w.Enabled {
		st = "disabled"
	}
	return webhookView{ID: armid.Child(reg.Name, "webhooks", w.Name), Name: w.Name, Type: armid.RegistryType + "/webhooks",
		Location: "local", ResourceGroup: armid.ResourceGroup, Tags: map[string]any{}, ProvisioningState: "Succeeded",
		ServiceURI: w.URI, Actions: w.Actions, Scope: w.Scope, Status: st, Signed: w.Secret != "", CreationDate: w.CreatedAt}
}

// webhookIn is a webhook as created or updated (absent fields keep their value on update).
type webhookIn struct {
	Name          string             `json:"name"`
	ServiceURI    *string            `json:"serviceUri"`
	Actions       []string           `json:"actions"`
	Scope         *string            `json:"scope"`
	CustomHeaders *map[string]string `json:"customHeaders"`
	Status        *string            `json:"status"`
	Secret        *string            `json:"secret"`
}

func (in webhookIn) apply(sp *webhook.Spec) error {
	if in.ServiceURI != nil {
		sp.URI = *in.ServiceURI
	}
	if in.Actions != nil {
		sp.Actions = in.Actions
	}
	if in.Scope != nil {
		sp.Scope = *in.Scope
	}
	if in.CustomHeaders != nil {
		sp.Headers = *in.CustomHeaders
	}
	if in.Secret != nil {
		sp.Secret = *in.Secret
	}
	if in.Status != nil {
		switch *in.Status {
		case "enabled", "disabled":
			sp.Enabled = *in.Status == "enabled"
		default:
			return errorf(http.StatusBadRequest, "BadRequest", "status must be enabled or disabled")
		}
	}
	return nil
}

func (h *Handler) listWebhooks(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageRead)
	if err != nil {
		return err
	}
	hooks, err := h.hooks.List(r.Context(), reg)
	if err != nil {
		return err
	}
	out := []webhookView{}
	for i := range hooks {
		out = append(out, viewWebhook(reg, &hooks[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) createWebhook(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageWrite)
	if err != nil {
		return err
	}
	var in webhookIn
	if err := decode(r, &in); err != nil {
		return err
	}
	sp := webhook.Spec{Enabled: true}
	if err := in.apply(&sp); err != nil {
		return err
	}
	hook, err := h.hooks.Create(r.Context(), reg, in.Name, sp)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, viewWebhook(reg, hook))
}

func (h *Handler) showWebhook(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageRead)
	if err != nil {
		return err
	}
	hook, err := h.hooks.Get(r.Context(), reg, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewWebhook(reg, hook))
}

func (h *Handler) updateWebhook(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageWrite)
	if err != nil {
		return err
	}
	var in webhookIn
	if err := decode(r, &in); err != nil {
		return err
	}
	hook, err := h.hooks.Update(r.Context(), reg, r.PathValue("name"), in.apply)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewWebhook(reg, hook))
}

func (h *Handler) deleteWebhook(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageWrite)
	if err != nil {
		return err
	}
	if err := h.hooks.Delete(r.Context(), reg, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) pingWebhook(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageWrite)
	if err != nil {
		return err
	}
	id, err := h.hooks.Ping(r.Context(), reg, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"id": id})
}

func (h *Handler) webhookConfig(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageWrite)
	if err != nil {
		return err
	}
	hook, err := h.hooks.Get(r.Context(), reg, r.PathValue("name"))
	if err != nil {
		return err
	}
	headers := hook.Headers
	if headers == nil {
		headers = map[string]string{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"serviceUri": hook.URI, "customHeaders": headers})
}

// eventView is a delivery shaped like ACR's webhook events: the request's
// content is the event object, the response's statusCode a string (empty
// before any answer), as ARM has them. deliveryId is acre's: it pages.
type eventView struct {
	ID         string `json:"id"`
	DeliveryID int64  `json:"deliveryId"`
	Request    any    `json:"eventRequestMessage"`
	Response   any    `json:"eventResponseMessage"`
	State      string `json:"state"`
	Attempts   int    `json:"attempts"`
	Error      string `json:"error,omitempty"`
	Time       string `json:"timestamp"`
}

// responseFor is a delivery's response body as the caller may see it.
func responseFor(manager bool, body string) string {
	if !manager {
		return ""
	}
	return body
}

// webhookEvents lists deliveries newest first, n at a time; the next
// page is named by a Link header (rel="next") with before set to the
// last deliveryId, so following it reaches every delivery.
func (h *Handler) webhookEvents(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageRead)
	if err != nil {
		return err
	}
	var before int64
	if b := r.URL.Query().Get("before"); b != "" {
		if before, err = strconv.ParseInt(b, 10, 64); err != nil || before < 0 {
			return errorf(http.StatusBadRequest, "BadRequest", "before must be the deliveryId of an entry (a number), not %q", b)
		}
	}
	n, _ := strconv.Atoi(r.URL.Query().Get("n"))
	if n <= 0 || n > 500 {
		n = 100
	}
	hook, err := h.hooks.Get(r.Context(), reg, r.PathValue("name"))
	if err != nil {
		return err
	}
	ds, err := h.hooks.Deliveries(r.Context(), reg, hook.Name, before, n)
	if err != nil {
		return err
	}
	// What a receiver answered is shown only to those who may manage the
	// webhook: to a Reader it would be a window on whatever the URL reaches.
	manager := h.require(r.Context(), caller, reg, auth.ManageWrite) == nil
	out := []eventView{}
	for _, d := range ds {
		var p struct{ ID string }
		_ = json.Unmarshal(d.Payload, &p) // the event id a receiver sees (and ping returns)
		var content any = string(d.Payload)
		if json.Valid(d.Payload) {
			content = json.RawMessage(d.Payload)
		}
		code := ""
		if d.LastStatus != 0 {
			code = strconv.Itoa(d.LastStatus)
		}
		out = append(out, eventView{
			ID: p.ID, DeliveryID: d.ID,
			Request: map[string]any{"method": "POST", "requestUri": hook.URI, "content": content, "version": "1.1",
				"headers": map[string]string{"Content-Type": "application/json"}},
			Response: map[string]any{"statusCode": code, "reasonPhrase": http.StatusText(d.LastStatus), "content": responseFor(manager, d.Response),
				"version": "1.1", "headers": map[string]string{}},
			State: d.State, Attempts: d.Attempts, Error: d.LastError, Time: d.UpdatedAt.Format(time.RFC3339Nano),
		})
	}
	if len(ds) == n {
		next := fmt.Sprintf("%s?before=%d&n=%d", r.URL.Path, ds[len(ds)-1].ID, n)
		w.Header().Set("Link", "<"+next+`>; rel="next"`)
	}
	return writeJSON(w, http.StatusOK, out)
}

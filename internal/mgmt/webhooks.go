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
	resource
	ProvisioningState string    `json:"provisioningState"`
	ServiceURI        string    `json:"serviceUri"`
	Actions           []string  `json:"actions"`
	Scope             string    `json:"scope"`
	Status            string    `json:"status"`
	Signed            bool      `json:"signed"`
	CreationDate      time.Time `json:"creationDate"`
}

func viewWebhook(reg *meta.Registry, w *meta.Webhook) webhookView {
	st := "enabled"
	if !w.Enabled {
		st = "disabled"
	}
	return webhookView{resource: armResource(armid.Child(reg.Name, "webhooks", w.Name), w.Name, armid.RegistryType+"/webhooks"),
		ProvisioningState: "Succeeded", ServiceURI: w.URI, Actions: w.Actions, Scope: w.Scope, Status: st,
		Signed: w.Secret != "", CreationDate: w.CreatedAt}
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
	set(&sp.URI, in.ServiceURI)
	if in.Actions != nil {
		sp.Actions = in.Actions
	}
	set(&sp.Scope, in.Scope)
	set(&sp.Headers, in.CustomHeaders)
	set(&sp.Secret, in.Secret)
	return setStatus(&sp.Enabled, in.Status)
}

func (h *Handler) listWebhooks(q *req, _ none) ([]webhookView, error) {
	hooks, err := h.hooks.List(q.Context(), q.reg)
	if err != nil {
		return nil, err
	}
	out := []webhookView{}
	for i := range hooks {
		out = append(out, viewWebhook(q.reg, &hooks[i]))
	}
	return out, nil
}

// viewHook is the answer of the calls that return one webhook.
func viewHook(q *req, hook *meta.Webhook, err error) (webhookView, error) {
	if err != nil {
		return webhookView{}, err
	}
	return viewWebhook(q.reg, hook), nil
}

func (h *Handler) createWebhook(q *req, in webhookIn) (webhookView, error) {
	sp := webhook.Spec{Enabled: true}
	if err := in.apply(&sp); err != nil {
		return webhookView{}, err
	}
	hook, err := h.hooks.Create(q.Context(), q.reg, in.Name, sp)
	return viewHook(q, hook, err)
}

func (h *Handler) showWebhook(q *req, _ none) (webhookView, error) {
	hook, err := h.hooks.Get(q.Context(), q.reg, q.name())
	return viewHook(q, hook, err)
}

func (h *Handler) updateWebhook(q *req, in webhookIn) (webhookView, error) {
	hook, err := h.hooks.Update(q.Context(), q.reg, q.name(), in.apply)
	return viewHook(q, hook, err)
}

func (h *Handler) deleteWebhook(q *req, _ none) error {
	return h.hooks.Delete(q.Context(), q.reg, q.name())
}

func (h *Handler) pingWebhook(q *req, _ none) (map[string]string, error) {
	id, err := h.hooks.Ping(q.Context(), q.reg, q.name())
	if err != nil {
		return nil, err
	}
	return map[string]string{"id": id}, nil
}

func (h *Handler) webhookConfig(q *req, _ none) (map[string]any, error) {
	hook, err := h.hooks.Get(q.Context(), q.reg, q.name())
	if err != nil {
		return nil, err
	}
	headers := hook.Headers
	if headers == nil {
		headers = map[string]string{}
	}
	return map[string]any{"serviceUri": hook.URI, "customHeaders": headers}, nil
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
func (h *Handler) webhookEvents(q *req, _ none) ([]eventView, error) {
	var before int64
	var err error
	if b := q.URL.Query().Get("before"); b != "" {
		if before, err = strconv.ParseInt(b, 10, 64); err != nil || before < 0 {
			return nil, errorf(http.StatusBadRequest, "BadRequest", "before must be the deliveryId of an entry (a number), not %q", b)
		}
	}
	n, _ := strconv.Atoi(q.URL.Query().Get("n"))
	if n <= 0 || n > 500 {
		n = 100
	}
	hook, err := h.hooks.Get(q.Context(), q.reg, q.name())
	if err != nil {
		return nil, err
	}
	ds, err := h.hooks.Deliveries(q.Context(), q.reg, hook.Name, before, n)
	if err != nil {
		return nil, err
	}
	// What a receiver answered is shown only to those who may manage the
	// webhook: to a Reader it would be a window on whatever the URL reaches.
	manager := h.require(q.Context(), q.caller, q.reg, auth.ManageWrite) == nil
	out := []eventView{}
	for _, d := range ds {
		out = append(out, viewDelivery(hook, d, manager))
	}
	if len(ds) == n {
		next := fmt.Sprintf("%s?before=%d&n=%d", q.URL.Path, ds[len(ds)-1].ID, n)
		q.w.Header().Set("Link", "<"+next+`>; rel="next"`)
	}
	return out, nil
}

// viewDelivery is d as the events list shows it.
func viewDelivery(hook *meta.Webhook, d meta.Delivery, manager bool) eventView {
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
	return eventView{
		ID: p.ID, DeliveryID: d.ID,
		Request: map[string]any{"method": "POST", "requestUri": hook.URI, "content": content, "version": "1.1",
			"headers": map[string]string{"Content-Type": "application/json"}},
		Response: map[string]any{"statusCode": code, "reasonPhrase": http.StatusText(d.LastStatus), "content": responseFor(manager, d.Response),
			"version": "1.1", "headers": map[string]string{}},
		State: d.State, Attempts: d.Attempts, Error: d.LastError, Time: d.UpdatedAt.Format(time.RFC3339Nano),
	}
}

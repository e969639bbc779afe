package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/names"

	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/route"
	"github.com/acre-project/acre/internal/sku"
	"github.com/google/uuid"
)

// ErrInvalid marks a request that is wrong in itself.
var ErrInvalid = errors.New("invalid webhook")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

var nameRe = names.New(`^[a-zA-Z0-9]*$`, 5, 50)

// Spec is what a user sets on a webhook.
type Spec struct {
	URI     string
	Actions []string
	Scope   string
	Headers map[string]string
	Enabled bool
	Secret  string
}

// Service manages webhooks; the Dispatcher delivers them.
type Service struct {
	meta meta.View[Store]
	// OwnHosts are host names (with or without port) that reach this server;
	// a webhook may not call this server's own APIs through them.
	OwnHosts func() []string
	kick     func()
	limits   func(sku string) sku.Limits
}

// NewService returns a Service; kick (may be nil) wakes the dispatcher;
// limits (may be nil: ACR's) gives each SKU's webhook count.
func NewService(m meta.View[Store], ownHosts func() []string, kick func(), limits func(string) sku.Limits) *Service {
	if limits == nil {
		limits = sku.Of
	}
	if kick == nil {
		kick = func() {}
	}
	if ownHosts == nil {
		ownHosts = func() []string { return nil }
	}
	return &Service{meta: m, OwnHosts: ownHosts, kick: kick, limits: limits}
}

// check validates a spec: an http(s) URI that is not one of this server's
// own APIs, known actions, a sane scope and header names.
func (s *Service) check(sp Spec) error {
	u, err := url.Parse(sp.URI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid("the service URI must be an http or https URL")
	}
	if u.User != nil {
		return invalid("put credentials in --headers, not in the URI")
	}
	if route.IsAPI(u.EscapedPath()) && s.isOwnHost(u) {
		return invalid("the service URI points at this registry's own API")
	}
	if len(sp.Actions) == 0 {
		return invalid("give at least one action: %s", strings.Join(Actions, ", "))
	}
	for _, a := range sp.Actions {
		if !validAction(a) {
			return invalid("unknown action %q: use %s", a, strings.Join(Actions, ", "))
		}
	}
	if strings.Count(sp.Scope, ":") > 1 || len(sp.Scope) > 300 {
		return invalid("scope %q: use repo:tag with * wildcards", sp.Scope)
	}
	for k := range sp.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			return invalid("header name %q is not valid", k)
		}
	}
	return nil
}

func (s *Service) isOwnHost(u *url.URL) bool {
	h := strings.ToLower(u.Hostname())
	if ip := net.ParseIP(h); (ip != nil && (ip.IsLoopback() || ip.IsUnspecified())) || h == "localhost" {
		return true
	}
	for _, own := range s.OwnHosts() {
		own = strings.ToLower(own)
		if oh, _, err := net.SplitHostPort(own); err == nil {
			own = oh
		}
		if h == own {
			return true
		}
	}
	return false
}

// Create adds a webhook; it sees events from now on.
func (s *Service) Create(ctx context.Context, reg *meta.Registry, name string, sp Spec) (*meta.Webhook, error) {
	if !nameRe.Match(name) {
		return nil, invalid("name %q: 5-50 letters and digits", name)
	}
	if err := s.check(sp); err != nil {
		return nil, err
	}
	w := &meta.Webhook{RegistryID: reg.ID, Name: name, URI: sp.URI, Actions: sp.Actions, Scope: sp.Scope, Headers: sp.Headers,
		Enabled: sp.Enabled, Secret: sp.Secret, CreatedAt: time.Now().UTC()}
	err := s.meta.Tx(ctx, func(q Store) error {
		all, err := q.ListWebhooks(ctx, reg.ID)
		if err != nil {
			return err
		}
		if lim := s.limits(reg.SKU).Webhooks; len(all) >= lim {
			return invalid("a %s registry holds at most %d webhooks", reg.SKU, lim)
		}
		if w.Cursor, err = q.MaxEventID(ctx); err != nil {
			return err
		}
		if err := q.CreateWebhook(ctx, w); errors.Is(err, meta.ErrConflict) {
			return invalid("a webhook named %q exists", name)
		} else if err != nil {
			return err
		}
		return nil
	})
	return w, err
}

// Get loads a webhook.
func (s *Service) Get(ctx context.Context, reg *meta.Registry, name string) (*meta.Webhook, error) {
	return s.meta.Read().GetWebhook(ctx, reg.ID, name)
}

// List lists a registry's webhooks.
func (s *Service) List(ctx context.Context, reg *meta.Registry) ([]meta.Webhook, error) {
	return s.meta.Read().ListWebhooks(ctx, reg.ID)
}

// Update applies change to a webhook and validates the result; nothing is
// saved when change or the validation fails.
func (s *Service) Update(ctx context.Context, reg *meta.Registry, name string, change func(sp *Spec) error) (*meta.Webhook, error) {
	var out *meta.Webhook
	err := s.meta.Tx(ctx, func(q Store) error {
		w, err := q.GetWebhook(ctx, reg.ID, name)
		if err != nil {
			return err
		}
		sp := Spec{URI: w.URI, Actions: w.Actions, Scope: w.Scope, Headers: w.Headers, Enabled: w.Enabled, Secret: w.Secret}
		if err := change(&sp); err != nil {
			return err
		}
		if err := s.check(sp); err != nil {
			return err
		}
		w.URI, w.Actions, w.Scope, w.Headers, w.Enabled, w.Secret = sp.URI, sp.Actions, sp.Scope, sp.Headers, sp.Enabled, sp.Secret
		out = w
		return q.UpdateWebhook(ctx, w)
	})
	return out, err
}

// Delete removes a webhook and its queue.
func (s *Service) Delete(ctx context.Context, reg *meta.Registry, name string) error {
	return s.meta.Tx(ctx, func(q Store) error {
		w, err := q.GetWebhook(ctx, reg.ID, name)
		if err != nil {
			return err
		}
		return q.DeleteWebhook(ctx, w.ID)
	})
}

// Ping queues a ping delivery and returns its event id.
func (s *Service) Ping(ctx context.Context, reg *meta.Registry, name string) (string, error) {
	id := uuid.NewString()
	body, _ := json.Marshal(map[string]any{"id": id, "timestamp": time.Now().UTC(), "action": "ping"})
	err := s.meta.Tx(ctx, func(q Store) error {
		w, err := q.GetWebhook(ctx, reg.ID, name)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		_, err = q.AddDelivery(ctx, &meta.Delivery{WebhookID: w.ID, Action: "ping", Payload: body, State: meta.DeliveryPending,
			NextAttemptAt: now, CreatedAt: now})
		return err
	})
	s.kick()
	return id, err
}

// Deliveries lists a webhook's deliveries, newest first.
func (s *Service) Deliveries(ctx context.Context, reg *meta.Registry, name string, before int64, n int) ([]meta.Delivery, error) {
	w, err := s.meta.Read().GetWebhook(ctx, reg.ID, name)
	if err != nil {
		return nil, err
	}
	return s.meta.Read().ListDeliveries(ctx, w.ID, before, n)
}

package meta

import (
	"context"
	"time"
)

// Webhook is a subscription of an HTTP endpoint to a registry's events.
type Webhook struct {
	ID         int64
	RegistryID int64
	Name       string
	URI        string
	Actions    []string          // push, delete, quarantine, chart_push, chart_delete
	Scope      string            // repo:tag filter with wildcards; "" for everything
	Headers    map[string]string // custom headers sent with each delivery
	Enabled    bool
	Secret     string // HMAC-SHA256 key for a signature header; "" for none
	Cursor     int64  // the last outbox event considered
	CreatedAt  time.Time
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed" // retries exhausted
)

// Delivery is one event queued for one webhook.
type Delivery struct {
	ID            int64
	WebhookID     int64
	EventID       int64 // 0 for a ping
	Action        string
	Payload       []byte
	State         string
	Attempts      int
	NextAttemptAt time.Time
	LastStatus    int
	LastError     string
	Response      string // the start of the last response body
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Webhooks stores webhook definitions, each with the cursor of the last
// outbox event its dispatcher considered.
type Webhooks interface {
	CreateWebhook(ctx context.Context, w *Webhook) error // ErrConflict when the name is taken
	GetWebhook(ctx context.Context, registryID int64, name string) (*Webhook, error)
	ListWebhooks(ctx context.Context, registryID int64) ([]Webhook, error) // 0: every registry
	UpdateWebhook(ctx context.Context, w *Webhook) error
	// DeleteWebhook removes a webhook with its deliveries.
	DeleteWebhook(ctx context.Context, id int64) error
	SetWebhookCursor(ctx context.Context, id, cursor int64) error
}

// EventFeed reads the outbox for consumers that keep their own cursor
// (webhook dispatch, base-image triggers).
type EventFeed interface {
	// MaxEventID returns the newest event's ID (0 when there is none).
	MaxEventID(ctx context.Context) (int64, error)
	// EventsFor lists a registry's events after the cursor, oldest first.
	EventsFor(ctx context.Context, registryID, after int64, n int) ([]Event, error)
}

// WebhookDeliveries stores each webhook's queue of deliveries, which one
// node at a time works through under a lease.
type WebhookDeliveries interface {
	// AddDelivery queues a delivery; one already queued for the same
	// webhook and event is left as it is (added reports which).
	AddDelivery(ctx context.Context, d *Delivery) (added bool, err error)
	// LeaseWebhook claims a webhook's queue for owner until until; false
	// when another owner holds an unexpired lease.
	LeaseWebhook(ctx context.Context, id int64, owner string, now, until time.Time) (bool, error)
	// NextDelivery returns the oldest pending delivery of a webhook, or ErrNotFound.
	NextDelivery(ctx context.Context, webhookID int64) (*Delivery, error)
	UpdateDelivery(ctx context.Context, d *Delivery) error
	// ListDeliveries lists a webhook's deliveries, newest first, before ID before (0: from the newest).
	ListDeliveries(ctx context.Context, webhookID, before int64, n int) ([]Delivery, error)
	// PendingWebhooks lists the ids of webhooks with pending deliveries.
	PendingWebhooks(ctx context.Context) ([]int64, error)
	DeleteDeliveriesBefore(ctx context.Context, before time.Time) error
}

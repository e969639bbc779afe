package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/google/uuid"
)

// Retry policy: exponential backoff from 1 s, capped at 10 minutes, for
// MaxAttempts attempts (about an hour and a half in all).
const (
	MaxAttempts = 15
	firstDelay  = time.Second
	maxDelay    = 10 * time.Minute
)

// SignatureHeader carries the optional HMAC-SHA256 of the body
// ("sha256=<hex>"), when the webhook has a secret.
const SignatureHeader = "X-Acre-Signature"

// Observer is told about each delivery attempt (for metrics); may be nil.
type Observer func(action string, status int, err error)

// Store is the part of the metadata store webhooks use: their definitions
// with cursors, the outbox they follow and their delivery queues (the
// Dispatcher and the Service both use all three).
type Store interface {
	meta.Webhooks
	meta.EventFeed
	meta.WebhookDeliveries
}

// Dispatcher moves events from the outbox to each webhook's queue and
// delivers each queue in order, one worker per webhook, so that a slow or
// dead receiver holds up only itself.
type Dispatcher struct {
	meta    meta.View[Store]
	log     *slog.Logger
	hc      *http.Client
	observe Observer
	kick    chan struct{}
	node    string // this process, as a lease owner

	mu      sync.Mutex
	running map[int64]bool
}

// NewDispatcher returns a Dispatcher; call Run to start it.
func NewDispatcher(m meta.View[Store], log *slog.Logger, hc *http.Client, observe Observer) *Dispatcher {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	if observe == nil {
		observe = func(string, int, error) {}
	}
	return &Dispatcher{meta: m, log: log, hc: hc, observe: observe, kick: make(chan struct{}, 1), running: map[int64]bool{},
		node: uuid.NewString()}
}

// Kick wakes the dispatcher (after a commit that wrote events).
func (d *Dispatcher) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Run fans events out and starts workers until ctx ends. It also polls
// every second, so that events committed by other nodes are picked up.
func (d *Dispatcher) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		if err := d.fanout(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("webhook fan-out", "err", err)
		}
		ids, err := d.meta.Read().PendingWebhooks(ctx)
		if err != nil && ctx.Err() == nil {
			d.log.Warn("webhook queues", "err", err)
		}
		for _, id := range ids {
			d.mu.Lock()
			if !d.running[id] {
				d.running[id] = true
				wg.Add(1)
				go func() {
					defer wg.Done()
					d.work(ctx, id)
					d.mu.Lock()
					delete(d.running, id)
					d.mu.Unlock()
				}()
			}
			d.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-d.kick:
		case <-t.C:
		}
	}
}

// settle is how long after an event is written the cursor may pass it.
// Until then each pass looks at it again (queuing is idempotent), so an
// event committed late with a lower id (possible with several nodes on
// PostgreSQL) is still delivered.
const settle = 10 * time.Second

// fanout queues, for every webhook, the events after its cursor that it
// subscribes to, and advances the cursor past those that have settled.
func (d *Dispatcher) fanout(ctx context.Context) error {
	hooks, err := d.meta.Read().ListWebhooks(ctx, 0)
	if err != nil {
		return err
	}
	for _, w := range hooks {
		after := w.Cursor
		for {
			events, err := d.meta.Read().EventsFor(ctx, w.RegistryID, after, 500)
			if err != nil || len(events) == 0 {
				break
			}
			queued := false
			err = d.meta.Tx(ctx, func(q Store) error {
				now := time.Now().UTC()
				cursor, settled := w.Cursor, true
				for _, e := range events {
					if w.Enabled && subscribed(w, e) {
						added, err := q.AddDelivery(ctx, &meta.Delivery{WebhookID: w.ID, EventID: e.ID, Action: e.Action,
							Payload: e.Payload, State: meta.DeliveryPending, NextAttemptAt: now, CreatedAt: now})
						if err != nil {
							return err
						}
						queued = queued || added
					}
					// The cursor passes settled events only, up to the first unsettled one.
					if settled = settled && e.CreatedAt.Before(now.Add(-settle)); settled {
						cursor = e.ID
					}
				}
				return q.SetWebhookCursor(ctx, w.ID, cursor)
			})
			if err != nil {
				return err
			}
			after = events[len(events)-1].ID
		}
	}
	return nil
}

func subscribed(w meta.Webhook, e meta.Event) bool {
	for _, a := range w.Actions {
		if a == e.Action {
			return matchScope(w.Scope, e.Repository, e.Tag)
		}
	}
	return false
}

// leaseFor is how long a node holds a webhook's queue between renewals.
const leaseFor = 10 * time.Second

// work delivers a webhook's queue in order until it is empty or ctx ends.
// It holds the webhook's lease, so with several nodes one delivers each
// queue (in order); a node that dies loses the lease when it expires.
func (d *Dispatcher) work(ctx context.Context, webhookID int64) {
	for ctx.Err() == nil {
		var ok bool
		err := d.meta.Tx(ctx, func(q Store) (err error) {
			now := time.Now().UTC()
			ok, err = q.LeaseWebhook(ctx, webhookID, d.node, now, now.Add(leaseFor))
			return err
		})
		if err != nil || !ok {
			return
		}
		next, err := d.meta.Read().NextDelivery(ctx, webhookID)
		if errors.Is(err, meta.ErrNotFound) {
			return
		}
		if err != nil {
			d.log.Warn("webhook queue", "webhook", webhookID, "err", err)
			return
		}
		if wait := time.Until(next.NextAttemptAt); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		w, err := d.webhook(ctx, webhookID)
		if err != nil {
			return // deleted meanwhile: its queue went with it
		}
		d.attempt(ctx, w, next)
		next.UpdatedAt = time.Now().UTC()
		if err := d.meta.Tx(context.WithoutCancel(ctx), func(q Store) error { return q.UpdateDelivery(ctx, next) }); err != nil {
			d.log.Warn("webhook delivery state", "err", err)
			return
		}
	}
}

func (d *Dispatcher) webhook(ctx context.Context, id int64) (*meta.Webhook, error) {
	hooks, err := d.meta.Read().ListWebhooks(ctx, 0)
	if err != nil {
		return nil, err
	}
	for i := range hooks {
		if hooks[i].ID == id {
			return &hooks[i], nil
		}
	}
	return nil, meta.ErrNotFound
}

// attempt posts one delivery and records the outcome in del.
func (d *Dispatcher) attempt(ctx context.Context, w *meta.Webhook, del *meta.Delivery) {
	del.Attempts++
	status, resp, err := d.post(ctx, w, del)
	del.LastStatus, del.Response = status, resp
	del.LastError = ""
	d.observe(del.Action, status, err)
	switch {
	case err == nil && status >= 200 && status < 300:
		del.State = meta.DeliveryDelivered
		return
	case err != nil:
		del.LastError = err.Error()
	default:
		del.LastError = fmt.Sprintf("status %d", status)
	}
	if del.Attempts >= MaxAttempts {
		del.State = meta.DeliveryFailed
		d.log.Warn("webhook delivery failed for good", "webhook", w.Name, "delivery", del.ID, "err", del.LastError)
		return
	}
	delay := min(firstDelay<<min(del.Attempts-1, 20), maxDelay)
	delay += time.Duration(rand.Int64N(int64(delay)/4 + 1)) // jitter
	del.NextAttemptAt = time.Now().Add(delay).UTC()
}

func (d *Dispatcher) post(ctx context.Context, w *meta.Webhook, del *meta.Delivery) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URI, bytes.NewReader(del.Payload))
	if err != nil {
		return 0, "", err
	}
	for k, v := range w.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "acre-webhook/1.0")
	if w.Secret != "" {
		m := hmac.New(sha256.New, []byte(w.Secret))
		m.Write(del.Payload)
		req.Header.Set(SignatureHeader, "sha256="+hex.EncodeToString(m.Sum(nil)))
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), nil
}

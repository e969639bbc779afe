package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

const webhookCols = `id, registry_id, name, uri, actions, scope, headers, enabled, secret, cursor, created_at`

func scanWebhook(sc interface{ Scan(...any) error }) (*meta.Webhook, error) {
	var w meta.Webhook
	var actions, headers string
	var c int64
	if err := sc.Scan(&w.ID, &w.RegistryID, &w.Name, &w.URI, &actions, &w.Scope, &headers, &w.Enabled, &w.Secret, &w.Cursor, &c); err != nil {
		return nil, notFound(err)
	}
	w.CreatedAt = fromNS(c)
	if err := json.Unmarshal([]byte(actions), &w.Actions); err != nil {
		return nil, err
	}
	return &w, json.Unmarshal([]byte(headers), &w.Headers)
}

func webhookJSON(w *meta.Webhook) (string, string, error) {
	a, err := json.Marshal(w.Actions)
	if err != nil {
		return "", "", err
	}
	h := w.Headers
	if h == nil {
		h = map[string]string{}
	}
	hb, err := json.Marshal(h)
	return string(a), string(hb), err
}

func (q *queries) CreateWebhook(ctx context.Context, w *meta.Webhook) error {
	a, h, err := webhookJSON(w)
	if err != nil {
		return err
	}
	err = q.db.QueryRowContext(ctx, `INSERT INTO webhooks (registry_id, name, uri, actions, scope, headers, enabled, secret, cursor,
		created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, w.RegistryID, w.Name, w.URI, a, w.Scope, h, w.Enabled,
		w.Secret, w.Cursor, ns(w.CreatedAt)).Scan(&w.ID)
	if isUnique(err) {
		return meta.ErrConflict
	}
	return err
}

func (q *queries) GetWebhook(ctx context.Context, registryID int64, name string) (*meta.Webhook, error) {
	return scanWebhook(q.db.QueryRowContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE registry_id = ? AND name = ?`, registryID, name))
}

func (q *queries) ListWebhooks(ctx context.Context, registryID int64) ([]meta.Webhook, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE ? = 0 OR registry_id = ? ORDER BY registry_id, name`,
		registryID, registryID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *w)
	}
	return out, rows.Err()
}

func (q *queries) UpdateWebhook(ctx context.Context, w *meta.Webhook) error {
	a, h, err := webhookJSON(w)
	if err != nil {
		return err
	}
	res, err := q.db.ExecContext(ctx, `UPDATE webhooks SET uri = ?, actions = ?, scope = ?, headers = ?, enabled = ?, secret = ?
		WHERE id = ?`, w.URI, a, w.Scope, h, w.Enabled, w.Secret, w.ID)
	return affected(res, err)
}

func (q *queries) DeleteWebhook(ctx context.Context, id int64) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM webhooks WHERE id = ?`, id)
	return affected(res, err)
}

func (q *queries) SetWebhookCursor(ctx context.Context, id, cursor int64) error {
	_, err := q.db.ExecContext(ctx, `UPDATE webhooks SET cursor = ? WHERE id = ? AND cursor < ?`, cursor, id, cursor)
	return err
}

func (q *queries) MaxEventID(ctx context.Context) (int64, error) {
	var n int64
	err := q.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM events`).Scan(&n)
	return n, err
}

func (q *queries) EventsFor(ctx context.Context, registryID, after int64, n int) ([]meta.Event, error) {
	return scanEvents(q.db.QueryContext(ctx, `SELECT `+eventCols+` FROM events WHERE registry_id = ? AND id > ? ORDER BY id LIMIT ?`,
		registryID, after, n))
}

const deliveryCols = `id, webhook_id, event_id, action, payload, state, attempts, next_attempt_at, last_status, last_error,
	response, created_at, updated_at`

func scanDelivery(sc interface{ Scan(...any) error }) (*meta.Delivery, error) {
	var d meta.Delivery
	var next, c, u int64
	if err := sc.Scan(&d.ID, &d.WebhookID, &d.EventID, &d.Action, &d.Payload, &d.State, &d.Attempts, &next, &d.LastStatus,
		&d.LastError, &d.Response, &c, &u); err != nil {
		return nil, notFound(err)
	}
	d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = fromNS(next), fromNS(c), fromNS(u)
	return &d, nil
}

func (q *queries) AddDelivery(ctx context.Context, d *meta.Delivery) (bool, error) {
	err := q.db.QueryRowContext(ctx, `INSERT INTO webhook_deliveries (webhook_id, event_id, action, payload, state, next_attempt_at,
		created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`, d.WebhookID, d.EventID,
		d.Action, d.Payload, d.State, ns(d.NextAttemptAt), ns(d.CreatedAt), ns(d.CreatedAt)).Scan(&d.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func (q *queries) LeaseWebhook(ctx context.Context, id int64, owner string, now, until time.Time) (bool, error) {
	res, err := q.db.ExecContext(ctx, `UPDATE webhooks SET lease_owner = ?, lease_until = ? WHERE id = ? AND (lease_until < ? OR lease_owner = ?)`,
		owner, ns(until), id, ns(now), owner)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (q *queries) NextDelivery(ctx context.Context, webhookID int64) (*meta.Delivery, error) {
	return scanDelivery(q.db.QueryRowContext(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries
		WHERE webhook_id = ? AND state = 'pending' ORDER BY id LIMIT 1`, webhookID))
}

func (q *queries) UpdateDelivery(ctx context.Context, d *meta.Delivery) error {
	res, err := q.db.ExecContext(ctx, `UPDATE webhook_deliveries SET state = ?, attempts = ?, next_attempt_at = ?, last_status = ?,
		last_error = ?, response = ?, updated_at = ? WHERE id = ?`, d.State, d.Attempts, ns(d.NextAttemptAt), d.LastStatus,
		d.LastError, d.Response, ns(d.UpdatedAt), d.ID)
	return affected(res, err)
}

func (q *queries) ListDeliveries(ctx context.Context, webhookID, before int64, n int) ([]meta.Delivery, error) {
	if before <= 0 {
		before = 1 << 62
	}
	rows, err := q.db.QueryContext(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE webhook_id = ? AND id < ?
		ORDER BY id DESC LIMIT ?`, webhookID, before, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}

func (q *queries) PendingWebhooks(ctx context.Context) ([]int64, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT DISTINCT webhook_id FROM webhook_deliveries WHERE state = 'pending'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func (q *queries) DeleteDeliveriesBefore(ctx context.Context, before time.Time) error {
	_, err := q.db.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE state != 'pending' AND updated_at < ?`, ns(before))
	return err
}

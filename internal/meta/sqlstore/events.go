package sqlstore

import (
	"context"
	"database/sql"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

func (q *queries) AppendEvent(ctx context.Context, e *meta.Event) error {
	return q.db.QueryRowContext(ctx, `INSERT INTO events (registry_id, action, repository, tag, digest, media_type, size,
		payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.RegistryID, e.Action, e.Repository, e.Tag, e.Digest.String(), e.MediaType, e.Size, e.Payload, ns(e.CreatedAt)).Scan(&e.ID)
}

func (q *queries) ListEvents(ctx context.Context, after int64, n int) ([]meta.Event, error) {
	return scanEvents(q.db.QueryContext(ctx, `SELECT `+eventCols+` FROM events WHERE id > ? ORDER BY id LIMIT ?`, after, n))
}

const eventCols = `id, registry_id, action, repository, tag, digest, media_type, size, payload, created_at`

func scanEvents(rows *sql.Rows, err error) ([]meta.Event, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.Event
	for rows.Next() {
		var e meta.Event
		var d string
		var c int64
		if err := rows.Scan(&e.ID, &e.RegistryID, &e.Action, &e.Repository, &e.Tag, &d, &e.MediaType, &e.Size, &e.Payload, &c); err != nil {
			return nil, err
		}
		e.Digest, e.CreatedAt = digest.Digest(d), fromNS(c)
		out = append(out, e)
	}
	return out, rows.Err()
}

// scanManifests reads manifest rows (manifestCols, no content).
func scanManifests(rows *sql.Rows, err error) ([]meta.Manifest, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.Manifest
	for rows.Next() {
		m, err := scanManifest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	return out, rows.Err()
}

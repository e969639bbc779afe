package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

const repositoryCols = `id, registry_id, name, created_at, updated_at, delete_enabled, write_enabled, read_enabled, list_enabled`

func scanRepository(sc interface{ Scan(...any) error }) (*meta.Repository, error) {
	var r meta.Repository
	var c, u int64
	a := &r.Attributes
	if err := sc.Scan(&r.ID, &r.RegistryID, &r.Name, &c, &u, &a.DeleteEnabled, &a.WriteEnabled, &a.ReadEnabled, &a.ListEnabled); err != nil {
		return nil, notFound(err)
	}
	r.CreatedAt, r.UpdatedAt = fromNS(c), fromNS(u)
	return &r, nil
}

func (q *queries) GetRepository(ctx context.Context, registryID int64, name string) (*meta.Repository, error) {
	return scanRepository(q.db.QueryRowContext(ctx,
		`SELECT `+repositoryCols+` FROM repositories WHERE registry_id = ? AND name = ?`, registryID, name))
}

func (q *queries) EnsureRepository(ctx context.Context, registryID int64, name string) (*meta.Repository, error) {
	r, err := q.GetRepository(ctx, registryID, name)
	if !errors.Is(err, meta.ErrNotFound) {
		return r, err
	}
	now := ns(time.Now())
	_, err = q.db.ExecContext(ctx, `INSERT INTO repositories (registry_id, name, created_at, updated_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (registry_id, name) DO NOTHING`, registryID, name, now, now)
	if err != nil {
		return nil, err
	}
	return q.GetRepository(ctx, registryID, name)
}

func (q *queries) ListRepositories(ctx context.Context, registryID int64, p meta.Page) ([]string, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT r.name FROM repositories r
		WHERE r.registry_id = ? AND r.name > ? AND r.list_enabled = 1
		  AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id)
		ORDER BY r.name LIMIT ?`, registryID, p.Last, p.N)
	return scanStrings(rows, err)
}

func (q *queries) TouchRepository(ctx context.Context, id int64, at time.Time) error {
	_, err := q.db.ExecContext(ctx, `UPDATE repositories SET updated_at = ? WHERE id = ?`, ns(at), id)
	return err
}

func scanStrings(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

func ns(t time.Time) int64 { return t.UnixNano() }

func fromNS(v int64) time.Time { return time.Unix(0, v).UTC() }

// isUnique reports whether err is a unique-constraint violation.
func isUnique(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "UNIQUE constraint") || strings.Contains(err.Error(), "duplicate key"))
}

const registryCols = `id, name, login_server, sku, admin_enabled, anonymous_pull, throttling, created_at, updated_at`

func scanRegistry(sc interface{ Scan(...any) error }) (*meta.Registry, error) {
	var r meta.Registry
	var c, u int64
	if err := sc.Scan(&r.ID, &r.Name, &r.LoginServer, &r.SKU, &r.Settings.AdminEnabled, &r.Settings.AnonymousPull, &r.Settings.Throttling, &c, &u); err != nil {
		return nil, notFound(err)
	}
	r.CreatedAt, r.UpdatedAt = fromNS(c), fromNS(u)
	return &r, nil
}

func (q *queries) CreateRegistry(ctx context.Context, r *meta.Registry) error {
	err := q.db.QueryRowContext(ctx, `INSERT INTO registries (name, login_server, sku, admin_enabled, anonymous_pull,
		created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, r.Name, r.LoginServer, r.SKU,
		r.Settings.AdminEnabled, r.Settings.AnonymousPull, ns(r.CreatedAt), ns(r.UpdatedAt)).Scan(&r.ID)
	if isUnique(err) {
		return meta.ErrConflict
	}
	return err
}

func (q *queries) GetRegistry(ctx context.Context, name string) (*meta.Registry, error) {
	return scanRegistry(q.db.QueryRowContext(ctx, `SELECT `+registryCols+` FROM registries WHERE name = ?`, name))
}

func (q *queries) RegistryByLoginServer(ctx context.Context, host string) (*meta.Registry, error) {
	return scanRegistry(q.db.QueryRowContext(ctx, `SELECT `+registryCols+` FROM registries WHERE login_server = ?`, host))
}

func (q *queries) ListRegistries(ctx context.Context, p meta.Page) ([]meta.Registry, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+registryCols+` FROM registries WHERE name > ? ORDER BY name LIMIT ?`, p.Last, p.N)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.Registry
	for rows.Next() {
		r, err := scanRegistry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

func (q *queries) UpdateRegistry(ctx context.Context, r *meta.Registry) error {
	res, err := q.db.ExecContext(ctx, `UPDATE registries SET sku = ?, admin_enabled = ?, anonymous_pull = ?, throttling = ?,
		updated_at = ? WHERE id = ?`, r.SKU, r.Settings.AdminEnabled, r.Settings.AnonymousPull, r.Settings.Throttling,
		ns(r.UpdatedAt), r.ID)
	return affected(res, err)
}

func (q *queries) DeleteRegistry(ctx context.Context, id int64) error {
	for _, stmt := range []string{
		// Access tokens of identities that lose their roles here end too:
		// a registry created later under the same name must not honour them.
		`UPDATE principals SET grant_gen = grant_gen + 1 WHERE id IN (SELECT principal_id FROM role_assignments WHERE registry_id = ?)`,
		`DELETE FROM principals WHERE registry_id = ?`,
		`DELETE FROM role_assignments WHERE registry_id = ?`,
		`DELETE FROM repositories WHERE registry_id = ?`,
	} {
		if _, err := q.db.ExecContext(ctx, stmt, id); err != nil {
			return err
		}
	}
	res, err := q.db.ExecContext(ctx, `DELETE FROM registries WHERE id = ?`, id)
	return affected(res, err)
}

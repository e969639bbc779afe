package sqlstore

import (
	"context"

	"github.com/acre-project/acre/internal/meta"
)

func (q *queries) CreateUpload(ctx context.Context, u *meta.Upload) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO uploads (id, registry_id, repository, principal, created_at) VALUES (?, ?, ?, ?, ?)`,
		u.ID, u.RegistryID, u.Repository, u.Principal, ns(u.CreatedAt))
	if isUnique(err) {
		return meta.ErrConflict
	}
	return err
}

func (q *queries) GetUpload(ctx context.Context, id string) (*meta.Upload, error) {
	var u meta.Upload
	var c int64
	err := q.db.QueryRowContext(ctx, `SELECT id, registry_id, repository, principal, created_at FROM uploads WHERE id = ?`, id).
		Scan(&u.ID, &u.RegistryID, &u.Repository, &u.Principal, &c)
	if err != nil {
		return nil, notFound(err)
	}
	u.CreatedAt = fromNS(c)
	return &u, nil
}

func (q *queries) DeleteUpload(ctx context.Context, id string) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM uploads WHERE id = ?`, id)
	return affected(res, err)
}

func (q *queries) CountUploads(ctx context.Context) (int, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM uploads`).Scan(&n)
	return n, err
}

func (q *queries) OpenUploads(ctx context.Context, registryID int64, principal string) (int, int, error) {
	var inRegistry, byPrincipal int
	err := q.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM uploads WHERE registry_id = ?),
		(SELECT COUNT(*) FROM uploads WHERE principal = ? AND principal <> '')`, registryID, principal).Scan(&inRegistry, &byPrincipal)
	return inRegistry, byPrincipal, err
}

package sqlstore

import (
	"context"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

func (q *queries) PutTag(ctx context.Context, repositoryID int64, name string, manifestID int64, at time.Time) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO tags (repository_id, name, manifest_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (repository_id, name) DO UPDATE SET manifest_id = excluded.manifest_id, updated_at = excluded.updated_at`,
		repositoryID, name, manifestID, ns(at), ns(at))
	return err
}

func (q *queries) GetTag(ctx context.Context, repositoryID int64, name string) (*meta.Tag, error) {
	var t meta.Tag
	var d string
	var c, u, p int64
	a := &t.Attributes
	err := q.db.QueryRowContext(ctx, `SELECT t.repository_id, t.name, t.manifest_id, m.digest, t.created_at, t.updated_at,
		t.last_pulled_at, t.delete_enabled, t.write_enabled, t.read_enabled, t.list_enabled
		FROM tags t JOIN manifests m ON m.id = t.manifest_id WHERE t.repository_id = ? AND t.name = ?`, repositoryID, name).
		Scan(&t.RepositoryID, &t.Name, &t.ManifestID, &d, &c, &u, &p, &a.DeleteEnabled, &a.WriteEnabled, &a.ReadEnabled, &a.ListEnabled)
	if err != nil {
		return nil, notFound(err)
	}
	t.Digest = digest.Digest(d)
	t.CreatedAt, t.UpdatedAt, t.LastPulledAt = fromNS(c), fromNS(u), optTime(p)
	return &t, nil
}

func (q *queries) DeleteTag(ctx context.Context, repositoryID int64, name string) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM tags WHERE repository_id = ? AND name = ?`, repositoryID, name)
	return affected(res, err)
}

func (q *queries) ListTags(ctx context.Context, repositoryID int64, p meta.Page) ([]string, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT name FROM tags WHERE repository_id = ? AND name > ? AND list_enabled = 1
		ORDER BY name LIMIT ?`, repositoryID, p.Last, p.N)
	return scanStrings(rows, err)
}

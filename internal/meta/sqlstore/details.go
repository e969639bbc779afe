package sqlstore

import (
	"context"
	"errors"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

func (q *queries) RepositoryDetails(ctx context.Context, registryID int64, name string) (*meta.RepositoryDetails, error) {
	r, err := q.GetRepository(ctx, registryID, name)
	if err != nil {
		return nil, err
	}
	d := &meta.RepositoryDetails{Repository: *r}
	err = q.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM manifests WHERE repository_id = ?),
		(SELECT COUNT(*) FROM tags WHERE repository_id = ?)`, r.ID, r.ID).Scan(&d.ManifestCount, &d.TagCount)
	return d, err
}

func (q *queries) SetRepositoryAttributes(ctx context.Context, id int64, a meta.Attributes) error {
	res, err := q.db.ExecContext(ctx, `UPDATE repositories SET delete_enabled = ?, write_enabled = ?, read_enabled = ?,
		list_enabled = ? WHERE id = ?`, a.DeleteEnabled, a.WriteEnabled, a.ReadEnabled, a.ListEnabled, id)
	return affected(res, err)
}

func (q *queries) DeleteRepository(ctx context.Context, id int64) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM repositories WHERE id = ?`, id)
	return affected(res, err)
}

// timePage builds the WHERE and ORDER BY of a key-range page over
// (timeCol, keyCol), or keyCol alone for OrderNone. lastTime is the time of
// the entry keyed q.Last (unused for OrderNone).
func timePage(q meta.ListQuery, timeCol, keyCol string, lastTime int64) (where, order string, args []any) {
	switch q.Order {
	// The plain bound before the OR lets the index seek to the page.
	case meta.OrderTimeDesc:
		order = ` ORDER BY ` + timeCol + ` DESC, ` + keyCol + ` DESC`
		if q.Last != "" {
			where = ` AND ` + timeCol + ` <= ? AND (` + timeCol + ` < ? OR (` + timeCol + ` = ? AND ` + keyCol + ` < ?))`
			args = []any{lastTime, lastTime, lastTime, q.Last}
		}
	case meta.OrderTimeAsc:
		order = ` ORDER BY ` + timeCol + `, ` + keyCol
		if q.Last != "" {
			where = ` AND ` + timeCol + ` >= ? AND (` + timeCol + ` > ? OR (` + timeCol + ` = ? AND ` + keyCol + ` > ?))`
			args = []any{lastTime, lastTime, lastTime, q.Last}
		}
	default:
		order = ` ORDER BY ` + keyCol
		if q.Last != "" {
			where = ` AND ` + keyCol + ` > ?`
			args = []any{q.Last}
		}
	}
	return where, order, args
}

func (q *queries) ListTagDetails(ctx context.Context, repositoryID int64, lq meta.ListQuery) ([]meta.Tag, error) {
	var lastTime int64
	if lq.Last != "" && lq.Order != meta.OrderNone {
		err := q.db.QueryRowContext(ctx, `SELECT updated_at FROM tags WHERE repository_id = ? AND name = ?`, repositoryID, lq.Last).Scan(&lastTime)
		if err := notFound(err); err != nil && !errors.Is(err, meta.ErrNotFound) {
			return nil, err
		}
	}
	where, order, args := timePage(lq, "t.updated_at", "t.name", lastTime)
	query := `SELECT t.repository_id, t.name, t.manifest_id, m.digest, t.created_at, t.updated_at, t.last_pulled_at,
		t.delete_enabled, t.write_enabled, t.read_enabled, t.list_enabled
		FROM tags t JOIN manifests m ON m.id = t.manifest_id WHERE t.repository_id = ?`
	if !lq.Hidden {
		query += ` AND t.list_enabled = 1`
	}
	all := []any{repositoryID}
	if lq.Digest != "" {
		query += ` AND m.digest = ?`
		all = append(all, lq.Digest.String())
	}
	rows, err := q.db.QueryContext(ctx, query+where+order+` LIMIT ?`, append(append(all, args...), lq.N)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.Tag
	for rows.Next() {
		var t meta.Tag
		var d string
		var c, u, p int64
		a := &t.Attributes
		if err := rows.Scan(&t.RepositoryID, &t.Name, &t.ManifestID, &d, &c, &u, &p, &a.DeleteEnabled, &a.WriteEnabled, &a.ReadEnabled, &a.ListEnabled); err != nil {
			return nil, err
		}
		t.Digest, t.CreatedAt, t.UpdatedAt, t.LastPulledAt = digest.Digest(d), fromNS(c), fromNS(u), optTime(p)
		out = append(out, t)
	}
	return out, rows.Err()
}

func (q *queries) SetTagAttributes(ctx context.Context, repositoryID int64, name string, a meta.Attributes) error {
	res, err := q.db.ExecContext(ctx, `UPDATE tags SET delete_enabled = ?, write_enabled = ?, read_enabled = ?, list_enabled = ?
		WHERE repository_id = ? AND name = ?`, a.DeleteEnabled, a.WriteEnabled, a.ReadEnabled, a.ListEnabled, repositoryID, name)
	return affected(res, err)
}

func (q *queries) ListManifests(ctx context.Context, repositoryID int64, lq meta.ListQuery) ([]meta.Manifest, error) {
	var lastTime int64
	if lq.Last != "" && lq.Order != meta.OrderNone {
		err := q.db.QueryRowContext(ctx, `SELECT updated_at FROM manifests WHERE repository_id = ? AND digest = ?`, repositoryID, lq.Last).Scan(&lastTime)
		if err := notFound(err); err != nil && !errors.Is(err, meta.ErrNotFound) {
			return nil, err
		}
	}
	where, order, args := timePage(lq, "updated_at", "digest", lastTime)
	filter, all := "", []any{repositoryID}
	if lq.Digest != "" {
		filter, all = ` AND digest = ?`, append(all, lq.Digest.String())
	}
	if !lq.Hidden {
		filter += ` AND list_enabled = 1`
	}
	rows, err := q.db.QueryContext(ctx, `SELECT `+manifestCols+` FROM manifests WHERE repository_id = ?`+
		filter+where+order+` LIMIT ?`, append(append(all, args...), lq.N)...)
	return scanManifests(rows, err)
}

func (q *queries) SetManifestAttributes(ctx context.Context, repositoryID int64, d digest.Digest, a meta.Attributes) error {
	res, err := q.db.ExecContext(ctx, `UPDATE manifests SET delete_enabled = ?, write_enabled = ?, read_enabled = ?, list_enabled = ?
		WHERE repository_id = ? AND digest = ?`, a.DeleteEnabled, a.WriteEnabled, a.ReadEnabled, a.ListEnabled, repositoryID, d.String())
	return affected(res, err)
}

func (q *queries) TagsOf(ctx context.Context, manifestID int64) ([]meta.Tag, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT name, created_at, updated_at, last_pulled_at, delete_enabled, write_enabled,
		read_enabled, list_enabled FROM tags WHERE manifest_id = ? ORDER BY name`, manifestID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.Tag
	for rows.Next() {
		t := meta.Tag{ManifestID: manifestID}
		var c, u, p int64
		a := &t.Attributes
		if err := rows.Scan(&t.Name, &c, &u, &p, &a.DeleteEnabled, &a.WriteEnabled, &a.ReadEnabled, &a.ListEnabled); err != nil {
			return nil, err
		}
		t.CreatedAt, t.UpdatedAt, t.LastPulledAt = fromNS(c), fromNS(u), optTime(p)
		out = append(out, t)
	}
	return out, rows.Err()
}

func (q *queries) ReferencedBy(ctx context.Context, repositoryID int64, d digest.Digest) (bool, error) {
	return q.refExists(ctx, repositoryID, d, meta.RefManifest)
}

func (q *queries) StorageUsed(ctx context.Context, registryID int64) (int64, error) {
	var blobs, manifests int64
	err := q.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(b.size), 0) FROM blobs b WHERE b.digest IN
		(SELECT l.digest FROM blob_links l JOIN repositories r ON r.id = l.repository_id WHERE r.registry_id = ?)`, registryID).Scan(&blobs)
	if err != nil {
		return 0, err
	}
	err = q.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(m.size), 0) FROM manifests m JOIN repositories r ON r.id = m.repository_id
		WHERE r.registry_id = ?`, registryID).Scan(&manifests)
	return blobs + manifests, err
}
